#!/usr/bin/env python3
"""Lambda benchmark: size and cold start of the form functions.

Builds `signup`, `rsvp` and `unsubscribe` in release, strips a copy of each
and reports its size. Then starts each binary many times against a small
Lambda Runtime API written here, and times every start from the spawn of the
process to the moment the function posts its answer to the first event.

The events are requests the functions answer without touching the store (a
link whose token does not verify is a 400), and the AWS endpoint points at a
closed local port: a start that needed AWS would fail, not look slow.

These are host builds (this machine's glibc and CPU): they say how the
code starts, not what Lambda's own machines will measure. Packaging for
Lambda (cargo-lambda, zig) is done elsewhere.

Standard library only, so it runs wherever python3 does:

    python3 tests/bench/lambda.py [--runs 20] [--no-build]
"""

import argparse
import base64
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# What a function promises (see tests/bench/README.md).
TARGET_MS = 20.0

# Each function, and one request it answers from the token alone.
FUNCTIONS = [
    ("signup", "/api/confirm", "token=bad", 400),
    ("rsvp", "/api/rsvp/cancel", "token=bad", 400),
    ("unsubscribe", "/api/unsubscribe", "token=bad", 400),
]

RUNTIME_PREFIX = "/2018-06-01/runtime"


# ------------------------------------------------------ the runtime API


@dataclass
class Invocation:
    """One event handed to one process, and what became of it."""

    request_id: str
    event: bytes
    handed_at: int = 0  # perf_counter_ns when /next answered
    answered_at: int = 0  # perf_counter_ns when the answer was read
    outcome: str = ""  # "response", "error" or "init/error"
    body: bytes = b""
    done: threading.Event = field(default_factory=threading.Event)
    retired: threading.Event = field(default_factory=threading.Event)


class RuntimeApi(ThreadingHTTPServer):
    """The part of the Lambda Runtime API a function uses, for one process
    and one invocation; a second poll of /next waits, as Lambda would freeze
    the process, until the benchmark has killed it.

    Each start gets its own server on a new port: a killed process can leave
    a poll of /next in the old server's buffers, and a shared server would
    hand the next process's event to that dead connection."""

    daemon_threads = True

    def __init__(self, invocation, unexpected):
        super().__init__(("127.0.0.1", 0), RuntimeHandler)
        self.lock = threading.Lock()
        self.current = invocation
        self.unexpected = unexpected

    def handle_error(self, request, client_address):
        # A killed function leaves its connection half-written: expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def take_next(self):
        """The current invocation if not handed out yet; None otherwise."""
        with self.lock:
            invocation = self.current
            if invocation is None or invocation.handed_at:
                return None, invocation
            invocation.handed_at = time.perf_counter_ns()
            return invocation, invocation


class RuntimeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the runtime's client keeps its connection

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        if self.path != f"{RUNTIME_PREFIX}/invocation/next":
            return self.not_found()
        invocation, waiting_for = self.server.take_next()
        if invocation is None:
            # Lambda freezes the process here; the benchmark kills it.
            if waiting_for is not None:
                waiting_for.retired.wait(60)
            self.close_connection = True
            return
        deadline_ms = int(time.time() * 1000) + 3000
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(invocation.event)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline_ms))
        self.send_header(
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:eu-west-3:123456789012:function:estrade-bench",
        )
        self.send_header(
            "Lambda-Runtime-Trace-Id",
            "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
        )
        self.end_headers()
        self.wfile.write(invocation.event)

    def do_POST(self):
        parts = self.path.removeprefix(RUNTIME_PREFIX).strip("/").split("/")
        body = self.read_body()
        now = time.perf_counter_ns()
        if parts == ["init", "error"]:
            outcome, request_id = "init/error", None
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            outcome, request_id = parts[2], parts[1]
        else:
            return self.not_found()
        with self.server.lock:
            invocation = self.server.current
            if invocation is None or (request_id and request_id != invocation.request_id):
                self.server.unexpected.append(f"{self.path}: {body[:300]!r}")
            elif not invocation.done.is_set():
                invocation.answered_at = now
                invocation.outcome = outcome
                invocation.body = body
                invocation.done.set()
        accepted = b'{"status":"OK"}'
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(accepted)))
        self.end_headers()
        self.wfile.write(accepted)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers (streamed responses report errors there), then a blank line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def not_found(self):
        self.server.unexpected.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


def gateway_event(path, query, request_id):
    """An API Gateway HTTP API (payload 2.0) event for a browser's GET."""
    now = time.time()
    return json.dumps(
        {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": {
                "accept": "text/html,application/xhtml+xml",
                "accept-language": "fr-FR,fr;q=0.9",
                "host": "bench.execute-api.eu-west-3.amazonaws.com",
                "user-agent": "estrade-lambda-bench",
                "x-forwarded-for": "203.0.113.7",
                "x-forwarded-proto": "https",
            },
            "queryStringParameters": dict(
                pair.split("=", 1) for pair in query.split("&") if "=" in pair
            ),
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "bench",
                "domainName": "bench.execute-api.eu-west-3.amazonaws.com",
                "domainPrefix": "bench",
                "http": {
                    "method": "GET",
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.7",
                    "userAgent": "estrade-lambda-bench",
                },
                "requestId": request_id,
                "routeKey": "$default",
                "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            "isBase64Encoded": False,
        }
    ).encode()


# ----------------------------------------------------------- the builds


def cargo_build(package):
    command = ["cargo", "build", "--release", "-p", package]
    print(f"building: {' '.join(command)}", flush=True)
    if subprocess.run(command, cwd=REPO).returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed; see the errors above")


def target_dir():
    done = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode == 0:
        return Path(json.loads(done.stdout)["target_directory"])
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


def stripped_copy(binary, into):
    """A stripped copy of `binary` in `into`: (path, bytes before, bytes after)."""
    copy = into / binary.name
    shutil.copy2(binary, copy)
    done = subprocess.run(["strip", str(copy)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"strip {copy} failed: {done.stderr.strip()}")
    return copy, binary.stat().st_size, copy.stat().st_size


def build_manifest(estrade, work):
    out = work / "site"
    done = subprocess.run(
        [str(estrade), "build", "--root", str(REPO), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    manifest = out / "_estrade" / "manifest.json"
    if done.returncode != 0 or not manifest.is_file():
        raise SystemExit(
            f"`estrade build` did not write {manifest}:\n{done.stdout}{done.stderr}"
        )
    return manifest


# ------------------------------------------------------------ the starts


def function_env(name, closed_port, manifest):
    """What Lambda sets for a custom runtime (the runtime API's address is
    added for each start), plus the function's own settings. Nothing is
    inherited: no profile, no real credentials."""
    secret = base64.b64encode(os.urandom(32)).decode()
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_FUNCTION_NAME": f"estrade-{name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/estrade-{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2025/01/01/[$LATEST]bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "AWS_REGION": "eu-west-3",
        "AWS_DEFAULT_REGION": "eu-west-3",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port}",
        "ESTRADE_TABLE": "bench",
        "ESTRADE_TOKEN_KEYS": f"bench:{secret}",
        "ESTRADE_MANIFEST": str(manifest),
    }


@dataclass
class Starts:
    name: str
    size: int = 0
    unstripped: int = 0
    first_poll_ms: list = field(default_factory=list)
    answer_ms: list = field(default_factory=list)
    failure: str = ""

    @property
    def median(self):
        return statistics.median(self.answer_ms)

    @property
    def p90(self):
        # Nearest rank: a start that really happened, not an interpolation.
        ordered = sorted(self.answer_ms)
        return ordered[math.ceil(0.9 * len(ordered)) - 1]


def start_once(binary, env, invocation, unexpected, logs, timeout):
    """Spawns `binary`, waits for its answer or its exit, kills it. Returns
    (spawned_at, exit status or None when it was still running, output)."""
    api = RuntimeApi(invocation, unexpected)
    threading.Thread(target=api.serve_forever, args=(0.01,), daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}")
    with open(logs, "w+b") as log:
        spawned_at = time.perf_counter_ns()
        process = subprocess.Popen(
            [str(binary)], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        give_up = time.monotonic() + timeout
        while not invocation.done.wait(0.002):
            if process.poll() is not None or time.monotonic() > give_up:
                # Whatever it posts while dying still counts.
                invocation.done.wait(0.05)
                break
        exited = process.poll()
        process.kill()
        process.wait()
        invocation.retired.set()
        api.shutdown()
        api.server_close()
        log.seek(0)
        output = log.read().decode(errors="replace").strip()
    return spawned_at, exited, output or "(nothing)"


def measure(starts, binary, route, env, unexpected, runs, work, timeout):
    _name, path, query, expected = route
    for run in range(runs):
        request_id = f"{starts.name}-{run:03d}-{os.getpid()}"
        invocation = Invocation(request_id, gateway_event(path, query, request_id))
        spawned_at, exited, output = start_once(
            binary, env, invocation, unexpected, work / f"{starts.name}.log", timeout
        )
        if invocation.outcome != "response":
            what = {
                "error": "the function posted an invocation error",
                "init/error": "the function posted an init error",
            }.get(invocation.outcome)
            if what is None and exited is not None:
                what = f"the process exited with status {exited} before answering"
            elif what is None:
                what = f"no answer within {timeout:g} s"
            starts.failure = f"run {run + 1}: {what}"
            if invocation.body:
                starts.failure += f"\n  posted: {invocation.body.decode(errors='replace')}"
            starts.failure += f"\n  printed: {output}"
            return
        try:
            status = json.loads(invocation.body).get("statusCode")
        except ValueError:
            status = None
        if status != expected:
            starts.failure = (
                f"run {run + 1}: GET {path}?{query} answered {status}, expected {expected}"
                f"\n  posted: {invocation.body[:600].decode(errors='replace')}"
                f"\n  printed: {output}"
            )
            return
        starts.first_poll_ms.append((invocation.handed_at - spawned_at) / 1e6)
        starts.answer_ms.append((invocation.answered_at - spawned_at) / 1e6)


# ---------------------------------------------------------------- report


def cpu_busy_share(seconds=1.0):
    """Share of the CPUs kept busy over `seconds` while this script sleeps,
    or None without /proc/stat."""

    def sample():
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
        return sum(ticks) - idle, sum(ticks)

    try:
        busy_before, total_before = sample()
        time.sleep(seconds)
        busy_after, total_after = sample()
    except OSError:
        return None
    return (busy_after - busy_before) / max(1, total_after - total_before)


def describe_load(when):
    share = cpu_busy_share()
    try:
        load = Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        load = "?"
    busy = "?" if share is None else f"{share:.0%}"
    print(f"load {when}: {load} (1 min average), CPUs busy: {busy} of {os.cpu_count()}")
    if share is not None and share > 0.2:
        print("warning: other work keeps the CPUs busy; starts are noisy, run again when idle")


def verdict(starts):
    median_ok, p90_ok = starts.median < TARGET_MS, starts.p90 < TARGET_MS
    if median_ok and p90_ok:
        return "met"
    return "median met, p90 missed" if median_ok else "missed"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="starts per function")
    parser.add_argument(
        "--no-build", action="store_true", help="use the binaries already in target/release"
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds a start may take before it fails"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a function fails or misses the target"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if shutil.which("strip") is None:
        raise SystemExit("`strip` is not installed (Debian: apt-get install binutils)")

    if not args.no_build:
        # Two invocations, not one: cargo unifies features across the packages
        # of one build, and the CLI's would leak into the functions' binaries.
        cargo_build("estrade-lambda")
        cargo_build("estrade")
    release = target_dir() / "release"
    missing = [p for p in ["estrade"] + [f[0] for f in FUNCTIONS] if not (release / p).is_file()]
    if missing:
        raise SystemExit(f"not built in {release}: {', '.join(missing)}")

    work = Path(tempfile.mkdtemp(prefix="estrade-lambda-bench-"))
    unexpected = []
    # Bound but never listening: a connection to it is refused at once.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    results = []
    try:
        manifest = build_manifest(release / "estrade", work)
        print("host builds (this machine's glibc and CPU), not Lambda packages")
        print(f"AWS endpoint 127.0.0.1:{closed.getsockname()[1]} (closed), "
              "a runtime API on a new port for each start")
        (work / "bin").mkdir()
        describe_load("before")
        for route in FUNCTIONS:
            name = route[0]
            binary, unstripped, size = stripped_copy(release / name, work / "bin")
            starts = Starts(name, size=size, unstripped=unstripped)
            env = function_env(name, closed.getsockname()[1], manifest)
            print(f"{name}: {size / 1e6:.1f} MB stripped ({unstripped / 1e6:.1f} MB before), "
                  f"{args.runs} starts: GET {route[1]}?{route[2]}", flush=True)
            measure(starts, binary, route, env, unexpected, args.runs, work, args.timeout)
            results.append(starts)
        describe_load("after")
    finally:
        closed.close()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    if unexpected:
        print("unexpected calls to the runtime API:")
        for call in unexpected:
            print(f"  {call}")
    print(f"\n{'':12}{'size':>9}{'first poll':>12}{'median':>9}{'p90':>9}{'min':>9}{'max':>9}")
    for starts in results:
        if starts.failure:
            print(f"{starts.name:12}{starts.size / 1e6:>6.1f} MB  FAILED")
            continue
        poll = statistics.median(starts.first_poll_ms)
        print(
            f"{starts.name:12}{starts.size / 1e6:>6.1f} MB{poll:>9.1f} ms"
            f"{starts.median:>6.1f} ms{starts.p90:>6.1f} ms"
            f"{min(starts.answer_ms):>6.1f} ms{max(starts.answer_ms):>6.1f} ms"
        )
    print("(first poll: spawn to GET /next, the init; median and p90: spawn to the answer)")
    for starts in results:
        if starts.failure:
            print(f"\n{starts.name} failed, {starts.failure}")

    print()
    shortfall = False
    for starts in results:
        if starts.failure:
            shortfall = True
            print(f"SUMMARY {starts.name} size={starts.size / 1e6:.1f}MB FAILED "
                  f"({starts.failure.splitlines()[0]})")
            continue
        met = verdict(starts)
        shortfall |= met != "met"
        print(
            f"SUMMARY {starts.name} size={starts.size / 1e6:.1f}MB runs={len(starts.answer_ms)} "
            f"median={starts.median:.1f}ms p90={starts.p90:.1f}ms "
            f"[target<{TARGET_MS:g}ms {met}] host-build"
        )
    if args.strict and shortfall:
        sys.exit(1)


if __name__ == "__main__":
    main()
