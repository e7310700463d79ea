# Dubbo2/Hessian2 against real peers: the Caucho Hessian reference (Debian libhessian-java, JDK 17)
# and npm hessian.js exchange Hessian2 vectors with our codec; a real Dubbo consumer
# (npm apache-dubbo-js) calls a provider built on the Caucho reference directly and through
# examples' meta_proxy (our Dubbo codec), and the results must agree.
need java javac node npm
apt_install libhessian-java
HESSIAN_JAR=/usr/share/java/hessian.jar
[ -f "$HESSIAN_JAR" ] || die "$HESSIAN_JAR is missing (libhessian-java)"

npm_dir="$CACHE/npm-dubbo"
mkdir -p "$npm_dir"
[ -f "$npm_dir/package.json" ] || echo '{"name":"meshplane-dubbo-peers","private":true}' > "$npm_dir/package.json"
npm_install "$npm_dir" hessian.js@2.11.0 js-to-java@2.8.0 apache-dubbo-js@3.0.0-rc6
NODE_PATH="$npm_dir/node_modules" node -e '
  const want = { "hessian.js": "2.11.0", "js-to-java": "2.8.0", "apache-dubbo-js": "3.0.0-rc6" };
  for (const [n, v] of Object.entries(want)) {
    const got = require(n + "/package.json").version;
    if (got !== v) { console.error(`${n} is ${got}, want ${v}`); process.exit(1); }
  }' || die "npm peers in $npm_dir are not the pinned versions"

java_out="$CACHE/dubbo-java"
rm -rf "$java_out" && mkdir -p "$java_out"
log "javac the Hessian/Dubbo peer"
javac -nowarn -encoding UTF-8 -cp "$HESSIAN_JAR" -d "$java_out" \
  "$ROOT"/tests/interop/dubbo/java/HessianPeer.java "$ROOT"/tests/interop/dubbo/java/com/example/*.java

for bin in meta_proxy hessian2_interop; do
  [ -x "$ROOT/target/debug/$bin" ] || cargo build -q --locked -p meshplane-examples --bin "$bin"
done
[ -x "$ROOT/target/debug/meshctl" ] || cargo build -q --locked -p mesh-cli --bin meshctl
for bin in meta_proxy hessian2_interop meshctl; do
  [ -x "$ROOT/target/debug/$bin" ] || die "target/debug/$bin is missing"
done

log "node --test tests/interop/dubbo (Caucho 4.0.38, hessian.js 2.11.0, apache-dubbo-js 3.0.0-rc6)"
out="$CACHE/dubbo-node-test.log"
MESH_BIN="$ROOT/target/debug" HESSIAN_JAR="$HESSIAN_JAR" DUBBO_JAVA_CLASSES="$java_out" \
  NODE_PATH="$npm_dir/node_modules" node --test --test-reporter=tap "$ROOT/tests/interop/dubbo/" 2>&1 | tee "$out"
pass=$(grep -E '^# pass [0-9]+' "$out" | awk '{print $3}')
fail=$(grep -E '^# fail [0-9]+' "$out" | awk '{print $3}')
skipped=$(grep -E '^# (skipped|todo|cancelled) [0-9]+' "$out" | awk '{s += $3} END {print s + 0}')
[ "${fail:-1}" = 0 ] && [ "$skipped" = 0 ] && [ "${pass:-0}" -gt 0 ] \
  || die "tests/interop/dubbo: pass=${pass:-?} fail=${fail:-?} skipped/todo/cancelled=$skipped"
echo "tests/interop/dubbo: $pass passed"
