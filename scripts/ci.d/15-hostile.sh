# Hostile inputs (tests/hostile/): every case of manifest.txt through meshctl decode/render
# under a 1 GiB address-space limit and 10 s each; an exit outside the case's list, a panic,
# a signal or a timeout fails the section. The committed small inputs must be what
# generate.py writes; the large ones are generated into target/hostile/ here.
need cargo python3
cargo build -p mesh-cli --bin meshctl --locked
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
python3 tests/hostile/generate.py --small "$fresh" --large target/hostile
diff -r "$fresh" tests/hostile/inputs \
  || die "tests/hostile/inputs differ from generate.py --small (regenerate and commit them)"
log "hostile corpus ($(grep -cv '^\s*\(#\|$\)' tests/hostile/manifest.txt) cases)"
python3 tests/hostile/run.py target/debug/meshctl target/hostile
