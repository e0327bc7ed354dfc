#!/usr/bin/env bash
# Audience benchmark: a million supporters in the embedded store of
# `estrade serve`, then `estrade audience` (interest + distance) timed, and
# `estrade send --now` queueing the audience (about 100,000), twice.
#
#     tests/bench/audience.sh [--supporters 1000000] [--runs 3] [--estrade PATH] [--keep]
#
# Supporters are written straight into the store file with the sqlite3
# command (the table as functions/core/src/sqlite.rs declares it), which
# takes seconds where a million signups through the store would take
# minutes; everything after that goes through the `estrade` command.
# Without --estrade it builds and times the release binary.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

supporters=1000000
runs=3
estrade=
keep=no

while [ $# -gt 0 ]; do
  case "$1" in
    --supporters) supporters=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --estrade) estrade=$2; shift 2 ;;
    --keep) keep=yes; shift ;;
    *) echo "usage: tests/bench/audience.sh [--supporters N] [--runs N] [--estrade PATH] [--keep]" >&2
       exit 2 ;;
  esac
done

command -v sqlite3 >/dev/null || { echo "the benchmark needs the sqlite3 command (apt-get install sqlite3)" >&2; exit 1; }
if [ -z "$estrade" ]; then
  cargo build --release -p estrade
  estrade=${CARGO_TARGET_DIR:-$REPO/target}/release/estrade
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/estrade-audience.XXXXXX")
if [ "$keep" = no ]; then trap 'rm -rf "$work"' EXIT; else echo "keeping $work"; fi
site=$work/site
"$estrade" new "$site" >/dev/null

# The broadcast: everyone interested in ecology within 100 km of Valenciennes.
cat > "$site/content/emails/bench.md" <<'MD'
---
subject: "Benchmark {first_name}"
audience:
  tags: [ecologie]
  within: { km: 100, of: Valenciennes }
---

{hello}

A letter to measure how fast an audience is found.
MD

# Half the postcodes within 100 km of Valenciennes, half far away; a
# quarter of supporters interested in ecology; about 15% who may not be
# written to (unsubscribed, pending, bounced).
mkdir -p "$site/.estrade"
store=$site/.estrade/serve.sqlite
table=$(sed -n '/CREATE TABLE IF NOT EXISTS supporters/,/) STRICT;/p' "$REPO/functions/core/src/sqlite.rs")
# The table as this estrade writes it, so the file says the same version.
version=$(sed -n 's/^const SCHEMA_VERSION: i64 = \([0-9]*\);$/\1/p' "$REPO/functions/core/src/sqlite.rs")
[ -n "$version" ] || { echo "no SCHEMA_VERSION in functions/core/src/sqlite.rs" >&2; exit 1; }
started=$(date +%s.%N)
sqlite3 "$store" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
$table
CREATE TABLE postcodes (n INTEGER PRIMARY KEY, code TEXT NOT NULL);
INSERT INTO postcodes (n, code) VALUES
  (0, '59300'), (1, '59000'), (2, '59400'), (3, '59220'), (4, '59600'),
  (5, '62300'), (6, '62000'), (7, '59500'), (8, '02100'), (9, '59410'),
  (10, '75011'), (11, '69001'), (12, '13001'), (13, '33000'), (14, '31000'),
  (15, '44000'), (16, '67000'), (17, '35000'), (18, '34000'), (19, '06000');
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $supporters)
INSERT INTO supporters (email, first_name, postcode, country, interests, skills, volunteer,
                        status, created_at, updated_at, sms)
SELECT 'supporter' || i || '@bench.example', 'Camille', p.code, 'FR',
       CASE WHEN i % 4 = 0 THEN '["ecologie"]' WHEN i % 4 = 1 THEN '["emploi","logement"]'
            ELSE '[]' END,
       '[]', 0,
       CASE (i / 7) % 20 WHEN 0 THEN 'unsubscribed' WHEN 1 THEN 'pending'
            WHEN 2 THEN 'bounced' ELSE 'confirmed' END,
       '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z', 0
FROM n JOIN postcodes p ON p.n = (i / 3) % 20;
DROP TABLE postcodes;
PRAGMA user_version = $version;
SQL
echo "wrote $supporters supporters in $(echo "$(date +%s.%N) - $started" | bc) s"

TIMEFORMAT=%R
for run in $(seq "$runs"); do
  echo "--- estrade audience, run $run"
  wall=$( { time "$estrade" audience bench --root "$site" >"$work/audience.out"; } 2>&1 )
  cat "$work/audience.out"
  echo "whole command (site built in memory, store opened, audience resolved): $wall s"
done

for pass in first again; do
  echo "--- estrade send --now ($pass)"
  wall=$( { time "$estrade" send bench --root "$site" --now >"$work/send.out"; } 2>&1 )
  cat "$work/send.out"
  echo "whole command: $wall s"
done
queued=$(sqlite3 "$store" "SELECT count(*) FROM outgoing WHERE id LIKE 'cast:bench:%'")
echo "items in the queue for the broadcast: $queued"
