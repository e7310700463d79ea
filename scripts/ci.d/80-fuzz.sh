# Fuzz smoke run: every target `cargo fuzz list` reports (fuzz/, outside the workspace) runs
# FUZZ_RUNS inputs (default 60000) from libFuzzer seed FUZZ_SEED (default 1), seeded from the
# codecs' captured fixtures and the pinned finds in mesh-codec/tests/regress. A fixed seed makes
# the gate reproducible: the same commit explores the same inputs on every run, so CI fails for
# a change, not for luck. FUZZ_SECONDS (default 90) caps each target on a slow machine.
# Exploring for new finds is the same script with a random seed and more time:
#   FUZZ_SEED=0 FUZZ_RUNS=-1 FUZZ_SECONDS=600 scripts/test-all fuzz
# A crash, a failed assertion or a leak fails the section; the input is kept in fuzz/artifacts/.
need cargo python3
cargo_tool cargo-fuzz 0.13.2
# cargo-fuzz passes -Z flags (sanitizer, coverage); only stable Rust exists here.
export RUSTC_BOOTSTRAP=1
secs=${FUZZ_SECONDS:-90}
runs=${FUZZ_RUNS:-60000}
seed=${FUZZ_SEED:-1}
cd "$ROOT/fuzz"
mapfile -t targets < <(cargo fuzz list)
[ ${#targets[@]} -gt 0 ] || die "cargo fuzz list: no targets"
log "cargo fuzz build (${targets[*]})"
cargo fuzz build --release --debug-assertions

# Seed corpora: a target named <proto>_… gets fixtures/<proto>/*; codec_stream gets every
# protocol's fixtures behind its 3-byte header (protocol index, direction, chunk seed); render
# gets the example SmartLimiters, snapshots and small hostile YAML inputs.
# A seeded smoke starts from a fresh corpus (same inputs every run); exploring keeps growing one.
if [ "$seed" = 0 ]; then corpus_root=corpus; else corpus_root=corpus-smoke; rm -rf corpus-smoke; fi
python3 - "$ROOT" "$corpus_root" "${targets[@]}" <<'PY'
import pathlib, sys
root = pathlib.Path(sys.argv[1])
corpus_root = root / "fuzz" / sys.argv[2]
fixtures = root / "mesh-codec" / "tests" / "fixtures"
protocols = ["redis", "thrift", "dubbo"]  # mesh_codec::PROTOCOLS order

def sources():
    """(protocol, file, corpus name for codec_stream, corpus name for <proto>_… targets)."""
    for proto_dir in sorted(p for p in fixtures.glob("*") if p.is_dir()):
        for f in sorted(proto_dir.glob("*.bin")):
            yield proto_dir.name, f, f"seed-{proto_dir.name}-{f.name}", f"seed-{f.name}"
    # Pinned fuzzer finds: tests/regress/<proto>-<what>[.request|.response].bin
    for f in sorted((root / "mesh-codec" / "tests" / "regress").glob("*.bin")):
        yield f.name.split("-")[0], f, f"regress-{f.name}", f"regress-{f.name}"

# `render` gets YAML: the examples (the mesh-core snapshot inputs), the Envoy-test limiters,
# the snapshots themselves, and the small hostile YAML inputs.
render_seeds = [
    *sorted((root / "examples" / "crds").glob("**/*.yaml")),
    *sorted((root / "tests" / "envoy").glob("**/*.yaml")),
    *sorted((root / "mesh-core" / "tests" / "snapshots").glob("*.snap")),
    *sorted((root / "tests" / "hostile" / "inputs").glob("yaml-*.yaml")),
]

for target in sys.argv[3:]:
    corpus = corpus_root / target
    corpus.mkdir(parents=True, exist_ok=True)
    if target == "render":
        for f in render_seeds:
            name = "seed-" + str(f.relative_to(root)).replace("/", "-")
            (corpus / name).write_bytes(f.read_bytes()[:65536])
        continue
    for proto, f, stream_name, name in sources():
        data = f.read_bytes()[:65536]
        if target == "codec_stream":
            if proto not in protocols:
                continue
            direction = 1 if f.name.endswith(".response.bin") else 0
            header = bytes([protocols.index(proto), direction, len(data) % 251])
            (corpus / stream_name).write_bytes(header + data)
        elif target.split("_")[0] == proto:
            (corpus / name).write_bytes(data)
PY

for t in "${targets[@]}"; do
  log "cargo fuzz run $t (seed $seed, $runs runs, at most ${secs}s)"
  cargo fuzz run --release --debug-assertions "$t" "$corpus_root/$t" -- \
    -seed="$seed" -runs="$runs" -max_total_time="$secs" \
    -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
    || die "fuzz target $t failed (input saved under fuzz/artifacts/$t)"
done
