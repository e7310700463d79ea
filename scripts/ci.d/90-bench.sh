# Every criterion bench of the workspace, once, in quick mode (one bench-profile build), then
# the table of Meshplane vs the peer crates measured in this same run.
need cargo python3
log "cargo bench (quick)"
rm -rf target/criterion
cargo bench --workspace --exclude meshplane-python --locked --bench '*' -- --quick
python3 scripts/bench-report.py target/criterion | tee target/bench-report.txt
