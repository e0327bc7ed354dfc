#!/usr/bin/env bash
# Sender benchmark: the example campaign's broadcast queued for 100,000
# supporters and sent by the scheduled sender, on the embedded store and
# on DynamoDB (moto's server on 127.0.0.1), through a mailer that builds
# every message as the SES one does but does not call SES. Prints the
# time to resolve and queue the audience, claims per second, time and
# store calls per email, and checks that every recipient got exactly one
# message (the run fails if not).
#
#     tests/bench/broadcast.sh [--recipients 100000] [--store embedded|dynamodb|both]
#
# DynamoDB needs moto in .venv, which tests/run installs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

recipients=100000
stores=both
while [ $# -gt 0 ]; do
  case "$1" in
    --recipients) recipients=$2; shift 2 ;;
    --store) stores=$2; shift 2 ;;
    *) echo "usage: tests/bench/broadcast.sh [--recipients N] [--store embedded|dynamodb|both]" >&2
       exit 2 ;;
  esac
done

cargo build --release -p estrade --example sender_bench
bench=${CARGO_TARGET_DIR:-target}/release/examples/sender_bench

if [ "$stores" = embedded ] || [ "$stores" = both ]; then
  echo "--- embedded store"
  "$bench" --recipients "$recipients" | grep -v '"what":"send"'
fi

if [ "$stores" = dynamodb ] || [ "$stores" = both ]; then
  echo "--- DynamoDB (moto)"
  if [ ! -x .venv/bin/moto_server ]; then
    echo "moto is not in .venv: run tests/run once, or" >&2
    echo "  python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5'" >&2
    exit 1
  fi
  port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log=$(mktemp "${TMPDIR:-/tmp}/estrade-moto.XXXXXX")
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  moto=$!
  trap 'kill "$moto" 2>/dev/null || true; rm -f "$log"' EXIT
  for _ in $(seq 60); do
    if .venv/bin/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
      "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
  AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=eu-west-3 \
    AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true \
    "$bench" --recipients "$recipients" --table estrade-bench | grep -v '"what":"send"'
fi
