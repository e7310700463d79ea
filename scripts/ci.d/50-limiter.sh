# mesh-limiter: everything, plus the global (Redis) limits against a real redis-server
# (the tests spawn and kill it themselves on free loopback ports).
apt_install redis-server
need redis-server
log "cargo clippy -p mesh-limiter --features redis"
cargo clippy -p mesh-limiter --features redis --all-targets --locked -- -D warnings
log "cargo test -p mesh-limiter --features redis"
cargo test -p mesh-limiter --features redis --locked
