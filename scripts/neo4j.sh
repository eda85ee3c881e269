#!/usr/bin/env bash
# Run a local Neo4j Community server on 127.0.0.1 for deputygraph's tests and
# for Neo4j Browser, without Docker.
#
# Usage: scripts/neo4j.sh start|stop|status|wait
#
# start   Fetch the server jars with Maven (first run only), write neo4j.conf,
#         set the initial password of a new database and start the server in
#         the background. A no-op when the server is already running.
# wait    Poll until a Bolt query (RETURN 1) succeeds, or fail after
#         DEPUTY_NEO4J_WAIT_TIMEOUT seconds and print the end of the logs.
# stop    Send SIGTERM and wait for the server to exit.
# status  Print whether the server runs. Exit code 0 if it does, 3 if not.
#
# Environment (defaults in brackets):
#   NEO4J_PASSWORD             password of user neo4j [deputygraph-test]
#   DEPUTY_NEO4J_BOLT_PORT     Bolt port on 127.0.0.1 [7687]
#   DEPUTY_NEO4J_HTTP_PORT     HTTP port on 127.0.0.1 [7474]
#   DEPUTY_NEO4J_CACHE         jar cache [~/.cache/deputygraph/neo4j-VERSION]
#   DEPUTY_NEO4J_HOME          conf, data, logs and pid file [REPO/.neo4j]
#   DEPUTY_NEO4J_HEAP          JVM heap, as for java -Xmx [1g]
#   DEPUTY_NEO4J_PAGECACHE     page cache size [512m]
#   DEPUTY_NEO4J_WAIT_TIMEOUT  seconds that `wait` polls [180]
#   DEPUTY_NEO4J_STOP_TIMEOUT  seconds that `stop` waits after SIGTERM [60]
# docs/neo4j-local.md describes the files and how to reset the database.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pom="$root/neo4j/pom.xml"

# Entry points inside the jars that neo4j/pom.xml resolves.
server_main_class="org.neo4j.server.CommunityEntryPoint"
admin_main_class="org.neo4j.cli.AdminTool"

log() {
    echo "neo4j.sh: $*" >&2
}

fail() {
    log "error: $*"
    exit 1
}

read_neo4j_version() {
    local version
    version="$(sed -n 's:.*<neo4j\.version>\([^<]*\)</neo4j\.version>.*:\1:p' "$pom")"
    if [ -z "$version" ]; then
        fail "no <neo4j.version> property found in $pom"
    fi
    echo "$version"
}

check_port() {
    local name="$1" value="$2"
    if ! [[ "$value" =~ ^[0-9]+$ ]] || [ "$value" -lt 1 ] || [ "$value" -gt 65535 ]; then
        fail "invalid $name '$value': expected a TCP port number from 1 to 65535"
    fi
}

check_size() {
    local name="$1" value="$2"
    if ! [[ "$value" =~ ^[0-9]+[kmgKMG]?$ ]]; then
        fail "invalid $name '$value': expected a byte count with an optional k, m or g suffix, such as 512m"
    fi
}

check_seconds() {
    local name="$1" value="$2"
    if ! [[ "$value" =~ ^[0-9]+$ ]] || [ "$value" -lt 1 ]; then
        fail "invalid $name '$value': expected a whole number of seconds, 1 or more"
    fi
}

load_settings() {
    neo4j_version="$(read_neo4j_version)"
    cache_dir="${DEPUTY_NEO4J_CACHE:-${HOME:?HOME is not set}/.cache/deputygraph/neo4j-$neo4j_version}"
    home_dir="${DEPUTY_NEO4J_HOME:-$root/.neo4j}"
    # Absolute paths, because the server runs from $home_dir and because
    # running_pid matches the --home-dir argument literally.
    case "$cache_dir" in /*) ;; *) cache_dir="$PWD/$cache_dir" ;; esac
    case "$home_dir" in /*) ;; *) home_dir="$PWD/$home_dir" ;; esac
    lib_dir="$cache_dir/lib"
    conf_dir="$home_dir/conf"
    logs_dir="$home_dir/logs"
    pid_file="$home_dir/run/neo4j.pid"
    start_marker="$home_dir/run/last-start"
    console_log="$logs_dir/console.log"

    bolt_port="${DEPUTY_NEO4J_BOLT_PORT:-7687}"
    http_port="${DEPUTY_NEO4J_HTTP_PORT:-7474}"
    password="${NEO4J_PASSWORD:-deputygraph-test}"
    heap_size="${DEPUTY_NEO4J_HEAP:-1g}"
    pagecache_size="${DEPUTY_NEO4J_PAGECACHE:-512m}"
    wait_timeout="${DEPUTY_NEO4J_WAIT_TIMEOUT:-180}"
    stop_timeout="${DEPUTY_NEO4J_STOP_TIMEOUT:-60}"

    check_port DEPUTY_NEO4J_BOLT_PORT "$bolt_port"
    check_port DEPUTY_NEO4J_HTTP_PORT "$http_port"
    if [ "$bolt_port" = "$http_port" ]; then
        fail "DEPUTY_NEO4J_BOLT_PORT and DEPUTY_NEO4J_HTTP_PORT are both $bolt_port. Give them different ports"
    fi
    check_size DEPUTY_NEO4J_HEAP "$heap_size"
    check_size DEPUTY_NEO4J_PAGECACHE "$pagecache_size"
    check_seconds DEPUTY_NEO4J_WAIT_TIMEOUT "$wait_timeout"
    check_seconds DEPUTY_NEO4J_STOP_TIMEOUT "$stop_timeout"
}

# Print the pid of the server that runs from $home_dir, or return 1 if none does.
# The command line is compared too, so a stale pid file whose pid now belongs
# to another process does not count.
running_pid() {
    local pid args
    [ -f "$pid_file" ] || return 1
    pid="$(cat "$pid_file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    args="$(ps -ww -o args= -p "$pid" 2>/dev/null)" || return 1
    case "$args" in
        *"$server_main_class --home-dir=$home_dir "*) echo "$pid" ;;
        *) return 1 ;;
    esac
}

port_accepts_connections() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

find_java() {
    local java version_line major
    java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
    if ! command -v "$java" >/dev/null 2>&1; then
        fail "java not found. Neo4j $neo4j_version needs Java 17 or 21 (Debian: apt-get install openjdk-17-jre-headless)"
    fi
    version_line="$("$java" -XshowSettings:properties -version 2>&1 | grep 'java.specification.version' || true)"
    major="${version_line##*= }"
    if ! [[ "$major" =~ ^[0-9]+$ ]] || [ "$major" -lt 17 ]; then
        fail "$java is Java '${major:-unknown}', but Neo4j $neo4j_version needs Java 17 or 21. Set JAVA_HOME to such a JDK"
    fi
    echo "$java"
}

# Copy the jars into $lib_dir unless a copy made from the same pom.xml is
# there. Maven writes into a temporary folder that is renamed at the end, so an
# interrupted download never leaves a partial lib folder behind.
ensure_jars() {
    local stamp="$lib_dir/.deputygraph-pom.sha256" maven_log="$cache_dir/maven.log" pom_hash staging
    pom_hash="$(sha256sum "$pom" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pom_hash" ]; then
        return 0
    fi

    if ! command -v mvn >/dev/null 2>&1; then
        fail "mvn not found. Maven fetches the Neo4j jars on the first start (Debian: apt-get install maven)"
    fi
    mkdir -p "$cache_dir"
    staging="$(mktemp -d "$cache_dir/lib.partial.XXXXXX")"
    log "fetching Neo4j $neo4j_version jars with Maven into $lib_dir, which later starts reuse"
    if ! mvn -f "$pom" -B -q dependency:copy-dependencies -Dneo4j.lib.dir="$staging" >"$maven_log" 2>&1; then
        rm -rf "$staging"
        log "last lines of $maven_log:"
        tail -n 40 "$maven_log" >&2
        fail "Maven could not resolve the jars listed in $pom. Its output is above"
    fi
    if [ ! -f "$staging/neo4j-$neo4j_version.jar" ]; then
        rm -rf "$staging"
        fail "Maven finished but $staging has no neo4j-$neo4j_version.jar, which contains $server_main_class"
    fi
    echo "$pom_hash" >"$staging/.deputygraph-pom.sha256"
    rm -rf "$lib_dir"
    mv "$staging" "$lib_dir"
}

write_conf() {
    mkdir -p "$conf_dir"
    cat >"$conf_dir/neo4j.conf" <<EOF
# Written by scripts/neo4j.sh on every start: edits here are overwritten.
# Relative paths (data, logs, import, plugins) are under $home_dir.

# Listen on loopback only, and advertise the same addresses so that Browser
# and drivers that read the discovery document at / connect to these ports.
server.default_listen_address=127.0.0.1
server.default_advertised_address=127.0.0.1
server.bolt.listen_address=127.0.0.1:$bolt_port
server.bolt.advertised_address=127.0.0.1:$bolt_port
server.http.listen_address=127.0.0.1:$http_port
server.http.advertised_address=127.0.0.1:$http_port
server.https.enabled=false

# The heap is set by -Xms and -Xmx on the java command line, because the
# server is started without Neo4j's launcher, which would read the heap
# settings from this file.
server.memory.pagecache.size=$pagecache_size

# Without this, each database reserves its whole first transaction log file
# (256 MiB by default) on disk up front, so an almost empty test server
# would take over 500 MiB.
db.tx_log.preallocate=false

# Turn off the server's usage reports, Browser's telemetry and Browser's
# downloads of guides from hosts other than this one.
dbms.usage_report.enabled=false
client.allow_telemetry=false
browser.remote_content_hostname_whitelist=localhost,127.0.0.1
EOF
}

# Set the password of user neo4j with the same command as
# `neo4j-admin dbms set-initial-password`. It writes data/dbms/auth.ini, which
# the server reads only when it creates the system database, so it runs only
# while that database does not exist yet.
set_initial_password() {
    local java="$1"
    if [ -d "$home_dir/data/databases/system" ]; then
        return 0
    fi
    # NOTE: the admin command takes the password as an argument, so it is
    # visible in the process list for the second or two that it runs.
    if ! NEO4J_HOME="$home_dir" NEO4J_CONF="$conf_dir" \
        "$java" -cp "$lib_dir/*" "$admin_main_class" dbms set-initial-password "$password" >/dev/null; then
        fail "setting the initial password failed (Neo4j requires at least 8 characters). The message is above"
    fi
}

# Print the end of each log that the latest start wrote to. neo4j.log keeps
# the lines of earlier runs, so a log older than the start marker is skipped.
print_log_tail() {
    local file
    for file in "$logs_dir/neo4j.log" "$console_log"; do
        if [ -s "$file" ] && { [ ! -e "$start_marker" ] || [ "$file" -nt "$start_marker" ]; }; then
            log "last lines of $file:"
            tail -n 30 "$file" >&2
        fi
    done
    log "details, if any, are in $logs_dir/debug.log"
}

cmd_start() {
    local pid java
    if pid="$(running_pid)"; then
        log "already running as pid $pid (Bolt 127.0.0.1:$bolt_port, HTTP 127.0.0.1:$http_port), so start does nothing"
        return 0
    fi
    rm -f "$pid_file"

    local port
    for port in "$bolt_port" "$http_port"; do
        if port_accepts_connections "$port"; then
            fail "port $port on 127.0.0.1 is already in use by another process. Stop it, or choose other ports with DEPUTY_NEO4J_BOLT_PORT and DEPUTY_NEO4J_HTTP_PORT"
        fi
    done

    java="$(find_java)"
    ensure_jars
    write_conf
    set_initial_password "$java"

    mkdir -p "$logs_dir" "$(dirname "$pid_file")"
    touch "$start_marker"
    cd "$home_dir"
    local jvm_options=(
        "-Xms$heap_size" "-Xmx$heap_size"
        -XX:+ExitOnOutOfMemoryError
        "-XX:ErrorFile=$logs_dir/hs_err_pid%p.log"
        # Let the page cache and Netty reach JDK internals. Without these,
        # Neo4j warns in debug.log and falls back to slower code paths.
        --add-opens=java.base/java.nio=ALL-UNNAMED
        --add-opens=java.base/java.io=ALL-UNNAMED
        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
        -Dio.netty.tryReflectionSetAccessible=true
    )

    # setsid puts the server in its own session, so a Ctrl-C or the end of the
    # calling shell's job does not stop it. The inner shell writes its own pid
    # and then becomes java through exec, so the pid file contains the JVM's pid.
    # shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner shell.
    setsid bash -c 'echo "$$" >"$0"; exec "$@"' "$pid_file" \
        "$java" "${jvm_options[@]}" -cp "$lib_dir/*" \
        "$server_main_class" --home-dir="$home_dir" --config-dir="$conf_dir" \
        >"$console_log" 2>&1 </dev/null &

    # Give the JVM a moment, so that a bad flag or a missing class is reported
    # here and not only by `wait`.
    sleep 1
    if ! pid="$(running_pid)"; then
        log "error: the server exited right after it started"
        print_log_tail
        exit 1
    fi
    log "started Neo4j $neo4j_version as pid $pid (home $home_dir). Run 'scripts/neo4j.sh wait' to wait for Bolt"
}

# Return 0 if a Bolt session can run RETURN 1, 2 if the server rejected the
# password and 1 for any other failure.
bolt_check() {
    local python="$root/.venv/bin/python"
    DEPUTY_NEO4J_CHECK_PASSWORD="$password" "$python" - "bolt://127.0.0.1:$bolt_port" <<'EOF'
import os
import sys

from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, DriverError, Neo4jError

auth = ("neo4j", os.environ["DEPUTY_NEO4J_CHECK_PASSWORD"])
try:
    with GraphDatabase.driver(sys.argv[1], auth=auth, connection_timeout=5) as driver:
        driver.execute_query("RETURN 1")
except AuthError as error:
    print(error, file=sys.stderr)
    sys.exit(2)
except (DriverError, Neo4jError, OSError) as error:
    print(error, file=sys.stderr)
    sys.exit(1)
EOF
}

cmd_wait() {
    local python="$root/.venv/bin/python" deadline status output=""
    if ! "$python" -c 'import neo4j' 2>/dev/null; then
        fail "$python cannot import the neo4j driver. Run scripts/bootstrap.sh first"
    fi

    deadline=$((SECONDS + wait_timeout))
    while :; do
        if ! running_pid >/dev/null; then
            log "error: the server is not running (no live process in $pid_file)"
            print_log_tail
            exit 1
        fi
        if port_accepts_connections "$bolt_port"; then
            status=0
            output="$(bolt_check 2>&1)" || status=$?
            if [ "$status" -eq 0 ]; then
                log "ready: bolt://127.0.0.1:$bolt_port and http://127.0.0.1:$http_port/browser/ after about $((SECONDS + wait_timeout - deadline)) s"
                return 0
            fi
            if [ "$status" -eq 2 ]; then
                fail "the server rejected user neo4j with NEO4J_PASSWORD: $output. The database in $home_dir/data keeps the password it was created with. Use that one, or reset the database as docs/neo4j-local.md describes"
            fi
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "error: Bolt on 127.0.0.1:$bolt_port did not answer within $wait_timeout s${output:+ (last error: $output)}"
            print_log_tail
            exit 1
        fi
        sleep 1
    done
}

cmd_stop() {
    local pid deadline
    if ! pid="$(running_pid)"; then
        rm -f "$pid_file"
        log "not running, so stop does nothing"
        return 0
    fi

    log "stopping pid $pid with SIGTERM"
    kill -TERM "$pid"
    deadline=$((SECONDS + stop_timeout))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "error: pid $pid did not exit within $stop_timeout s of SIGTERM and still runs"
            print_log_tail
            log "to force it: kill -KILL $pid (the next start then runs recovery)"
            exit 1
        fi
        sleep 0.5
    done
    rm -f "$pid_file"
    log "stopped after about $((SECONDS + stop_timeout - deadline)) s"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        echo "running: pid $pid, bolt://127.0.0.1:$bolt_port, http://127.0.0.1:$http_port/browser/, home $home_dir"
        return 0
    fi
    echo "not running (home $home_dir)"
    return 3
}

main() {
    if [ "$#" -ne 1 ]; then
        echo "usage: $0 start|stop|status|wait" >&2
        exit 2
    fi
    load_settings
    case "$1" in
        start) cmd_start ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        wait) cmd_wait ;;
        *)
            echo "usage: $0 start|stop|status|wait (got '$1')" >&2
            exit 2
            ;;
    esac
}

main "$@"
