#!/usr/bin/env bash
# Runs the service on one node: embedded SQLite under ./data, listening on http://127.0.0.1:8080 unless --urls says otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/tools/install-clis.sh"
exec dotnet run --project "$root/Api" -c Release -- "$@"
