#!/usr/bin/env bash
# Peak memory and time of `meshctl render` for N generated SmartLimiters (each with its Service,
# two descriptors, a quarter global: the render bench's input), under an address-space cap
# (MEM_CAP_KB, default 1048576 = 1 GiB; `MEM_CAP_KB=unlimited` for large N).
# A measurement, not a test: it prints one line per N.
#   scripts/measure-render-memory.sh [N...]        (default: 10000 25000)
#   MEM_CAP_KB=unlimited scripts/measure-render-memory.sh 100000
# Uses target/release/meshctl (built here if missing) and /usr/bin/time (Debian package `time`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"
[ -x /usr/bin/time ] || apt_install time
need python3
MESHCTL="$ROOT/target/release/meshctl"
[ -x "$MESHCTL" ] || cargo build -q --release --locked -p mesh-cli --bin meshctl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
metrics="$work/metrics.yaml"
echo '_base.pod: 3' > "$metrics"
printf '%8s %10s %10s %12s %8s\n' limiters input_MB output_MB peak_RSS_MB seconds
cap=${MEM_CAP_KB:-1048576}
for n in "${@:-10000 25000}"; do
  for n1 in $n; do
    in="$work/in-$n1.yaml"
    python3 - "$n1" > "$in" <<'PY'
import sys
n = int(sys.argv[1])
out = []
for i in range(n):
    strategy = "global" if i % 4 == 3 else "single"
    ns = i % 50
    out.append(f'''---
apiVersion: microservice.slime.io/v1alpha2
kind: SmartLimiter
metadata: {{name: svc{i}, namespace: ns{ns}}}
spec:
  sets:
    _base:
      descriptor:
      - action: {{quota: "100/{{{{._base.pod}}}}", fill_interval: {{seconds: 60}}, strategy: {strategy}}}
        condition: "true"
        target: {{port: 9080}}
      - action: {{quota: "5", fill_interval: {{seconds: 1}}, strategy: {strategy}}}
        condition: "{{{{._base.pod}}}}>1"
        match: [{{name: x-user, exact_match: "user{i}"}}]
        target: {{port: 9080}}
---
apiVersion: v1
kind: Service
metadata: {{name: svc{i}, namespace: ns{ns}}}
spec: {{selector: {{app: svc{i}}}}}
''')
sys.stdout.write("".join(out))
PY
    stats="$work/time-$n1.txt"
    if ! ( ulimit -v "$cap"; /usr/bin/time -v "$MESHCTL" render --metrics "$metrics" "$in" > "$work/out.yaml" ) 2> "$stats"; then
      tail -n 30 "$stats" >&2
      die "meshctl render of $n1 limiters failed under an address-space cap of $cap KiB"
    fi
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$stats")
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$stats")
    awk -v n="$n1" -v i="$(stat -c %s "$in")" -v o="$(stat -c %s "$work/out.yaml")" \
      -v r="$rss_kb" -v t="$secs" \
      'BEGIN { printf "%8d %10.1f %10.1f %12.1f %8s\n", n, i / 1048576, o / 1048576, r / 1024, t }'
  done
done
