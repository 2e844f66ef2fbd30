#!/usr/bin/env bash
# Runs every test: installs the pinned CLIs (tools/package-lock.json), builds, and runs all test projects against real
# CLIs, a stub model server on 127.0.0.1 and a throw-away PostgreSQL the tests start themselves.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/tools/install-clis.sh"
"$root/tools/install-browser.sh"
results="$root/artifacts/test-results"
rm -rf "$results"
dotnet test OrleansCodex.sln -c Release --logger trx --results-directory "$results" "$@"
