#!/usr/bin/env python3
"""Prints criterion results as a table, with each peer's time as a ratio of Meshplane's.

Reads target/criterion/<group>/<function>[/<parameter>]/new/estimates.json (median point
estimate: a preempted sample moves the mean, not the median).
Within a group, the function named `meshplane` is compared with every other function that has the
same parameter: ratio = other time / meshplane time (> 1 means Meshplane is faster). Functions
named `meshplane_*` (and `c_api`) are variants of ours (another clock, another API) and are labelled as such.
"""
import json
import pathlib
import sys

# Our own functions under other names (the C API over the same Rust code).
OWN = {"c_api"}

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
rows = {}
for est in sorted(root.glob("**/new/estimates.json")):
    rel = est.parent.parent.relative_to(root).parts
    if not rel or rel[0] == "report":
        continue
    group, function, param = rel[0], rel[1] if len(rel) > 1 else "", "/".join(rel[2:])
    median = json.loads(est.read_text())["median"]["point_estimate"]
    rows.setdefault(group, {}).setdefault(param, {})[function] = median

if not rows:
    sys.exit(f"no criterion results under {root}")


def fmt(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3f} {unit}"
    return f"{ns:.1f} ns"


print(f"{'group':<28} {'parameter':<18} {'function':<16} {'median':>12}  vs meshplane")
for group in sorted(rows):
    for param in sorted(rows[group]):
        funcs = rows[group][param]
        ours = funcs.get("meshplane")
        for name in sorted(funcs, key=lambda n: (n != "meshplane", n)):
            t = funcs[name]
            ratio = ""
            if ours and name != "meshplane" and (name.startswith("meshplane") or name in OWN):
                ratio = f"{t / ours:.2f}x  (a Meshplane variant)"
            elif ours and name != "meshplane":
                ratio = f"{t / ours:.2f}x  (Meshplane {'faster' if t > ours else 'slower'})"
            print(f"{group:<28} {param:<18} {name:<16} {fmt(t):>12}  {ratio}")
