# Format, lints and every cargo test of the workspace (pure crates + C API crate).
need cargo
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "cargo test"
cargo test --workspace --exclude meshplane-python --locked
# The binaries later sections use (meshctl, example proxies), from the same debug build.
cargo build --workspace --exclude meshplane-python --bins --locked
