#!/usr/bin/env bash
# Signup benchmark: floods POST /api/signup of the release `estrade serve`
# with wrk, then checks that every accepted signup is in the store once and
# got its email in the outbox.
#
#     tests/bench/signups.sh [--duration 20] [--connections 32]
#
# See tests/bench/README.md for what it measures and checks.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)
BENCH=$REPO/tests/bench

duration=20
drain=3
threads=2
connections=32
pool=1000
new_share=0.7
double_opt_in=true
port=
estrade=
keep=no
strict=no
tmp_parent=${TMPDIR:-/tmp}

# Targets (see tests/bench/README.md).
TARGET_RATE=5000
TARGET_P99_MS=20

usage() {
  cat <<EOF
usage: tests/bench/signups.sh [options]
  --duration S        length of the flood in seconds (default $duration)
  --connections N     open connections, shared by the threads (default $connections)
  --threads N         wrk threads (default $threads)
  --pool N            addresses seeded before the flood and drawn again (default $pool)
  --new-share F       share of posts with a never-seen address (default $new_share)
  --double-opt-in B   true or false, written to the campaign (default $double_opt_in)
  --drain S           extra seconds wrk runs after the last post is sent (default $drain)
  --port N            port of estrade serve (default: a free one)
  --estrade PATH      time this binary; skips cargo build --release
  --tmpdir DIR        where the campaign and its store go (default $tmp_parent)
  --keep              keep the campaign, store, outbox and logs
  --strict            exit 1 when a target is missed, not only a lost signup
EOF
}

while (($#)); do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --pool) pool=$2; shift 2 ;;
    --new-share) new_share=$2; shift 2 ;;
    --double-opt-in) double_opt_in=$2; shift 2 ;;
    --drain) drain=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --estrade) estrade=$2; shift 2 ;;
    --tmpdir) tmp_parent=$2; shift 2 ;;
    --keep) keep=yes; shift ;;
    --strict) strict=yes; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
case $double_opt_in in true | false) ;; *) echo "--double-opt-in: true or false" >&2; exit 2 ;; esac

die() {
  echo "signups.sh: $*" >&2
  exit 1
}

# wrk and the sqlite3 shell come from Debian; installed when run as root.
need() {
  local command=$1 package=$2
  command -v "$command" >/dev/null && return
  [[ $(id -u) -eq 0 ]] || die "$command missing: apt-get install $package"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >/dev/null; } \
    || die "cannot install $package"
}
need wrk wrk
need sqlite3 sqlite3

if [[ -z $estrade ]]; then
  echo "==> cargo build --release -p estrade"
  cargo build --release -q -p estrade
  estrade=$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/estrade
fi
[[ -x $estrade ]] || die "no estrade binary at $estrade"

work=$(mktemp -d "$tmp_parent/estrade-signups.XXXXXX")
server_pid=
# SIGINT lets axum finish what it is answering; a server still there 10 s
# later is killed.
stop_server() {
  [[ -n $server_pid ]] || return 0
  kill -INT "$server_pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
cleanup() {
  stop_server
  if [[ $keep == yes ]]; then
    echo "kept: $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The example campaign, with its `forms:` block replaced: no rate limit to
# speak of (every post comes from 127.0.0.1, one client for the limiter).
site=$work/site
mkdir -p "$site"
cp -r campaign.yaml content static "$site/"
awk -v opt_in="$double_opt_in" '
  /^forms:/ {
    print "forms:"
    print "  endpoint: /api"
    print "  double_opt_in: " opt_in
    print "  rate_limit: { requests: 4000000000, per_seconds: 3600 }"
    skipping = 1
    next
  }
  skipping && /^[^ #]/ { skipping = 0 }
  !skipping { print }
' "$REPO/campaign.yaml" >"$site/campaign.yaml"

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [[ -z $port ]]; then
  for _ in $(seq 50); do
    candidate=$((20000 + RANDOM % 40000))
    if port_is_free "$candidate"; then
      port=$candidate
      break
    fi
  done
  [[ -n $port ]] || die "no free port found"
fi
url=http://127.0.0.1:$port

echo "==> estrade serve on $url (campaign in $site)"
"$estrade" serve --root "$site" --port "$port" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do
  grep -q '^Serving' "$work/serve.log" 2>/dev/null && ! port_is_free "$port" && break
  kill -0 "$server_pid" 2>/dev/null || die "estrade serve stopped: $(cat "$work/serve.log")"
  sleep 0.1
done
grep -q '^Serving' "$work/serve.log" || die "estrade serve did not start in 30 s"

# run_wrk MODE SEND_SECONDS WRK_OPTIONS...: the script writes MODE.out
# (key=value lines) and accepted-MODE.txt; wrk's own report goes to MODE.txt.
run_wrk() {
  local mode=$1 send_seconds=$2
  shift 2
  wrk "$@" --timeout 10s -s "$BENCH/signups.lua" "$url/api/signup" \
    -- "$mode" "$work" "$pool" "$new_share" "$send_seconds" >"$work/$mode.txt"
  [[ -s $work/$mode.out ]] || die "wrk ($mode) wrote no figures: $(cat "$work/$mode.txt")"
}
# value MODE KEY
value() { sed -n "s/^$2=//p" "$work/$1.out"; }

echo "==> seeding $pool addresses (one connection)"
run_wrk seed 0 -t1 -c1 -d120s
seed_303=$(value seed status_303)
(($(wc -l <"$work/accepted-seed.txt") == pool)) \
  || echo "warning: only $(wc -l <"$work/accepted-seed.txt") of $pool pool addresses were accepted"

load=$(cut -d' ' -f1 /proc/loadavg)
echo "==> flood: $duration s, $threads threads, $connections connections," \
  "$(awk -v s="$new_share" 'BEGIN { printf "%d%%", s * 100 }') new addresses (load before: $load)"
# wrk runs $drain s longer than the script sends, so that every request is
# answered before wrk stops and the store can be compared exactly.
run_wrk flood "$duration" -t"$threads" -c"$connections" -d"$((duration + drain))s" --latency
sed -n '/Latency Distribution/,/99%/p' "$work/flood.txt"

stop_server

# What the store and the outbox hold, against what the client was told.
store=$site/.estrade/serve.sqlite
outbox=$site/.estrade/outbox
sql() { sqlite3 -batch -noheader "$store" "$1"; }
export LC_ALL=C
sort -u "$work/accepted-seed.txt" "$work/accepted-flood.txt" >"$work/accepted.txt"
sql "SELECT email FROM supporters" | sort >"$work/stored.txt"
accepted=$(wc -l <"$work/accepted.txt")
rows=$(wc -l <"$work/stored.txt")
lost=$(comm -23 "$work/accepted.txt" "$work/stored.txt" | wc -l)
unanswered_rows=$(comm -13 "$work/accepted.txt" "$work/stored.txt" | wc -l)
duplicates=$(sql "SELECT count(*) - count(DISTINCT email) FROM supporters")
consents=$(sql "SELECT count(*) FROM consents")
flood_303=$(value flood status_303)
accepted_posts=$((seed_303 + flood_303))
emails=$(find "$outbox" -maxdepth 1 -name '*.eml' | wc -l)
half_written=$(find "$outbox" -maxdepth 1 -name '.*.tmp' | wc -l)
# Each message's first To: line holds the plain address.
find "$outbox" -maxdepth 1 -name '*.eml' -print0 \
  | xargs -0 -r grep -h -m1 -i '^To:' \
  | grep -o '[a-z0-9.]*@bench\.example\.org' | sort -u >"$work/recipients.txt"
recipients_not_stored=$(comm -23 "$work/recipients.txt" "$work/stored.txt" | wc -l)
stored_without_email=$(comm -13 "$work/recipients.txt" "$work/stored.txt" | wc -l)

flood_new=$(value flood accepted_new)
rate=$(awk -v n="$flood_303" -v s="$duration" 'BEGIN { printf "%.0f", n / s }')
new_rate=$(awk -v n="$flood_new" -v s="$duration" 'BEGIN { printf "%.0f", n / s }')
p50=$(value flood p50_ms)
p99=$(value flood p99_ms)
non_303=$(value flood non_303)
codes=$(value flood non_303_codes)
unanswered=$(($(value flood sent) - $(value flood answered)))

echo
echo "accepted signups/s: $rate ($flood_303 answered 303 in $duration s; new supporters/s: $new_rate)"
echo "latency: p50 $p50 ms, p90 $(value flood p90_ms) ms, p99 $p99 ms, max $(value flood max_ms) ms"
echo "non-303 answers: $non_303${codes:+ ($codes)}; socket errors: $(value flood socket_errors);" \
  "timeouts: $(value flood timeouts); sent but unanswered: $unanswered" \
  "(wrk throws away one request when it checks the script)"

failures=()
check() { # check NAME GOT WANT
  if [[ $2 == "$3" ]]; then
    printf '  ok    %-46s %s\n' "$1" "$2"
  else
    printf '  FAIL  %-46s %s, expected %s\n' "$1" "$2" "$3"
    failures+=("$1")
  fi
}
echo "checks (seed: $seed_303 posts accepted; flood: $flood_new new addresses" \
  "+ $(value flood accepted_pool_posts) pool posts accepted):"
check "supporters rows = distinct addresses accepted" "$rows" "$accepted"
check "accepted addresses missing from supporters" "$lost" 0
check "supporters never answered with a 303" "$unanswered_rows" 0
check "duplicate emails in supporters" "$duplicates" 0
check "consent records = accepted posts" "$consents" "$accepted_posts"
check "outbox .eml files = accepted posts" "$emails" "$accepted_posts"
check "supporters without an email in the outbox" "$stored_without_email" 0
check "outbox recipients not in supporters" "$recipients_not_stored" 0
check "half-written outbox files" "$half_written" 0
check "303 answers naming no address" "$(($(value seed unnamed_303) + $(value flood unnamed_303)))" 0

met() { awk -v a="$1" -v b="$2" -v op="$3" 'BEGIN { exit !(op == ">=" ? a >= b : a < b) }'; }
targets=()
met "$rate" "$TARGET_RATE" ">=" && targets+=("rate met") || targets+=("rate MISSED")
met "$p99" "$TARGET_P99_MS" "<" && targets+=("p99 met") || targets+=("p99 MISSED")
((${#failures[@]} == 0)) && targets+=("counts ok") || targets+=("COUNT CHECK FAILED")

echo
echo "SUMMARY signups_per_s=$rate [target>=$TARGET_RATE] p50_ms=$p50 p99_ms=$p99" \
  "[target<$TARGET_P99_MS] non_303=$non_303 rows=$rows accepted=$accepted lost=$lost" \
  "emails=$emails connections=$connections duration=${duration}s double_opt_in=$double_opt_in" \
  "(${targets[*]})"

if ((${#failures[@]})); then
  die "count check failed: ${failures[*]}"
fi
if [[ $strict == yes ]] && [[ ${targets[*]} == *MISSED* ]]; then
  exit 1
fi
