# The Python package: build the wheel (dev profile, reusing target/debug), install it into the
# repo venv, check the .pyi stubs against the runtime module, run pytest against the wheel.
need cargo python3
pip_install maturin==1.16.0 pytest==8.3.4 mypy==2.4.1
log "maturin build"
rm -rf target/wheels
(cd bindings/python && maturin build --profile dev --locked --interpreter "$VENV/bin/python" --out "$ROOT/target/wheels")
"$VENV/bin/pip" install -q --force-reinstall --no-deps "$ROOT"/target/wheels/meshplane-*.whl
log "stubtest"
(cd "$ROOT/target" && "$VENV/bin/python" -m mypy.stubtest meshplane --ignore-missing-stub)
log "pytest (python bindings + examples)"
(cd "$ROOT/target" && "$VENV/bin/python" -m pytest -q "$ROOT/bindings/python/tests" "$ROOT/examples/python" -p no:cacheprovider)
