# Thrift codec against real Apache Thrift peers (PyPI thrift + Debian thrift-compiler):
# 1. the committed fixtures are re-recorded from the real peers and must be byte-identical,
# 2. Python client <-> meta_proxy (our codec) <-> Python server in every dialect (pytest).
apt_install thrift-compiler
need thrift python3
pip_install thrift==0.25.0 pytest==8.3.4
GEN="$CACHE/thrift-gen"
rm -rf "$GEN" && mkdir -p "$GEN"
thrift --gen py -out "$GEN" tests/interop/thrift/interop.thrift
# 00-rust.sh built every binary; build meta_proxy only when this section runs alone.
[ -x target/debug/meta_proxy ] || cargo build -q -p meshplane-examples --bin meta_proxy --locked

log "thrift: re-record fixtures from the real peers and compare"
REC=$(mktemp -d)
trap 'rm -rf "$REC"' EXIT
(cd tests/interop/thrift && PYTHONHASHSEED=0 PYTHONPATH="$GEN" "$VENV/bin/python" capture.py "$REC" >/dev/null)
n=0
for f in "$REC"/*.bin; do
  cmp "$f" "mesh-codec/tests/fixtures/thrift/$(basename "$f")" || die "fixture $(basename "$f") differs from the real peer's bytes"
  n=$((n + 1))
done
[ "$n" -ge 34 ] || die "only $n fixtures recorded"

log "thrift: pytest interop through meta_proxy"
THRIFT_GEN_DIR="$GEN" META_PROXY="$ROOT/target/debug/meta_proxy" \
  "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/interop/thrift
