#!/usr/bin/env python3
"""Runs every case of manifest.txt through meshctl under a 1 GiB address-space limit and a
10 s time limit; prints one line per failure and `N passed, N failed`; exits 1 on any failure.

    run.py MESHCTL LARGE_DIR [NAME_SUBSTRING...]
"""
import pathlib
import resource
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
LIMIT_BYTES = 1 << 30
TIMEOUT_S = 10


def cap():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


def cases():
    names = set()
    for n, line in enumerate((HERE / "manifest.txt").read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 3:
            sys.exit(f"manifest.txt:{n}: want NAME EXITS ARGS...")
        name, exits, args = fields[0], fields[1], fields[2:]
        if name in names:
            sys.exit(f"manifest.txt:{n}: duplicate case name {name}")
        names.add(name)
        try:
            codes = {int(c) for c in exits.split(",")}
        except ValueError:
            sys.exit(f"manifest.txt:{n}: EXITS must be comma-separated numbers, not {exits}")
        yield name, codes, args


def main():
    meshctl, large = sys.argv[1], sys.argv[2]
    only = sys.argv[3:]
    passed = failed = 0
    for name, codes, args in cases():
        if only and not any(w in name for w in only):
            continue
        argv = [meshctl] + [a.replace("{small}", str(HERE / "inputs")).replace("{large}", large)
                            for a in args]
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=TIMEOUT_S, preexec_fn=cap)
            rc, err = r.returncode, r.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, err = "timeout", f"no exit after {TIMEOUT_S} s"
        if rc in codes:
            passed += 1
            continue
        failed += 1
        why = {101: "panic", "timeout": "timeout"}.get(rc, f"signal {-rc}" if isinstance(rc, int) and rc < 0 else f"exit {rc}")
        first = err.strip().splitlines()[:3]
        print(f"FAIL {name}: {why}, expected {sorted(codes)}: {' | '.join(first)[:300]}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
