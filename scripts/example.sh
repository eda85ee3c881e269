#!/usr/bin/env bash
# Install deputygraph into .venv and analyse the bundled example snapshot on the
# embedded graph. Extra arguments go to `deputy analyze` (for example --format json).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
exec "$root/.venv/bin/deputy" analyze "$root/examples/shared-hr-agent" "$@"
