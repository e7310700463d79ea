# meshctl simulate (debug build from 00-rust.sh): every limiter at 3× load, seed 1, as a table;
# fails if the contract fields are missing, if the unlimited server does not collapse, if the
# operator-sized static limit reconverges after the capacity halving (the halving would then be no
# test) or if Envoy's gradient controller misses the goals (the same checks are pinned in cargo tests).
need python3
meshctl="$ROOT/target/debug/meshctl"
[ -x "$meshctl" ] || cargo build -q --locked -p mesh-cli --bin meshctl
[ -x "$meshctl" ] || die "target/debug/meshctl is missing"
out="$CACHE/simulate"
mkdir -p "$out"
for l in none static token-bucket gradient gradient2 gradient2-windowed vegas vegas-windowed aimd bbr; do
  "$meshctl" simulate --limiter "$l" --load 3.0 --seed 1 --json --plot "$out/$l.svg" >"$out/$l.json"
done
log "meshctl simulate --load 3.0 --seed 1 (plots in .cache/simulate/)"
python3 - "$out" <<'PY'
import json, sys, pathlib
d = pathlib.Path(sys.argv[1])
keys = ["goodput_ratio", "admitted_p99_ms", "unloaded_p99_ms", "reject_ratio", "reconverge_s"]
def opt(v, fmt):
    return fmt % v if isinstance(v, (int, float)) else "-"
print("%-19s %8s %8s %8s %8s %10s %9s %7s %7s" % ("limiter", "goodput", "p99 ms", "unl p99", "reject",
      "reconv s", "peak p99", "lim pre", "lim end"))
rows = {}
for l in ["none", "static", "token-bucket", "gradient", "gradient2", "gradient2-windowed", "vegas",
          "vegas-windowed", "aimd", "bbr"]:
    r = json.loads((d / f"{l}.json").read_text())
    missing = [k for k in keys if not isinstance(r.get(k), (int, float))]
    if missing:
        sys.exit(f"{l}: missing {missing}")
    rows[l] = r
    print("%-19s %8.3f %8.1f %8.1f %8.3f %10s %9s %7s %7s" % (l, *(r[k] for k in keys[:4]),
          "%.2f" % r["reconverge_s"] if r["reconverged"] else "never", opt(r["peak_p99_after_halving_ms"], "%.1f"),
          opt(r["limit_before_halving"], "%.0f"), opt(r["limit_at_end"], "%.0f")))
g, n, s = rows["gradient"], rows["none"], rows["static"]
if not (g["goodput_ratio"] >= 0.95 and g["admitted_p99_ms"] <= 2 * g["unloaded_p99_ms"] and g["reconverge_s"] < 2):
    sys.exit(f"gradient misses the goals: {g}")
if not n["goodput_ratio"] < 0.05:
    sys.exit(f"unlimited server does not collapse: {n}")
if s["reconverged"] or not s["peak_p99_after_halving_ms"] > 2 * s["unloaded_p99_ms"]:
    sys.exit(f"the static limit survives the halving (no test of adaptation): {s}")
PY
