#!/usr/bin/env bash
# Install deputygraph with its test tools into .venv, start the local Neo4j server
# (scripts/neo4j.sh), then lint, type-check and run the whole test suite. Extra
# arguments go to pytest. A Neo4j server this script started is stopped at the end.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
cd "$root"

export NEO4J_PASSWORD="${NEO4J_PASSWORD:-deputygraph-test}"
# The tests reach the server that scripts/neo4j.sh starts, on its Bolt port.
export NEO4J_URI="${NEO4J_URI:-bolt://127.0.0.1:${DEPUTY_NEO4J_BOLT_PORT:-7687}}"
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

# The HTML report test renders in headless Chromium. It skips without Chromium, except
# under CI, so a CI machine that runs as root with apt gets Debian's package here.
if [ -n "${CI:-}" ] && ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

bin="$root/.venv/bin"
"$bin/ruff" check .
"$bin/ruff" format --check .
"$bin/mypy"
"$bin/pytest" "$@"
