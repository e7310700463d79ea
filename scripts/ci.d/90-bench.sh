# Every criterion bench of the workspace, once (one bench-profile build), then the table of
# Meshplane vs the peer crates measured in this same run. Two seconds of samples per function
# (not --quick, whose few samples let one preempted run move a ratio by half), and the report
# reads medians.
need cargo python3
log "cargo bench (1 s warm-up, 2 s of samples per function)"
rm -rf target/criterion
cargo bench --workspace --exclude meshplane-python --locked --bench '*' -- \
  --warm-up-time 1 --measurement-time 2 --sample-size 20
python3 scripts/bench-report.py target/criterion | tee target/bench-report.txt

# Instruction counts of the codec hot paths under callgrind (exact and repeatable, unlike the
# times above): target/bench-instructions.txt, one row per decode case (ARCHITECTURE.md).
apt_install valgrind
need valgrind
log "instruction counts (callgrind): scripts/bench-instructions.py"
python3 scripts/bench-instructions.py target/bench-instructions.txt 1000
