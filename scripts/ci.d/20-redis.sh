# Redis codec against real peers: Debian redis-server/redis-cli/redis-benchmark 7.0 and redis-py
# 8.1 (RESP2 and RESP3) through examples' meta_proxy (the redis codec decodes and re-encodes every
# message, --check-roundtrip), compared with talking to the server directly.
need python3
apt_install redis-server redis-tools
need redis-server redis-cli redis-benchmark
pip_install pytest==8.3.4 redis==8.1.0
[ -x "$ROOT/target/debug/meta_proxy" ] || cargo build -q --locked -p meshplane-examples --bin meta_proxy
[ -x "$ROOT/target/debug/meta_proxy" ] || die "target/debug/meta_proxy is missing"

port=$(free_port)
pidfile="$CACHE/redis-$port.pid"
log "redis-server $(redis-server --version | grep -o 'v=[0-9.]*') on 127.0.0.1:$port"
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
  --enable-debug-command local --daemonize yes --pidfile "$pidfile" --loglevel warning \
  --logfile "$CACHE/redis-$port.log"
stop_redis() { [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; rm -f "$pidfile"; }
trap stop_redis EXIT
retry 5 redis-cli -p "$port" ping >/dev/null || die "redis-server did not start (see $CACHE/redis-$port.log)"
export MESH_REDIS_PORT=$port

log "pytest tests/interop/redis"
out="$CACHE/redis-pytest.log"
"$VENV/bin/python" -m pytest -p no:cacheprovider -q -rfEs "$ROOT/tests/interop/redis" 2>&1 | tee "$out"
if tail -n 1 "$out" | grep -qiE 'skipped|xfail|deselected|no tests ran'; then
  die "tests/interop/redis: some tests did not run: $(tail -n 1 "$out")"
fi
