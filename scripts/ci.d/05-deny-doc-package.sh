# What a user of the crates relies on: cargo-deny (licenses, duplicate versions, sources),
# the GPL bench peer kept to [dev-dependencies], rustdoc without warnings, and `cargo package`
# (with its verification build) of every publishable crate.
# Advisories are not checked here: cargo-deny reads the RustSec database from a git clone of
# its GitHub repository, which this test command cannot reach (registries only); see deny.toml.
need cargo python3
cargo_tool cargo-deny 0.20.2

log "cargo deny check licenses bans sources"
cargo deny --locked check licenses bans sources

log "hessian_rs (GPL-3.0) only as a dev-dependency"
cargo metadata --locked --no-deps --format-version 1 | python3 -c '
import json, sys
bad = [(p["name"], d["kind"] or "normal") for p in json.load(sys.stdin)["packages"]
       for d in p["dependencies"] if d["name"] == "hessian_rs" and d["kind"] != "dev"]
sys.exit(f"hessian_rs outside [dev-dependencies]: {bad}" if bad else 0)'

log "cargo doc --workspace --no-deps (RUSTDOCFLAGS=-D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

# Every member not marked `publish = false` (mesh-core, mesh-codec, mesh-limiter, mesh-cli and
# whatever joins them). One `cargo package` call packages them together, so the unpublished
# crates resolve to each other; the verification builds share target/package.
mapfile -t pkgs < <(cargo metadata --locked --no-deps --format-version 1 | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["publish"] != []:
        print(p["name"])')
[ ${#pkgs[@]} -ge 4 ] || die "only ${#pkgs[@]} publishable crates: ${pkgs[*]}"
# The verification builds our crates as registry packages (unpacked from
# target/package/tmp-registry into $CARGO_HOME/registry/src/-<hash>/NAME-VERSION, compiled in
# target/debug). Cargo takes registry sources as immutable, so an earlier run's unpacked copy
# and its build of the same version would be reused: remove both first.
for p in "${pkgs[@]}"; do
  rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/"$p"-[0-9]*
done
for d in target/debug/deps/*.d; do
  if grep -qE "registry/src/-[0-9a-f]+/mesh-" "$d"; then
    h=${d##*-}
    rm -rf target/debug/.fingerprint/*-"${h%.d}"
  fi
done
log "cargo package ${pkgs[*]}"
cargo package --locked "${pkgs[@]/#/-p=}"
