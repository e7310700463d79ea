#!/usr/bin/env bash
# Installs the C library built by cargo into PREFIX: lib/libmeshplane.{a,so}, include/meshplane.h
# and lib/pkgconfig/meshplane.pc (generated for PREFIX).
#
#   bindings/c/install.sh PREFIX [TARGET_DIR]   # default: $CARGO_TARGET_DIR/debug or target/debug
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prefix=${1:?usage: install.sh PREFIX [TARGET_DIR]}
target=${2:-${CARGO_TARGET_DIR:-$root/target}/debug}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
[ -n "$version" ] || { echo "no workspace version in $root/Cargo.toml" >&2; exit 1; }
for f in libmeshplane.a libmeshplane.so; do
  [ -f "$target/$f" ] || { echo "missing $target/$f (cargo build -p meshplane-c)" >&2; exit 1; }
done
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
cp "$target/libmeshplane.a" "$target/libmeshplane.so" "$prefix/lib/"
cp "$here/include/meshplane.h" "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" "$here/meshplane.pc.in" \
  > "$prefix/lib/pkgconfig/meshplane.pc"
