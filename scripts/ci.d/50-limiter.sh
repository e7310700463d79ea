# mesh-limiter: everything, plus the global (Redis) limits against a real redis-server and a real
# three-master Redis Cluster (the tests spawn, freeze and kill them themselves on free loopback
# ports; redis-cli builds the cluster) and the local limiter differentially against a real Envoy
# 1.40.0 (same config, same request sequence, same decisions and headers).
apt_install redis-server redis-tools
need redis-server
need redis-cli setpriv
ENVOY_1_40_0=$(envoy_bin 1.40.0)
export ENVOY_1_40_0
"$ENVOY_1_40_0" --version | grep -q '/1.40.0/' || die "envoy 1.40.0 missing or wrong at $ENVOY_1_40_0"
log "cargo clippy -p mesh-limiter --features redis,envoy-tests"
cargo clippy -p mesh-limiter --features redis,envoy-tests --all-targets --locked -- -D warnings
log "cargo test -p mesh-limiter --features redis,envoy-tests"
cargo test -p mesh-limiter --features redis,envoy-tests --locked
# One RLS model on both sides: render a global SmartLimiter, feed its ConfigMap to the Redis
# global limiter (real redis-server), and check the enforced limits are the rendered ones.
log "cargo test -p meshplane-examples --features redis-tests --test rls_roundtrip"
cargo test -p meshplane-examples --features redis-tests --test rls_roundtrip --locked
# Every redis-server the tests started runs in a meshplane-limiter-redis-* temp dir: none may be left.
if pgrep -af 'meshplane-limiter-redis-'; then
  die "redis-server processes left behind by the mesh-limiter tests (listed above)"
fi
log "no redis-server left behind"
