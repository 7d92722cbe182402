#!/usr/bin/env bash
# Vendors the dashboard's browser libraries (htmx, uPlot) into
# internal/dashboard/static/vendor/, from the versions pinned in
# web/package.json and web/package-lock.json. The copied files are
# committed, so `go build` alone gives the whole product; run this only
# to update a library:
#
#   1. change the version in web/package.json
#   2. (cd web && npm install --ignore-scripts)   # refreshes the lock file
#   3. scripts/vendor-ui.sh
#   4. read the diff of VERSIONS, check the dashboard, commit web/ and
#      internal/dashboard/static/vendor/ together.
#
# Without arguments it installs exactly what the lock file says (npm ci).
# `scripts/vendor-ui.sh --check` fails when the committed files differ from
# what the lock file gives (for CI or a reviewer).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=internal/dashboard/static/vendor

(cd web && npm ci --ignore-scripts --no-audit --no-fund --silent)

dest=$out
if [ "${1:-}" = "--check" ]; then
  dest=$(mktemp -d)
  trap 'rm -rf "$dest"' EXIT
fi
mkdir -p "$dest"

nm=web/node_modules
cp "$nm/htmx.org/dist/htmx.min.js" "$dest/htmx.min.js"
cp "$nm/htmx.org/LICENSE" "$dest/htmx.LICENSE"
cp "$nm/uplot/dist/uPlot.iife.min.js" "$dest/uPlot.iife.min.js"
cp "$nm/uplot/dist/uPlot.min.css" "$dest/uPlot.min.css"
cp "$nm/uplot/LICENSE" "$dest/uPlot.LICENSE"
ver() { node -p "require('$root/$nm/$1/package.json').version"; }
{
  echo "# Written by scripts/vendor-ui.sh from web/package-lock.json; do not edit."
  echo "htmx.org $(ver htmx.org) 0BSD"
  echo "uplot $(ver uplot) MIT"
} >"$dest/VERSIONS"

if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$dest" "$out"; then
    echo "internal/dashboard/static/vendor differs from web/package-lock.json: run scripts/vendor-ui.sh" >&2
    exit 1
  fi
  echo "vendored UI assets match web/package-lock.json"
fi
