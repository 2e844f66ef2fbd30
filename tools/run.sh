#!/usr/bin/env bash
# Runs the service on one node: embedded SQLite under ./data (of the directory you run it from), listening on
# http://127.0.0.1:8080 unless --urls says otherwise. Extra arguments go to the service (e.g. --urls, --Workers:Codex 8).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/tools/install-clis.sh"
dotnet build "$root/Api" -c Release --nologo -v quiet >&2
exec dotnet "$root/Api/bin/Release/net10.0/OrleansCodex.Api.dll" "$@"
