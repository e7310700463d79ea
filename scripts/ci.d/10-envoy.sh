# Proof on a real Envoy: every EnvoyFilter `meshctl render` produces for examples/crds/*.yaml (and the
# snapshot fixtures and the hand-written Slime-shaped fixtures) is placed into a static bootstrap as Istio
# would apply it and must pass `envoy --mode validate` on Envoy 1.40.0 and 1.36.2; Envoy 1.40.0 is then
# run on loopback in front of a Python upstream to show the generated limits really limit.
need python3
pip_install pytest==8.3.4 pyyaml==6.0.2 grpcio==1.85.3 protobuf==7.36.2 xds-protos==1.85.0
ENVOY_1_40_0=$(envoy_bin 1.40.0)
ENVOY_1_36_2=$(envoy_bin 1.36.2)
export ENVOY_1_40_0 ENVOY_1_36_2
"$ENVOY_1_40_0" --version | grep -q '/1.40.0/' || die "envoy 1.40.0 missing or wrong at $ENVOY_1_40_0"
"$ENVOY_1_36_2" --version | grep -q '/1.36.2/' || die "envoy 1.36.2 missing or wrong at $ENVOY_1_36_2"
[ -x "$ROOT/target/debug/meshctl" ] || die "target/debug/meshctl is missing (00-rust.sh builds it)"
export MESHCTL="$ROOT/target/debug/meshctl"

log "pytest tests/envoy (real Envoy 1.40.0 and 1.36.2)"
out="$CACHE/envoy-pytest.log"
"$VENV/bin/python" -m pytest -p no:cacheprovider -q -rfEs "$ROOT/tests/envoy" 2>&1 | tee "$out"
# A skipped test would be a proof not made: fail the section instead.
if tail -n 1 "$out" | grep -qiE 'skipped|xfail|deselected|no tests ran'; then
  die "tests/envoy: some tests did not run: $(tail -n 1 "$out")"
fi
