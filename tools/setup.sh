#!/usr/bin/env bash
# Installs what the build and the tests need, skipping what is already there.
# Everything comes from the package registries (rustup, crates.io, Debian, npm).
set -euo pipefail
cd "$(dirname "$0")/.."

want_bindgen=$(sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p;}' Cargo.lock)
if [ -z "$want_bindgen" ]; then
  echo "setup: cannot read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for comp in rustfmt clippy; do
  rustup component list --installed | grep -q "^$comp" || rustup component add "$comp"
done

have_bindgen=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have_bindgen" != "$want_bindgen" ]; then
  echo "setup: installing wasm-bindgen-cli $want_bindgen (about 6 minutes on 2 cores)"
  cargo install wasm-bindgen-cli --version "$want_bindgen"
fi

if [ "${1:-}" = "--browser" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    echo "setup: installing Debian chromium"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  fi
  if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages from package-lock.json"
    npm ci --no-audit --no-fund
  fi
fi
