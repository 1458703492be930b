#!/usr/bin/env bash
# What authentication and the policy cost: the list-of-20 read served by
# restgate twice from the same SQLite file — once open, once requiring an
# HS256 JWT whose role reads under a row filter taken from a claim
# (`id=gte.{claims.min_id}`, which keeps every row, so both serve the same
# bytes) — measured with wrk in alternating rounds. Each round also sends
# the open server the same request with the token (which it ignores): the
# overhead over that one leaves out what the longer request costs the
# client and the kernel, and is the servers' work alone.
#
#   bash benches/auth.sh
#   ROUNDS=20 DURATION=5s bash benches/auth.sh
#
# Environment (defaults in brackets):
#   DURATION     wrk run length per round and server [3s]
#   ROUNDS       rounds, each running both servers, the order alternating
#                (open first in odd rounds, secured first in even ones) [10]
#   THREADS      wrk threads [2]
#   CONNECTIONS  wrk connections [32]
#
# Listens on and sends to 127.0.0.1 only; kills exactly the servers it
# started. See docs/benchmarks.md.

set -euo pipefail

DURATION=${DURATION:-3s}
ROUNDS=${ROUNDS:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
PATH_QUERY="/items?limit=20"

die() {
    echo "auth.sh: $*" >&2
    exit 1
}
command -v wrk >/dev/null 2>&1 || die "wrk is missing (apt-get install -y wrk, or run benches/http.sh once)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to mint the test JWT"
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || die "ROUNDS must be 1-99"

echo "== building restgate-bench (release)"
(cd "$ROOT" && cargo build --release -p restgate-bench --quiet)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/restgate-auth-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # NAME ARGS… → sets SERVER_URL (not in a subshell: PIDS must see the server)
    local name=$1 log="$WORK/$1.log" pid i addr
    "$BIN/restgate-bench-server" "${@:2}" --listen 127.0.0.1:0 >"$log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for ((i = 0; i < 100; i++)); do
        addr=$(grep -o "listening on http://127.0.0.1:[0-9]*" "$log" 2>/dev/null | head -n1 | sed 's/^listening on //') || true
        if [[ -n $addr ]]; then
            SERVER_URL=$addr
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "$name exited during startup"; }
        sleep 0.1
    done
    die "$name did not start"
}

SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
TOKEN=$(SECRET=$SECRET python3 - <<'PY'
import base64, hashlib, hmac, json, os, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"role": "bench", "min_id": 0, "exp": int(time.time()) + 3600}).encode())
sig = hmac.new(os.environ["SECRET"].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
print(f"{head}.{body}.{b64(sig)}")
PY
)

"$BIN/restgate-bench-seed" --db "$WORK/bench.db" >/dev/null
start open --db "$WORK/bench.db"
OPEN=$SERVER_URL
start secured --db "$WORK/bench.db" --jwt-secret "$SECRET"
SECURED=$SERVER_URL

# Same body from both; the secured one refuses a request without the token.
a=$(curl -fsS "$OPEN$PATH_QUERY")
b=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$SECURED$PATH_QUERY")
[[ $a == "$b" ]] || die "the two servers answer differently"
code=$(curl -s -o /dev/null -w '%{http_code}' "$SECURED$PATH_QUERY")
[[ $code == 401 ]] || die "the secured server answered $code without a token"
echo "== identical bodies ($(printf %s "$a" | wc -c) bytes); 401 without a token"

run() { # URL [HEADER] → req/s
    local out
    if [[ $# -gt 1 ]]; then
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "$2" "$1$PATH_QUERY")
    else
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$1$PATH_QUERY")
    fi
    grep -q "Non-2xx" <<<"$out" && die "non-2xx answers: $out"
    awk '/Requests\/sec/ {print $2}' <<<"$out"
}

wrk -t1 -c4 -d2s "$OPEN$PATH_QUERY" >/dev/null
wrk -t1 -c4 -d2s -H "Authorization: Bearer $TOKEN" "$SECURED$PATH_QUERY" >/dev/null
printf "%-6s %12s %12s %12s %9s %9s\n" round "open" "open+token" "secured" overhead "same-req"
total_o=0
total_t=0
total_s=0
overheads=()
for ((r = 1; r <= ROUNDS; r++)); do
    # Alternate the order, so drift in the machine's speed does not always
    # favour the same server.
    if ((r % 2)); then
        o=$(run "$OPEN")
        t=$(run "$OPEN" "Authorization: Bearer $TOKEN")
        s=$(run "$SECURED" "Authorization: Bearer $TOKEN")
    else
        s=$(run "$SECURED" "Authorization: Bearer $TOKEN")
        t=$(run "$OPEN" "Authorization: Bearer $TOKEN")
        o=$(run "$OPEN")
    fi
    total_o=$(python3 -c "print($total_o + $o)")
    total_t=$(python3 -c "print($total_t + $t)")
    total_s=$(python3 -c "print($total_s + $s)")
    overhead=$(python3 -c "print(100 * (1 - $s / $o))")
    overheads+=("$overhead")
    printf "%-6s %12s %12s %12s %8.1f%% %8.1f%%\n" "$r" "$o" "$t" "$s" "$overhead" "$(python3 -c "print(100 * (1 - $s / $t))")"
done
printf "%-6s %12.0f %12.0f %12.0f %8.1f%% %8.1f%%\n" mean "$(python3 -c "print($total_o / $ROUNDS)")" "$(python3 -c "print($total_t / $ROUNDS)")" \
    "$(python3 -c "print($total_s / $ROUNDS)")" "$(python3 -c "print(100 * (1 - $total_s / $total_o))")" \
    "$(python3 -c "print(100 * (1 - $total_s / $total_t))")"
printf "%-6s %12s %12s %12s %8.1f%%\n" median "" "" "" "$(python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "${overheads[@]}")"
# The rounds' overheads as a sample: their mean and a 95 % confidence
# interval (Student's t), which says whether the machine's noise allows a
# conclusion at all.
python3 - "${overheads[@]}" <<'PY'
import statistics, sys
xs = [float(x) for x in sys.argv[1:]]
if len(xs) > 1:
    t = [12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13, 2.12, 2.11, 2.10, 2.09, 2.09]
    q = t[len(xs) - 2] if len(xs) - 2 < len(t) else 2.0
    half = q * statistics.stdev(xs) / len(xs) ** 0.5
    m = statistics.mean(xs)
    print(f"rounds' mean overhead {m:.1f}% ± {half:.1f}% (95 % confidence: {m - half:.1f}% to {m + half:.1f}%)")
PY
echo "(overhead = 1 - secured/open req/s: authentication, the policy and its row filter, and the longer"
echo " request; same-req = 1 - secured/open+token: the same request bytes to both, the servers' work alone;"
echo " mean = over all rounds' requests, median = of the rounds' overheads)"
