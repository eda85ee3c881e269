#!/usr/bin/env bash
# Create .venv with Python 3.11+ and install deputygraph with its test tools.
# Sourced by the other scripts; safe to run again (pip skips what is there).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"

find_python() {
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 or newer is required; install it and run this script again" >&2
    return 1
}

if [ ! -x "$venv/bin/python" ]; then
    "$(find_python)" -m venv "$venv"
fi

stamp="$venv/.deputygraph-installed"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e "$root[test]"
    touch "$stamp"
fi
