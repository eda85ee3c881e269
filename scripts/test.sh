#!/usr/bin/env bash
# Install deputygraph with its test tools into .venv, then lint, type-check
# and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
cd "$root"

bin="$root/.venv/bin"
"$bin/ruff" check .
"$bin/ruff" format --check .
"$bin/mypy"
"$bin/pytest" "$@"
