# Fuzz smoke run: every target `cargo fuzz list` reports (fuzz/, outside the workspace) runs for
# FUZZ_SECONDS (default 20) seconds, seeded from the codecs' captured fixtures. A crash, a
# failed assertion or a leak fails the section; the crashing input is kept in fuzz/artifacts/.
need cargo python3
cargo_tool cargo-fuzz 0.13.2
# cargo-fuzz passes -Z flags (sanitizer, coverage); only stable Rust exists here.
export RUSTC_BOOTSTRAP=1
secs=${FUZZ_SECONDS:-20}
cd "$ROOT/fuzz"
mapfile -t targets < <(cargo fuzz list)
[ ${#targets[@]} -gt 0 ] || die "cargo fuzz list: no targets"
log "cargo fuzz build (${targets[*]})"
cargo fuzz build --release --debug-assertions

# Seed corpora: a target named <proto>_… gets fixtures/<proto>/*; codec_stream gets every
# protocol's fixtures behind its 3-byte header (protocol index, direction, chunk seed).
python3 - "$ROOT" "${targets[@]}" <<'PY'
import pathlib, sys
root = pathlib.Path(sys.argv[1])
fixtures = root / "mesh-codec" / "tests" / "fixtures"
protocols = ["redis", "thrift", "dubbo"]  # mesh_codec::PROTOCOLS order
for target in sys.argv[2:]:
    corpus = root / "fuzz" / "corpus" / target
    corpus.mkdir(parents=True, exist_ok=True)
    for proto_dir in sorted(p for p in fixtures.glob("*") if p.is_dir()):
        for f in sorted(proto_dir.glob("*.bin")):
            data = f.read_bytes()[:65536]
            if target == "codec_stream":
                if proto_dir.name not in protocols:
                    continue
                direction = 1 if f.name.endswith(".response.bin") else 0
                header = bytes([protocols.index(proto_dir.name), direction, len(data) % 251])
                (corpus / f"seed-{proto_dir.name}-{f.name}").write_bytes(header + data)
            elif target.split("_")[0] == proto_dir.name:
                (corpus / f"seed-{f.name}").write_bytes(data)
PY

for t in "${targets[@]}"; do
  log "cargo fuzz run $t (${secs}s)"
  cargo fuzz run --release --debug-assertions "$t" "corpus/$t" -- \
    -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
    || die "fuzz target $t failed (input saved under fuzz/artifacts/$t)"
done
