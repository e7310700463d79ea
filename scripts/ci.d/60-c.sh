# The C API (bindings/c): header drift against the pinned cbindgen, the header as C99 and C++17,
# install + pkg-config, the C tests under ASan+UBSan (static library) and under valgrind (shared
# library), and the C/C++ examples on the captured fixtures with their output asserted.
# Reuses the debug build of 00-rust.sh (cargo only links libmeshplane.{a,so} here).
apt_install valgrind pkg-config
need cargo gcc g++ valgrind pkg-config diff
cargo_tool cbindgen 0.29.4
C=bindings/c
OUT="$ROOT/target/c-api"
rm -rf "$OUT"
mkdir -p "$OUT"

log "cargo build -p meshplane-c (debug)"
cargo build -p meshplane-c --locked

log "header drift: cbindgen 0.29.4 vs $C/include/meshplane.h"
cbindgen --quiet --config "$C/cbindgen.toml" --crate meshplane-c --output "$OUT/meshplane.h" "$C"
diff -u "$C/include/meshplane.h" "$OUT/meshplane.h" \
  || die "bindings/c/include/meshplane.h is stale: regenerate it with cbindgen 0.29.4"

log "install into a prefix; pkg-config"
"$C/install.sh" "$OUT/prefix"
export PKG_CONFIG_PATH="$OUT/prefix/lib/pkgconfig"
[ "$(pkg-config --modversion meshplane)" = "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)" ] \
  || die "meshplane.pc has the wrong version"
CFLAGS_MP=$(pkg-config --cflags meshplane)
LIBS_MP=$(pkg-config --libs meshplane)
LIBS_STATIC="$OUT/prefix/lib/libmeshplane.a $(pkg-config --static --libs-only-l meshplane | sed 's/-lmeshplane//')"
RPATH="-Wl,-rpath,$OUT/prefix/lib"
WARN="-Wall -Wextra -Werror -pedantic -pthread"
SAN="-g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
VALGRIND="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible"

log "the header compiles as C99 and C++17 (included twice)"
printf '#include <meshplane.h>\n#include <meshplane.h>\nint main(void) { return (int)meshplane_version().len == 0; }\n' > "$OUT/hdr.c"
cp "$OUT/hdr.c" "$OUT/hdr.cpp"
gcc -std=c99 $WARN $CFLAGS_MP "$OUT/hdr.c" $LIBS_MP $RPATH -o "$OUT/hdr-c"
g++ -std=c++17 $WARN $CFLAGS_MP "$OUT/hdr.cpp" $LIBS_MP $RPATH -o "$OUT/hdr-cpp"
"$OUT/hdr-c" && "$OUT/hdr-cpp"

log "C tests: ASan + UBSan, static library"
gcc -std=c99 $WARN $SAN $CFLAGS_MP -I"$C/tests/c" "$C/tests/c/test_main.c" $LIBS_STATIC -o "$OUT/test-asan"
(cd "$C/tests/c" && "$OUT/test-asan") | tee "$OUT/test-asan.log"
tail -1 "$OUT/test-asan.log" | grep -Eq '^[0-9]+ passed, 0 failed$' || die "C tests failed (ASan)"

log "C tests: valgrind, shared library"
gcc -std=c99 $WARN -g -O0 $CFLAGS_MP -I"$C/tests/c" "$C/tests/c/test_main.c" $LIBS_MP $RPATH -o "$OUT/test-plain"
(cd "$C/tests/c" && $VALGRIND "$OUT/test-plain") | tee "$OUT/test-valgrind.log"
tail -1 "$OUT/test-valgrind.log" | grep -Eq '^[0-9]+ passed, 0 failed$' || die "C tests failed (valgrind)"

log "examples: C++ Envoy-shaped filter (Dubbo, Redis, Thrift) and C Redis filter on the captured fixtures (ASan+UBSan)"
FX=mesh-codec/tests/fixtures
g++ -std=c++17 $WARN $SAN $CFLAGS_MP examples/cpp/envoy_filter.cpp $LIBS_STATIC -o "$OUT/envoy_filter"
gcc -std=c99 $WARN $SAN $CFLAGS_MP examples/c/redis_filter.c $LIBS_STATIC -o "$OUT/redis_filter"
{
  "$OUT/envoy_filter" dubbo interface 4 $FX/dubbo/dubbo_js_sayhello.request.bin \
    $FX/dubbo/dubbo_js_sayhello.response.bin x-meshplane-route=backend
  "$OUT/envoy_filter" redis key 1 $FX/redis/cli_resp2.request.bin $FX/redis/cli_resp2.response.bin \
    key_prefix=tenant:
  "$OUT/envoy_filter" redis command 1 $FX/redis/debug_types_resp2.request.bin \
    $FX/redis/debug_types_resp2.response.bin
  "$OUT/envoy_filter" thrift method 3 $FX/thrift/header_binary.request.bin \
    $FX/thrift/header_binary.response.bin x-meshplane-route=backend
  "$OUT/envoy_filter" thrift service 2 $FX/thrift/binary_framed_multiplexed.request.bin \
    $FX/thrift/binary_framed_multiplexed.response.bin
} > "$OUT/cpp-output.txt"
diff -u examples/cpp/expected-output.txt "$OUT/cpp-output.txt" || die "C++ example output changed"
"$OUT/redis_filter" $FX/redis/cli_resp2.request.bin 5 > "$OUT/c-output.txt"
diff -u examples/c/expected-output.txt "$OUT/c-output.txt" || die "C example output changed"
log "examples: output as expected ($(wc -l < "$OUT/cpp-output.txt") + $(wc -l < "$OUT/c-output.txt") lines)"
