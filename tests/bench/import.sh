#!/usr/bin/env bash
# Import benchmark: a people export shaped as NationBuilder's (100,000
# rows by default) imported by `estrade people import` into a new example
# campaign's embedded store, or into a DynamoDB table on moto.
#
#     tests/bench/import.sh [--rows 100000] [--store embedded|dynamodb] [--estrade PATH] [--keep]
#
# Three runs of the command are timed (wall time, and peak memory when
# /usr/bin/time is there): the dry run, the import into an empty store,
# and the same file imported again (every person read and found
# unchanged). One row in 50 repeats the previous row's address in capitals
# (merged into one person), one in 200 has a malformed address (left out
# and reported). DynamoDB needs moto in .venv, which tests/run installs;
# the script starts it on a free port of 127.0.0.1 and stops it after.
# Without --estrade it builds and times the release binary.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

rows=100000
store=embedded
estrade=
keep=no

usage="usage: tests/bench/import.sh [--rows N] [--store embedded|dynamodb] [--estrade PATH] [--keep]"
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --store) store=$2; shift 2 ;;
    --estrade) estrade=$2; shift 2 ;;
    --keep) keep=yes; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
case "$store" in embedded | dynamodb) ;; *) echo "$usage" >&2; exit 2 ;; esac

if [ -z "$estrade" ]; then
  cargo build --release -p estrade
  estrade=${CARGO_TARGET_DIR:-$REPO/target}/release/estrade
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/estrade-import.XXXXXX")
moto=
cleanup() {
  if [ -n "$moto" ]; then kill "$moto" 2>/dev/null || true; fi
  if [ "$keep" = no ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT
site=$work/site
"$estrade" new "$site" >/dev/null

file=$work/people.csv
awk -v rows="$rows" 'BEGIN {
  srand(7)
  split("Camille Louise Jules Inès Hugo Léa Nathan Chloé Aïcha Yanis", first, " ")
  split("Martin Bernard Dubois Thomas Robert Petit Durand Leroy Moreau Benali", last, " ")
  split("Valenciennes Lille Arras Douai Lens Cambrai Maubeuge Denain", city, " ")
  split("59300 59000 62000 59500 62300 59400 59600 59220", zip, " ")
  print "nationbuilder_id,first_name,last_name,email,email_opt_in,phone_number,mobile_number,mobile_opt_in,primary_address1,primary_city,primary_zip,primary_country_code,tag_list,created_at,is_volunteer,support_level"
  for (i = 1; i <= rows; i++) {
    email = "person" i "@bench.example"
    if (i % 50 == 0) email = "PERSON" (i - 1) "@BENCH.EXAMPLE"
    if (i % 200 == 0) email = "person" i "-at-bench.example"
    c = 1 + i % 8
    printf "%d,%s,%s,%s,%s,03 27 %02d %02d %02d,06 %02d %02d %02d %02d,%s,%d rue de la Gare,%s,%s,FR,\"%s\",20%02d-%02d-%02d 10:00:00,%s,%d\n",
      i, first[1 + i % 10], last[1 + int(i / 10) % 10], email,
      (i % 7 == 0) ? "false" : "true",
      i % 100, int(i / 100) % 100, int(i / 10000) % 100,
      int(rand() * 100), int(rand() * 100), int(rand() * 100), int(rand() * 100),
      (i % 3 == 0) ? "true" : "false",
      1 + i % 150, city[c], zip[c],
      (i % 4 == 0) ? "adherent, porte-a-porte" : "sympathisant",
      10 + i % 15, 1 + i % 12, 1 + i % 28,
      (i % 5 == 0) ? "true" : "false", 1 + i % 5
  }
}' >"$file"
echo "file: $rows rows, $(du -h "$file" | cut -f1)"

args=(people import "$file" --root "$site")
if [ "$store" = dynamodb ]; then
  if [ ! -x .venv/bin/moto_server ]; then
    echo "moto is not in .venv: run tests/run once, or" >&2
    echo "  python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5'" >&2
    exit 1
  fi
  port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  moto=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=eu-west-3 \
    AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true
  # The table's keys as estrade-aws declares them (the import uses no index).
  made=no
  for _ in $(seq 60); do
    if .venv/bin/python - <<'PY' 2>"$work/table.err"; then made=yes; break; fi
import boto3
boto3.client("dynamodb", region_name="eu-west-3").create_table(
    TableName="estrade-import-bench",
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                          {"AttributeName": "sk", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
               {"AttributeName": "sk", "KeyType": "RANGE"}],
    BillingMode="PAY_PER_REQUEST")
PY
    sleep 0.5
  done
  if [ "$made" = no ]; then
    echo "could not create the table on moto:" >&2
    cat "$work/table.err" >&2
    exit 1
  fi
  args+=(--table estrade-import-bench)
  echo "store: DynamoDB table on moto, 127.0.0.1:$port"
else
  echo "store: embedded ($site/.estrade/serve.sqlite)"
fi

# timed LABEL ARGS...: runs estrade, prints its summary lines and the time.
timed() {
  local label=$1
  shift
  local started ended status=0
  started=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$work/rss" "$estrade" "$@" >"$work/out" 2>"$work/err" || status=$?
  else
    "$estrade" "$@" >"$work/out" 2>"$work/err" || status=$?
    echo "?" >"$work/rss"
  fi
  ended=$(date +%s.%N)
  grep -E '^(dry run|imported|refused|conflicts|bad rows|/)' "$work/out" | sed 's/^/    /' || true
  # A dry run exits 1 by design (nothing imported), after its report.
  if [ "$status" -ne 0 ] && ! { [ "$label" = "dry run" ] && grep -q '^dry run' "$work/out"; }; then
    cat "$work/err" >&2
    exit "$status"
  fi
  awk -v label="$label" -v a="$started" -v b="$ended" -v rss="$(tail -1 "$work/rss")" \
    'BEGIN { printf "%s: %.2f s, peak memory %s KB\n", label, b - a, rss }'
}

timed "dry run" "${args[@]}"
timed "import into an empty store" "${args[@]}" --yes
timed "the same file again (all unchanged)" "${args[@]}" --yes
