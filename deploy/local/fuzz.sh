#!/usr/bin/env bash
# Run every fuzz target in the module for a short time each.
# Usage: deploy/local/fuzz.sh [fuzztime]   (default 15s)
set -euo pipefail
fuzztime="${1:-15s}"
cd "$(dirname "$0")/../.."
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
