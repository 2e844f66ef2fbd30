#!/usr/bin/env bash
# Installs the pinned Codex and Claude Code CLIs into tools/node_modules, once per lock file change.
set -euo pipefail
tools="$(cd "$(dirname "$0")" && pwd)"
stamp="$tools/node_modules/.orleanscodex-lock"
if [ -f "$stamp" ] && cmp -s "$stamp" "$tools/package-lock.json"; then
  exit 0
fi
(cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
# Claude's postinstall links its native binary; newer npm versions may skip install scripts, so run it explicitly if needed.
if ! "$tools/node_modules/@anthropic-ai/claude-code/bin/claude.exe" --version >/dev/null 2>&1; then
  (cd "$tools" && node node_modules/@anthropic-ai/claude-code/install.cjs)
fi
cp "$tools/package-lock.json" "$stamp"
