# The Python package `meshplane` (bindings/python): build the abi3 wheel with maturin (release,
# so the benchmark measures the shipped code), install it into the repo venv, install it again
# into a fresh venv with no Rust toolchain on PATH, check the .pyi stubs against the runtime
# module (mypy stubtest) and the package docstring (doctest), run pytest against the installed
# wheel (never the source tree), and print the benchmark ratios (a report, not a timed test).
need cargo python3
pip_install maturin==1.16.0 pytest==8.3.4 mypy==2.4.1 typing_extensions==4.16.0 hypothesis==6.170.17 \
  redis==8.1.0 hiredis==3.5.0 thrift==0.25.0 python-hessian==1.2.0

log "maturin build (release, abi3)"
rm -rf target/wheels
(cd bindings/python && maturin build --release --locked --interpreter "$VENV/bin/python" --out "$ROOT/target/wheels")
WHEEL=$(ls "$ROOT"/target/wheels/meshplane-*-cp39-abi3-*.whl) || die "no abi3 (cp39-abi3) wheel was built"
CARGO_VERSION=$(cargo metadata --format-version 1 --no-deps --locked |
  "$VENV/bin/python" -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "meshplane-python"))')
case "$(basename "$WHEEL")" in
  "meshplane-$CARGO_VERSION-"*) ;;
  *) die "wheel $(basename "$WHEEL") does not carry the Cargo version $CARGO_VERSION" ;;
esac
"$VENV/bin/pip" install -q --force-reinstall --no-deps "$WHEEL"

log "fresh venv without a Rust toolchain: pip install the wheel, import, doctest"
FRESH=$(mktemp -d)
trap 'rm -rf "$FRESH"' EXIT
"$VENV/bin/python" -m venv "$FRESH/venv"
env -i HOME="$FRESH" PATH="$FRESH/venv/bin:/usr/bin:/bin" sh -c '
  set -e
  if command -v cargo || command -v rustc; then echo "a Rust toolchain is on PATH" >&2; exit 1; fi
  pip install -q --no-index --no-deps --disable-pip-version-check "$1"
  cd "$2"
  python -c "import meshplane, sys; assert meshplane.__version__ == sys.argv[1], meshplane.__version__; print(meshplane.__file__)" "$3"
  python -m doctest "$(python -c "import meshplane; print(meshplane.__file__)")"
' sh "$WHEEL" "$FRESH" "$CARGO_VERSION"

log "stubtest"
(cd "$ROOT/target" && "$VENV/bin/python" -m mypy.stubtest meshplane --ignore-missing-stub)
log "doctest (package docstring, installed wheel)"
(cd "$ROOT/target" && "$VENV/bin/python" -m doctest "$("$VENV/bin/python" -c 'import meshplane; print(meshplane.__file__)')")

log "pytest (python bindings + examples, against the installed wheel)"
cargo build -q --locked -p mesh-cli --bin meshctl
export MESHCTL="$ROOT/target/debug/meshctl"
(cd "$ROOT/target" && "$VENV/bin/python" -m pytest -q "$ROOT/bindings/python/tests" "$ROOT/examples/python" -p no:cacheprovider)

log "benchmark (ratios against hiredis / python-hessian in one run; a report, not a test)"
(cd "$ROOT/target" && "$VENV/bin/python" "$ROOT/bindings/python/bench.py")
