#!/usr/bin/env bash
# Install deputygraph with its test tools into .venv, start the local Neo4j server
# (scripts/neo4j.sh), then lint, type-check and run the whole test suite. Extra
# arguments go to pytest. A Neo4j server this script started is stopped at the end.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
cd "$root"

export NEO4J_PASSWORD="${NEO4J_PASSWORD:-deputygraph-test}"
started_neo4j=0
if ! bash scripts/neo4j.sh status >/dev/null 2>&1; then
    bash scripts/neo4j.sh start
    started_neo4j=1
fi
stop_neo4j() {
    if [ "$started_neo4j" = 1 ]; then
        bash scripts/neo4j.sh stop || true
    fi
}
trap stop_neo4j EXIT
bash scripts/neo4j.sh wait

bin="$root/.venv/bin"
"$bin/ruff" check .
"$bin/ruff" format --check .
"$bin/mypy"
"$bin/pytest" "$@"
