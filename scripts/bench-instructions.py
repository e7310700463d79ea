#!/usr/bin/env python3
"""Instruction counts of the codec hot paths under callgrind (valgrind), as a table.

Builds mesh-codec's `instructions` bench binary (bench profile: LTO, one codegen unit), runs
every case it lists under `valgrind --tool=callgrind` with 0 and N decodes, and prints
(Ir(N) - Ir(0)) / N per case: the instructions of one decode, start-up and fixture loading
subtracted. The counts are deterministic for one binary (no timing, no noise), so a change
compares against the previous commit's table exactly; the speed rule in ARCHITECTURE.md asks
for >= 5 % fewer instructions. Usage: bench-instructions.py [OUT.txt] [N]
"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile

out_path = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-instructions.txt")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000

build = subprocess.run(
    ["cargo", "bench", "--locked", "-p", "mesh-codec", "--bench", "instructions", "--no-run",
     "--message-format=json"],
    check=True, stdout=subprocess.PIPE, text=True)
exe = None
for line in build.stdout.splitlines():
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "instructions" \
            and msg.get("executable"):
        exe = msg["executable"]
if not exe:
    sys.exit("cargo did not report the instructions bench binary")

cases = subprocess.run([exe, "--list"], check=True, stdout=subprocess.PIPE, text=True).stdout.split()
if not cases:
    sys.exit("no cases")


def instructions(case: str, iterations: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--error-exitcode=1", f"--callgrind-out-file={out}",
             exe, case, str(iterations)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        m = re.search(r"^(?:summary|totals):\s+(\d+)", out.read_text(), re.M)
        if not m:
            sys.exit(f"{case}: no instruction total in the callgrind output")
        return int(m.group(1))


lines = [f"{'case':<24} {'instructions/decode':>20}   (callgrind Ir, ({n} decodes - 0) / {n})"]
for case in cases:
    per = (instructions(case, n) - instructions(case, 0)) / n
    if per <= 0:
        sys.exit(f"{case}: {per} instructions per decode")
    lines.append(f"{case:<24} {per:>20.1f}")
text = "\n".join(lines) + "\n"
out_path.parent.mkdir(parents=True, exist_ok=True)
out_path.write_text(text)
print(text, end="")
