#!/usr/bin/env bash
# HTTP benchmark: restgate vs. a hand-written axum + sqlx server, same
# database, same pool settings, same requests, measured with wrk; on SQLite,
# PostgreSQL and MySQL/MariaDB.
#
#   bash benches/http.sh
#   BACKENDS=sqlite bash benches/http.sh
#   DURATION=30s CONNECTIONS=64 THREADS=2 bash benches/http.sh
#   SCENARIOS="by_pk filtered" bash benches/http.sh
#   SCENARIOS=embed BACKENDS="sqlite postgres" DURATION=5s bash benches/http.sh
#
# Environment (defaults in brackets):
#   DURATION     wrk run length per scenario and server [10s]
#   THREADS      wrk threads [2]
#   CONNECTIONS  wrk connections [32]
#   WARMUP       warm-up per server before the first scenario [2s]
#   SCENARIOS    which scenarios, in order [list_20 by_pk filtered insert embed]
#   BACKENDS     databases to run against [sqlite postgres mysql]
#   RESTGATE_POSTGRES_URL  the PostgreSQL database (local only) for the
#                postgres backend [postgres://postgres@127.0.0.1:5432/test];
#                two schemas rg_bench_<pid>_a/_b are created there and dropped
#                on exit. If it is unreachable, that backend is skipped.
#   RESTGATE_MYSQL_URL  the MySQL/MariaDB server (local only) for the mysql
#                backend [mysql://root@127.0.0.1:3306/test]; its database part
#                is replaced: two databases rg_bench_<pid>_a/_b are created
#                there and dropped on exit. If it is unreachable, that backend
#                is skipped.
#   RESULTS_DIR  if set, the raw wrk outputs and server logs are kept there
#
# Everything listens on and is sent to 127.0.0.1 only. The script starts the
# two servers per backend itself (on free ports chosen by the OS), kills
# exactly those processes on exit, and exits non-zero if a server fails to
# start or if every requested backend was skipped.
# See docs/benchmarks.md.

set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-2s}
SCENARIOS=${SCENARIOS:-"list_20 by_pk filtered insert embed"}
BACKENDS=${BACKENDS:-"sqlite postgres mysql"}
PG_URL=${RESTGATE_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
MYSQL_URL=${RESTGATE_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
RESULTS_DIR=${RESULTS_DIR:-}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
HOST=127.0.0.1

die() {
    echo "http.sh: $*" >&2
    exit 1
}

# "10s" / "10" / "1m" → seconds.
seconds() {
    local v=$1
    case $v in
        *m) echo $((${v%m} * 60)) ;;
        *s) echo "${v%s}" ;;
        *) echo "$v" ;;
    esac
}

for backend in $BACKENDS; do
    case $backend in
        sqlite | postgres | mysql) ;;
        *) die "unsupported backend '$backend' (available: sqlite postgres mysql)" ;;
    esac
done

for n in "$THREADS" "$CONNECTIONS" "$(seconds "$DURATION")" "$(seconds "$WARMUP")"; do
    [[ $n =~ ^[0-9]+$ ]] || die "DURATION/WARMUP must be like 10s or 1m, THREADS/CONNECTIONS integers"
done
(($(seconds "$DURATION") > 0 && $(seconds "$DURATION") <= 600)) || die "DURATION must be between 1s and 10m"
((CONNECTIONS >= THREADS && CONNECTIONS <= 1024)) || die "CONNECTIONS must be >= THREADS and <= 1024"

# --- (a) wrk ---------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    echo "== installing wrk"
    SUDO=
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "wrk is missing and installing it needs root (apt-get install -y wrk)"
        SUDO=sudo
    fi
    if ! $SUDO apt-get install -y wrk >/dev/null 2>&1; then
        $SUDO apt-get update >/dev/null
        $SUDO apt-get install -y wrk >/dev/null
    fi
    command -v wrk >/dev/null 2>&1 || die "could not install wrk"
fi

# --- (b) build -------------------------------------------------------------
echo "== building restgate-bench (release)"
(cd "$ROOT" && cargo build --release -p restgate-bench --quiet)
for b in restgate-bench-seed restgate-bench-server baseline-server; do
    [[ -x $BIN/$b ]] || die "missing $BIN/$b after the build"
done

# --- process bookkeeping -----------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/restgate-http-bench.XXXXXX")
PIDS=()
PG_SCHEMAS=() # PostgreSQL schemas this run created (or is creating), dropped on exit
MYSQL_DBS=()  # MySQL databases this run created (or is creating), dropped on exit

stop_servers() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}

drop_pg_schemas() {
    local schema
    for schema in ${PG_SCHEMAS[@]+"${PG_SCHEMAS[@]}"}; do
        timeout 30 "$BIN/restgate-bench-seed" --db "$PG_URL" --schema "$schema" --drop >/dev/null 2>&1 ||
            echo "http.sh: could not drop PostgreSQL schema $schema (drop it by hand)" >&2
    done
    PG_SCHEMAS=()
}

drop_mysql_dbs() {
    local db
    for db in ${MYSQL_DBS[@]+"${MYSQL_DBS[@]}"}; do
        timeout 30 "$BIN/restgate-bench-seed" --db "$(mysql_url_with_db "$MYSQL_URL" "$db")" --drop >/dev/null 2>&1 ||
            echo "http.sh: could not drop MySQL database $db (drop it by hand)" >&2
    done
    MYSQL_DBS=()
}

cleanup() {
    stop_servers
    drop_pg_schemas
    drop_mysql_dbs
    if [[ -n $RESULTS_DIR ]]; then
        mkdir -p "$RESULTS_DIR"
        cp "$WORK"/*.txt "$WORK"/*.log "$WORK"/*.json "$RESULTS_DIR"/ 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME BINARY ARGS... → sets SERVER_URL; exits if the server does not come up.
start_server() {
    local name=$1 binary=$2 log="$WORK/$1.log" pid i addr
    "$BIN/$binary" "${@:3}" --listen "$HOST:0" >"$log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for ((i = 0; i < 100; i++)); do
        addr=$(grep -o "listening on http://$HOST:[0-9]*" "$log" 2>/dev/null | head -n1 | sed 's/^listening on //') || true
        if [[ -n $addr ]]; then
            SERVER_URL=$addr
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$log" >&2
            die "$name ($binary) exited during startup"
        fi
        sleep 0.1
    done
    cat "$log" >&2
    die "$name ($binary) did not start listening within 10 s"
}

# The host part of a postgres:// or mysql:// URL ("" when it names none, i.e. the local socket).
pg_url_host() {
    local rest=${1#*://}
    rest=${rest%%[/?]*} # authority
    rest=${rest##*@}    # without user:password@
    case $rest in
        \[*)
            rest=${rest%%]*}
            echo "${rest#[}"
            ;;
        *) echo "${rest%%:*}" ;;
    esac
}

# A mysql:// URL with its database part replaced by $2 (options kept).
mysql_url_with_db() {
    local url=$1 db=$2 scheme rest authority query=
    scheme=${url%%://*}
    rest=${url#*://}
    authority=${rest%%[/?]*}
    case $rest in *\?*) query="?${rest#*\?}" ;; esac
    echo "$scheme://$authority/$db$query"
}

# Seeds a fresh database per server so inserts don't interfere, starts both.
# Sets RESTGATE_URL and BASELINE_URL; returns 1 (after saying why) when the
# backend has to be skipped.
start_backend() {
    local backend=$1 a b rc
    case $backend in
        sqlite)
            "$BIN/restgate-bench-seed" --db "$WORK/restgate.db" >/dev/null || die "seeding $WORK/restgate.db failed"
            "$BIN/restgate-bench-seed" --db "$WORK/baseline.db" >/dev/null || die "seeding $WORK/baseline.db failed"
            start_server sqlite-restgate restgate-bench-server --db "$WORK/restgate.db"
            RESTGATE_URL=$SERVER_URL
            start_server sqlite-baseline baseline-server --db "$WORK/baseline.db"
            BASELINE_URL=$SERVER_URL
            ;;
        postgres)
            case $PG_URL in postgres://* | postgresql://*) ;; *) die "RESTGATE_POSTGRES_URL must be a postgres:// URL" ;; esac
            case $(pg_url_host "$PG_URL") in
                "" | 127.0.0.1 | localhost | ::1) ;;
                *)
                    echo "== postgres: SKIPPED: RESTGATE_POSTGRES_URL must point at a local server (127.0.0.1, localhost, ::1)" >&2
                    return 1
                    ;;
            esac
            a=rg_bench_$$_a
            b=rg_bench_$$_b
            PG_SCHEMAS+=("$a" "$b")
            rc=0
            timeout 120 "$BIN/restgate-bench-seed" --db "$PG_URL" --schema "$a" >/dev/null 2>"$WORK/pg-seed.log" || rc=$?
            if ((rc == 3 || rc == 124)); then
                PG_SCHEMAS=()
                echo "== postgres: SKIPPED: PostgreSQL is unreachable at $PG_URL (set RESTGATE_POSTGRES_URL)" >&2
                sed 's/^/   /' "$WORK/pg-seed.log" >&2
                return 1
            elif ((rc != 0)); then
                cat "$WORK/pg-seed.log" >&2
                die "seeding PostgreSQL schema $a failed"
            fi
            timeout 120 "$BIN/restgate-bench-seed" --db "$PG_URL" --schema "$b" >/dev/null || die "seeding PostgreSQL schema $b failed"
            start_server postgres-restgate restgate-bench-server --db "$PG_URL" --schema "$a"
            RESTGATE_URL=$SERVER_URL
            start_server postgres-baseline baseline-server --db "$PG_URL" --schema "$b"
            BASELINE_URL=$SERVER_URL
            ;;
        mysql)
            case $MYSQL_URL in mysql://* | mariadb://*) ;; *) die "RESTGATE_MYSQL_URL must be a mysql:// URL" ;; esac
            case $(pg_url_host "$MYSQL_URL") in
                "" | 127.0.0.1 | localhost | ::1) ;;
                *)
                    echo "== mysql: SKIPPED: RESTGATE_MYSQL_URL must point at a local server (127.0.0.1, localhost, ::1)" >&2
                    return 1
                    ;;
            esac
            a=rg_bench_$$_a
            b=rg_bench_$$_b
            MYSQL_DBS+=("$a" "$b")
            rc=0
            timeout 120 "$BIN/restgate-bench-seed" --db "$(mysql_url_with_db "$MYSQL_URL" "$a")" >/dev/null 2>"$WORK/mysql-seed.log" || rc=$?
            if ((rc == 3 || rc == 124)); then
                MYSQL_DBS=()
                echo "== mysql: SKIPPED: MySQL/MariaDB is unreachable at $MYSQL_URL (set RESTGATE_MYSQL_URL)" >&2
                sed 's/^/   /' "$WORK/mysql-seed.log" >&2
                return 1
            elif ((rc != 0)); then
                cat "$WORK/mysql-seed.log" >&2
                die "seeding MySQL database $a failed"
            fi
            timeout 120 "$BIN/restgate-bench-seed" --db "$(mysql_url_with_db "$MYSQL_URL" "$b")" >/dev/null || die "seeding MySQL database $b failed"
            start_server mysql-restgate restgate-bench-server --db "$(mysql_url_with_db "$MYSQL_URL" "$a")"
            RESTGATE_URL=$SERVER_URL
            start_server mysql-baseline baseline-server --db "$(mysql_url_with_db "$MYSQL_URL" "$b")"
            BASELINE_URL=$SERVER_URL
            ;;
        *) die "unsupported backend '$backend' (available: sqlite postgres mysql)" ;;
    esac
}

# --- wrk scripts ---------------------------------------------------------------
# Random primary keys; each wrk thread has its own deterministic sequence,
# identical for both servers.
cat >"$WORK/by_pk.lua" <<'LUA'
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("seed", threads)
end
function init(args)
    math.randomseed(7919 * (seed or 1))
end
function request()
    return wrk.format("GET", "/items?id=eq." .. math.random(1, 10000))
end
LUA

cat >"$WORK/insert.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"Bench item","category":"cat-0042","price":9.99,"in_stock":true}'
LUA

# The embed scenario: 20 orders by id, each with its customer (an object)
# and its items by id (an array), each item with its product (an object).
EMBED_PATH='/orders?select=*,customers(*),order_items(*,products(*))&order=id&order_items.order=id&limit=20'

# scenario NAME → "PATH_AND_QUERY [LUA_SCRIPT]"
scenario_request() {
    case $1 in
        list_20) echo "/items?limit=20" ;;
        by_pk) echo "/items?id=eq.1 $WORK/by_pk.lua" ;;
        filtered) echo "/items?category=eq.cat-0042&limit=10" ;;
        insert) echo "/items $WORK/insert.lua" ;;
        embed) echo "$EMBED_PATH" ;;
        *) die "unknown scenario '$1' (available: list_20 by_pk filtered insert embed)" ;;
    esac
}

# same_json FILE_A FILE_B → status 0 if both hold the same JSON value (object
# keys in any order, 7 and 7.0 equal, true and 1 not), 1 if not, 2 if there
# is no JSON tool.
same_json() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json, sys
from decimal import Decimal
def canon(v):  # exact numbers; booleans kept apart from 0/1
    if isinstance(v, bool): return ("bool", v)
    if isinstance(v, list): return [canon(x) for x in v]
    if isinstance(v, dict): return {k: canon(x) for k, x in v.items()}
    return v
a, b = (canon(json.load(open(f, encoding="utf-8"), parse_float=Decimal, parse_int=Decimal)) for f in sys.argv[1:3])
sys.exit(0 if a == b else 1)' "$1" "$2"
    elif command -v jq >/dev/null 2>&1; then
        # --slurp reads both files into one array; jq's == ignores key order.
        jq -e --slurp '.[0] == .[1]' "$1" "$2" >/dev/null
    else
        return 2
    fi
}

# Same answers from both servers before anything is measured: for each GET
# (the three item reads and the embed), byte-identical bodies, or failing
# that the same JSON value; a different value stops the script (both bodies
# are shown, and kept in RESULTS_DIR if set).
check_equivalence() {
    local backend=$1
    command -v curl >/dev/null 2>&1 || {
        echo "   (curl missing: skipping the response comparison)"
        return 0
    }
    local q a b n=0 rc
    for q in "/items?limit=20" "/items?id=eq.42" "/items?category=eq.cat-0042&limit=10" "$EMBED_PATH"; do
        n=$((n + 1))
        a=$WORK/$backend-body$n-restgate.json
        b=$WORK/$backend-body$n-baseline.json
        curl -sfg --max-time 5 -o "$a" "$RESTGATE_URL$q" || die "restgate: GET $q failed"
        curl -sfg --max-time 5 -o "$b" "$BASELINE_URL$q" || die "baseline: GET $q failed"
        if cmp -s "$a" "$b"; then
            echo "   GET $q: identical bodies ($(wc -c <"$a") bytes)"
            continue
        fi
        rc=0
        same_json "$a" "$b" || rc=$?
        case $rc in
            0) echo "   GET $q: same JSON, bytes differ (restgate $(wc -c <"$a"), baseline $(wc -c <"$b") bytes)" ;;
            2) echo "   GET $q: bodies differ bytewise and neither python3 nor jq is there to compare them as JSON" >&2 ;;
            *)
                {
                    echo "   GET $q: bodies DIFFER (restgate $(wc -c <"$a") bytes, baseline $(wc -c <"$b") bytes)"
                    echo "   restgate: $(head -c 2000 "$a")"
                    echo "   baseline: $(head -c 2000 "$b")"
                } >&2
                die "$backend: restgate and the baseline answer GET $q differently; not timing them"
                ;;
        esac
    done
}

# run_wrk OUT_FILE URL [SCRIPT] [DURATION]
run_wrk() {
    local out=$1 url=$2 script=${3:-} dur=${4:-$DURATION} args
    args=(-t"$THREADS" -c"$CONNECTIONS" -d"$dur" --timeout 5s --latency)
    [[ -n $script ]] && args+=(-s "$script")
    case $url in "http://$HOST:"*) ;; *) die "refusing to send load to $url" ;; esac
    timeout $(($(seconds "$dur") + 30)) wrk "${args[@]}" "$url" >"$out" 2>&1 || {
        cat "$out" >&2
        die "wrk failed against $url"
    }
}

# Requests/sec of a wrk output.
rps() { awk '/^Requests\/sec:/ {v = sprintf("%.0f", $2)} END {print (v == "" ? "-" : v)}' "$1"; }

# p99 latency of a wrk output, in ms.
p99_ms() {
    awk '$1 == "99%" {
        v = $2; n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
        p = sprintf("%.2f", n)
    }
    END {print (p == "" ? "-" : p)}' "$1"
}

# Failed requests of a wrk output: non-2xx/3xx responses plus socket errors.
failures() {
    awk '/Non-2xx or 3xx responses:/ {n += $NF}
         /Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10}
         END {print n + 0}' "$1"
}

# --- run ---------------------------------------------------------------------------
for s in $SCENARIOS; do
    scenario_request "$s" >/dev/null
done
echo "== $(nproc) cores; wrk -t$THREADS -c$CONNECTIONS -d$DURATION per scenario and server; backends: $BACKENDS"
ROWS=()
SKIPPED=()
for backend in $BACKENDS; do
    if ! start_backend "$backend"; then
        SKIPPED+=("$backend")
        continue
    fi
    echo "== $backend: restgate on $RESTGATE_URL, baseline on $BASELINE_URL"
    check_equivalence "$backend"
    if (($(seconds "$WARMUP") > 0)); then
        echo "   warming up ($WARMUP each)"
        run_wrk "$WORK/warmup-restgate.txt" "$RESTGATE_URL/items?limit=20" "" "$WARMUP"
        run_wrk "$WORK/warmup-baseline.txt" "$BASELINE_URL/items?limit=20" "" "$WARMUP"
    fi
    for s in $SCENARIOS; do
        read -r path script <<<"$(scenario_request "$s")"
        for server in restgate baseline; do
            url=$([[ $server == restgate ]] && echo "$RESTGATE_URL" || echo "$BASELINE_URL")
            echo "   $s: $server"
            run_wrk "$WORK/$backend-$s-$server.txt" "$url$path" "${script:-}"
        done
        r=$WORK/$backend-$s-restgate.txt
        b=$WORK/$backend-$s-baseline.txt
        ROWS+=("$backend $s $(rps "$r") $(rps "$b") $(p99_ms "$r") $(p99_ms "$b") $(failures "$r") $(failures "$b")")
    done
    # Stop this backend's servers (and drop its schemas/databases) before the next backend starts.
    stop_servers
    drop_pg_schemas
    drop_mysql_dbs
done
((${#ROWS[@]} > 0)) || die "no backend ran (skipped: ${SKIPPED[*]})"

# --- (f) table ---------------------------------------------------------------------
echo
printf "%-8s %-10s %14s %14s %7s %13s %13s %9s\n" backend scenario "restgate req/s" "baseline req/s" ratio "restgate p99" "baseline p99" failures
for row in "${ROWS[@]}"; do
    read -r backend s rr br rp bp rf bf <<<"$row"
    ratio=$(awk -v a="$rr" -v b="$br" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')
    printf "%-8s %-10s %14s %14s %7s %10s ms %10s ms %9s\n" "$backend" "$s" "$rr" "$br" "$ratio" "$rp" "$bp" "$rf/$bf"
done
echo "(ratio = restgate req/s / baseline req/s; failures = non-2xx + socket errors, restgate/baseline)"
if ((${#SKIPPED[@]} > 0)); then
    echo "(skipped: ${SKIPPED[*]})"
fi
