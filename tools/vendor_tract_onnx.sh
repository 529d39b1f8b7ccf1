#!/usr/bin/env bash
# Regenerates vendor/tract-onnx and vendor/tract-nnef (used through [patch.crates-io] in
# Cargo.toml) from the crates.io packages of tract 0.23.9 plus each directory's PATCH.diff,
# so the vendored copies differ from upstream by exactly those two diffs
# (vendor/tract-onnx/PATCH.md says why). Needs cargo, tar and patch; downloads nothing but
# the two .crate files from crates.io when they are not in the cargo cache.
#
#   tools/vendor_tract_onnx.sh          # rebuild both directories
#   tools/vendor_tract_onnx.sh --check  # fail if the committed copies differ from that
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.23.9
CRATES=(tract-onnx tract-nnef)
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

crate_file() {
  find "$CARGO_HOME/registry/cache" -name "$1-$VERSION.crate" 2>/dev/null | head -n 1
}

# Fetch the .crate files into the cargo cache if missing: a throwaway package that depends
# on exactly these versions (the repository's own manifest patches them away).
if [ -z "$(crate_file tract-onnx)" ] || [ -z "$(crate_file tract-nnef)" ]; then
  mkdir -p "$work/fetch/src"
  printf '[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\ntract-onnx = { version = "=%s", default-features = false }\ntract-nnef = { version = "=%s", default-features = false }\n' \
    "$VERSION" "$VERSION" > "$work/fetch/Cargo.toml"
  touch "$work/fetch/src/lib.rs"
  (cd "$work/fetch" && cargo fetch --quiet)
fi

for crate in "${CRATES[@]}"; do
  src=$(crate_file "$crate")
  [ -n "$src" ] || { echo "vendor: $crate-$VERSION.crate not found in $CARGO_HOME/registry/cache" >&2; exit 1; }
  mkdir -p "$work/out"
  tar -xzf "$src" -C "$work/out"
  fresh="$work/out/$crate-$VERSION"
  for keep in PATCH.diff PATCH.md; do
    if [ -f "vendor/$crate/$keep" ]; then cp "vendor/$crate/$keep" "$fresh/$keep"; fi
  done
  patch --quiet --no-backup-if-mismatch -p1 -d "$fresh" < "$fresh/PATCH.diff"
  if [ "${1:-}" = "--check" ]; then
    diff -r "$fresh" "vendor/$crate" || { echo "vendor: vendor/$crate differs from $crate $VERSION + PATCH.diff" >&2; exit 1; }
  else
    rm -rf "vendor/$crate"
    mkdir -p vendor
    cp -r "$fresh" "vendor/$crate"
  fi
done
echo "vendor: ${CRATES[*]} $VERSION with their PATCH.diff ${1:+(checked)}"
