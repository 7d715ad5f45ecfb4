#!/usr/bin/env python3
"""Larder vs. Redis, side by side, on this machine.

    python3 bench/run.py                 # the full suite (~15 min on 2 cores)
    python3 bench/run.py --quick         # a smoke run (< 2 min)
    python3 bench/run.py --sections memory,expiry --no-build

Installs Debian's redis-server/redis-tools if missing (apt-get), builds
Larder in release mode, starts both servers on free loopback ports without
persistence, measures them alternately (A B A B ..., medians over the
rounds), and writes docs/benchmarks.md, docs/benchmarks.json and the chart
docs/benchmarks.png (matplotlib; installed with pip if missing, the chart is
skipped if that fails).

Sections (all by default):
  throughput  redis-benchmark: ops/s, p50, p99 for PING_MBULK, SET, GET, INCR,
              MSET (10 keys); 50 clients; pipeline 1 and 16; 3 B and 1 KiB
              values; -r 1000000. Two configurations: both servers pinned
              to core 0 (Larder with --io-threads 1), client on core 1
              ("per core"); and both unpinned, Larder with all its threads.
  memory      used_memory and RSS growth per key: 1M `key:<n>` with 16-byte
              values, without and with a TTL; collection rows (a 100-field
              hash, a 1,000-member sorted set) give n/a until the server
              knows the command.
  expiry      1M keys whose deadlines fall in 8 batches spread over 10 s;
              1 s after each batch's deadline, the share of the expired keys
              still held (DBSIZE against the number not yet due).

  persistence 1M keys of 100 bytes: the extra memory (PSS of the server and
              its children) and SET p99 while a BGSAVE always runs under a
              write load, against the same load idle; the time to load
              Redis's dump.rdb of that dataset.
  aof         SET throughput and p99 with appendonly yes, appendfsync
              everysec and always, pipeline 1 and 16.

Sections not run keep their figures from the previous benchmarks.json.

Extending: add a row to THROUGHPUT_TESTS, MEMORY_ROWS, or a new section
function registered in SECTIONS.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
LARDER_BIN = os.path.join(ROOT, "target", "release", "larder-server")

# --------------------------------------------------------------------------
# Configuration of the measurements (full run / --quick)
# --------------------------------------------------------------------------

# redis-benchmark test names (-t), how they appear in its CSV, and the
# share of the request count they get (MSET moves 10 values per request).
THROUGHPUT_TESTS = [
    ("ping_mbulk", "PING_MBULK", 1.0),
    ("set", "SET", 1.0),
    ("get", "GET", 1.0),
    ("incr", "INCR", 1.0),
    ("mset", "MSET (10 keys)", 0.2),
]
PIPELINES = [1, 16]
VALUE_SIZES = [3, 1024]
CLIENTS = 50
KEYSPACE = 1_000_000

# Requests per redis-benchmark test, by pipeline depth: about 1-2 s per test
# on a quiet 2-core machine.
REQUESTS = {"full": {1: 60_000, 16: 300_000}, "quick": {1: 10_000, 16: 50_000}}
ROUNDS = {"full": 3, "quick": 2}
MEMORY_KEYS = {"full": 1_000_000, "quick": 100_000}
EXPIRY_KEYS = {"full": 1_000_000, "quick": 100_000}
EXPIRY_ROUNDS = {"full": 3, "quick": 1}
EXPIRY_BATCHES = 8  # deadlines at 1.25 s, 2.5 s, ... 10 s after the start
EXPIRY_SPAN_S = 10.0


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------
# Setup
# --------------------------------------------------------------------------


def ensure_redis():
    if shutil.which("redis-server") and shutil.which("redis-benchmark") and shutil.which("redis-cli"):
        return
    log("installing redis-server and redis-tools with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "redis-server", "redis-tools"], check=True, env=env)


def ensure_matplotlib():
    try:
        import matplotlib  # noqa: F401

        return True
    except ImportError:
        pass
    log("installing matplotlib with pip (for the chart)")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "matplotlib"])
    if r.returncode != 0:
        log("matplotlib unavailable: the chart is skipped")
        return False
    try:
        import matplotlib  # noqa: F401,F811

        return True
    except ImportError:
        return False


def build_larder():
    log("cargo build --release")
    subprocess.run(["cargo", "build", "--release", "--bin", "larder-server"], cwd=ROOT, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cmd_out(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------


class Server:
    """A redis-server or larder-server process on a free loopback port."""

    def __init__(self, kind, cpus=None, threads=None, dir=None, extra=None):
        self.kind = kind  # "redis" or "larder"
        self.port = free_port()
        self.dir = dir or tempfile.mkdtemp(prefix=f"bench-{kind}-")
        binary = "redis-server" if kind == "redis" else LARDER_BIN
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.dir]
        if kind == "larder" and threads:
            args += ["--io-threads", str(threads)]
        args += extra or []
        if cpus is not None:
            args = ["taskset", "-c", cpus] + args
        self.args = args
        started = time.time()
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                # -LOADING while a dump.rdb in `dir` loads.
                if self.cmd("PING") == "PONG":
                    self.ready_s = time.time() - started
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{kind} exited at start: {' '.join(args)}")
            time.sleep(0.005)
        raise RuntimeError(f"{kind} did not start")

    @property
    def name(self):
        return "Larder" if self.kind == "larder" else "Redis"

    def cmd(self, *args):
        """One command over a fresh connection; the reply as a string or int."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as s:
            s.sendall(encode(args))
            f = s.makefile("rb")
            return read_reply(f)

    def info(self, section):
        text = self.cmd("INFO", section)
        out = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def rss(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return int(self.info("memory").get("used_memory_rss", 0))

    def used_memory(self):
        return int(self.info("memory")["used_memory"])

    def version(self):
        if self.kind == "redis":
            return cmd_out(["redis-server", "--version"])
        return cmd_out([LARDER_BIN, "--version"])

    def stop(self, keep_dir=False):
        try:
            self.cmd("SHUTDOWN", "NOSAVE")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def pss(self):
        """Proportional set size of the server and its children (Redis's
        fork child): shared pages counted once in total."""
        total = 0
        pids = [self.proc.pid]
        try:
            for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{tid}/children") as f:
                    pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
        for pid in pids:
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1]) * 1024
                            break
            except OSError:
                pass
        return total


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_reply(f):
    line = f.readline()
    if not line:
        raise OSError("connection closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        return RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode(errors="replace")
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise OSError(f"unexpected reply {line!r}")


def pipeline(port, commands, batch=10_000):
    """Sends encoded commands whose replies are single lines (+, -, :) in
    batches; returns (replies, first error or None)."""
    first_error = None
    count = 0
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        buf = []
        pending = 0

        def drain(n):
            nonlocal first_error
            got = 0
            data = b""
            while got < n:
                chunk = s.recv(1 << 20)
                if not chunk:
                    raise OSError("connection closed during load")
                data += chunk
                # Only whole lines are counted; a partial one stays in data.
                last = data.rfind(b"\r\n")
                if last < 0:
                    continue
                complete, data = data[: last + 2], data[last + 2:]
                got += complete.count(b"\r\n")
                if first_error is None and b"-" in complete:
                    for line in complete.split(b"\r\n"):
                        if line.startswith(b"-"):
                            first_error = line[1:].decode(errors="replace")
                            break
            return got

        for c in commands:
            buf.append(c)
            pending += 1
            if pending == batch:
                s.sendall(b"".join(buf))
                count += drain(pending)
                buf, pending = [], 0
        if pending:
            s.sendall(b"".join(buf))
            count += drain(pending)
    return count, first_error


# --------------------------------------------------------------------------
# Throughput and latency
# --------------------------------------------------------------------------


def redis_benchmark(server, pipeline_depth, size, requests, client_cpus):
    """Runs the tests, one redis-benchmark invocation per request share;
    returns (command lines, {csv test name: row})."""
    groups = {}
    for t, _, share in THROUGHPUT_TESTS:
        groups.setdefault(share, []).append(t)
    cmds, rows = [], {}
    for share, tests in groups.items():
        n = max(1000, int(requests * share))
        args = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port), "-c", str(CLIENTS), "-n", str(n),
                "-P", str(pipeline_depth), "-d", str(size), "-r", str(KEYSPACE), "-t", ",".join(tests), "--csv"]
        if client_cpus is not None:
            args = ["taskset", "-c", client_cpus] + args
        out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=900).stdout
        cmds.append(args)
        rows.update(parse_csv(out))
    return cmds, rows


def parse_csv(text):
    """redis-benchmark 7 --csv: "test","rps","avg_latency_ms","min_latency_ms",
    "p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"."""
    rows = {}
    header = None
    for line in text.splitlines():
        cells = [c.strip('"') for c in line.strip().split('","')]
        if not line.strip():
            continue
        if cells[0] == "test":
            header = cells
            continue
        if header is None:
            header = ["test", "rps"]
        rec = dict(zip(header, cells))
        try:
            rows[rec["test"]] = {
                "rps": float(rec["rps"]),
                "p50": float(rec.get("p50_latency_ms", "nan")),
                "p99": float(rec.get("p99_latency_ms", "nan")),
            }
        except (KeyError, ValueError):
            continue
    return rows


def section_throughput(ctx):
    mode = ctx["mode"]
    rounds = ctx["rounds"]
    configs = [
        # (id, label, server cpus, larder threads, client cpus)
        ("pinned", "both servers on core 0 (taskset -c 0, Larder --io-threads 1), client on core 1",
         "0", 1, "1"),
        ("unpinned", "Larder with all its I/O threads, Redis default, client unpinned",
         None, None, None),
    ]
    if ctx["configs"]:
        configs = [c for c in configs if c[0] in ctx["configs"]]
    results = {}
    commands = []
    for cid, label, cpus, threads, client_cpus in configs:
        log(f"throughput, {cid}")
        servers = {"redis": Server("redis", cpus=cpus), "larder": Server("larder", cpus=cpus, threads=threads)}
        try:
            commands += [" ".join(s.args).replace(s.dir, "$TMPDIR").replace(ROOT + "/", "").replace(f"--port {s.port}", "--port $PORT")
                         .replace("--save  ", "--save '' ") for s in servers.values()]
            samples = {}  # (kind, P, size, test) -> [rows]
            for r in range(rounds):
                for p in PIPELINES:
                    for size in VALUE_SIZES:
                        for kind in ("redis", "larder"):  # A B A B ...
                            s = servers[kind]
                            s.cmd("FLUSHALL")
                            cmds, rows = redis_benchmark(s, p, size, REQUESTS[mode][p], client_cpus)
                            if r == 0 and kind == "redis":
                                commands += [" ".join(a).replace(str(s.port), "$PORT") for a in cmds]
                            for test, row in rows.items():
                                samples.setdefault((kind, p, size, test), []).append(row)
                            brief = ", ".join(f"{t.split()[0]} {row['rps']:.0f}" for t, row in rows.items())
                            log(f"  round {r + 1} {s.name:6} P{p:<2} {size:>4} B: {brief}")
            table = []
            for p in PIPELINES:
                for size in VALUE_SIZES:
                    for _, test, _ in THROUGHPUT_TESTS:
                        row = {"pipeline": p, "size": size, "test": test}
                        for kind in ("redis", "larder"):
                            xs = samples.get((kind, p, size, test), [])
                            for m in ("rps", "p50", "p99"):
                                row[f"{kind}_{m}"] = statistics.median([x[m] for x in xs]) if xs else None
                        if row["redis_rps"] and row["larder_rps"]:
                            row["ratio"] = row["larder_rps"] / row["redis_rps"]
                        else:
                            row["ratio"] = None
                        table.append(row)
            results[cid] = {"label": label, "rows": table}
        finally:
            for s in servers.values():
                s.stop()
    ctx["commands"]["throughput"] = sorted(set(commands), key=commands.index)
    return results


# --------------------------------------------------------------------------
# Memory per key
# --------------------------------------------------------------------------


def load_strings(n, ttl):
    value = b"v" * 16
    for i in range(n):
        key = b"key:%d" % i
        if ttl:
            yield b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n$2\r\nEX\r\n$6\r\n100000\r\n" % (len(key), key, value)
        else:
            yield b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n" % (len(key), key, value)


def load_hash(n, fields=100):
    for i in range(n):
        key = b"hash:%d" % i
        for f in range(fields):
            yield encode([b"HSET", key, b"field:%d" % f, b"v" * 16])


def load_zset(n, members=1000):
    for i in range(n):
        key = b"zset:%d" % i
        for m in range(members):
            yield encode([b"ZADD", key, str(m), b"member:%d" % m])


# (id, label, keys (full, quick), generator, elements per key)
MEMORY_ROWS = [
    ("string", "string, 16-byte value", None, lambda n: load_strings(n, False), 1),
    ("string_ttl", "string, 16-byte value, with TTL", None, lambda n: load_strings(n, True), 1),
    ("hash100", "hash of 100 fields (16-byte values)", (10_000, 1_000), load_hash, 100),
    ("zset1000", "sorted set of 1,000 members", (1_000, 100), load_zset, 1000),
]


def section_memory(ctx):
    mode = ctx["mode"]
    results = []
    for rid, label, counts, gen, per_key in MEMORY_ROWS:
        n = MEMORY_KEYS[mode] if counts is None else counts[0 if mode == "full" else 1]
        row = {"id": rid, "label": label, "keys": n, "elements_per_key": per_key}
        for kind in ("redis", "larder"):  # A B
            # A fresh server per row: RSS freed by an earlier row would
            # otherwise be reused and hide this row's growth.
            s = Server(kind)
            try:
                time.sleep(0.3)
                um0, rss0 = s.used_memory(), s.rss()
                t0 = time.time()
                count, err = pipeline(s.port, gen(n))
                dt = time.time() - t0
                if err is not None:
                    log(f"  memory {rid} {s.name}: n/a ({err})")
                    row[kind] = None
                    row[f"{kind}_error"] = err
                    continue
                time.sleep(0.3)
                um1, rss1 = s.used_memory(), s.rss()
                dbsize = s.cmd("DBSIZE")
            finally:
                s.stop()
            row[kind] = {"used_per_key": (um1 - um0) / n, "rss_per_key": (rss1 - rss0) / n,
                         "dbsize": dbsize, "load_s": dt}
            log(f"  memory {rid} {s.name}: {row[kind]['used_per_key']:.1f} B/key used, "
                f"{row[kind]['rss_per_key']:.1f} B/key RSS ({n} keys, {dt:.1f} s)")
        if row.get("redis") and row.get("larder"):
            row["used_ratio"] = row["larder"]["used_per_key"] / row["redis"]["used_per_key"]
            row["rss_ratio"] = (row["larder"]["rss_per_key"] / row["redis"]["rss_per_key"]
                                if row["redis"]["rss_per_key"] > 0 else None)
        results.append(row)
    ctx["commands"]["memory"] = [
        "SET key:<n> <16 bytes>            (pipelined, raw RESP, batches of 10,000)",
        "SET key:<n> <16 bytes> EX 100000  (the TTL row)",
        "HSET hash:<n> field:<f> <16 bytes> (100 fields per key)",
        "ZADD zset:<n> <m> member:<m>       (1,000 members per key)",
        "growth = INFO memory used_memory / VmRSS (from /proc) after minus before, divided by the key count;",
        "each row on freshly started servers",
    ]
    return results


# --------------------------------------------------------------------------
# Expiry reclaim
# --------------------------------------------------------------------------


def expiry_once(kind, n):
    s = Server(kind)
    try:
        per_batch = n // EXPIRY_BATCHES
        n = per_batch * EXPIRY_BATCHES
        step_ms = int(EXPIRY_SPAN_S * 1000 / EXPIRY_BATCHES)
        # Deadlines start after the load is surely over.
        margin_ms = 2000 + n // 150
        t0_ms = int(time.time() * 1000) + margin_ms
        deadlines = [t0_ms + (b + 1) * step_ms for b in range(EXPIRY_BATCHES)]

        def gen():
            for i in range(n):
                key = b"key:%d" % i
                at = str(deadlines[i % EXPIRY_BATCHES]).encode()
                yield b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$2\r\nvv\r\n$4\r\nPXAT\r\n$%d\r\n%s\r\n" % (
                    len(key), key, len(at), at)

        pipeline(s.port, gen())
        loaded_at = time.time() * 1000
        if loaded_at > deadlines[0]:
            log(f"  warning: load finished {loaded_at - deadlines[0]:.0f} ms after the first deadline")
        samples = []
        for b, d in enumerate(deadlines):
            wait = (d + 1000) / 1000 - time.time()
            if wait > 0:
                time.sleep(wait)
            held = s.cmd("DBSIZE")
            due = (b + 1) * per_batch  # keys whose deadline has passed
            stale = max(0, held - (n - due))
            samples.append({"batch": b + 1, "after_ms": (d + 1000) - t0_ms, "held": held, "due": due,
                            "stale_share": stale / due})
        return samples
    finally:
        s.stop()


def section_expiry(ctx):
    mode = ctx["mode"]
    n = EXPIRY_KEYS[mode]
    runs = {"redis": [], "larder": []}
    for r in range(EXPIRY_ROUNDS[mode]):
        for kind in ("redis", "larder"):
            log(f"expiry round {r + 1}, {kind}")
            samples = expiry_once(kind, n)
            runs[kind].append(samples)
            log("  stale share after each deadline + 1 s: "
                + " ".join(f"{x['stale_share'] * 100:.2f}%" for x in samples))
    out = {"keys": n, "batches": EXPIRY_BATCHES, "span_s": EXPIRY_SPAN_S}
    for kind, rs in runs.items():
        out[kind] = [statistics.median(run[b]["stale_share"] for run in rs) for b in range(EXPIRY_BATCHES)]
    out["after_ms"] = [x["after_ms"] for x in runs["redis"][0]]
    ctx["commands"]["expiry"] = [
        f"SET key:<n> vv PXAT <deadline>   ({n} keys, {EXPIRY_BATCHES} deadlines {EXPIRY_SPAN_S / EXPIRY_BATCHES:.2f} s "
        f"apart over {EXPIRY_SPAN_S:.0f} s)",
        "at each deadline + 1 s: DBSIZE; stale = DBSIZE - (keys not yet due); share = stale / keys due",
    ]
    return out


# --------------------------------------------------------------------------
# Persistence: memory and latency during BGSAVE, load time
# --------------------------------------------------------------------------

PERSIST_KEYS = {"full": 1_000_000, "quick": 200_000}
PERSIST_VALUE = 100
PERSIST_REQUESTS = {"full": 300_000, "quick": 60_000}
PERSIST_ROUNDS = {"full": 2, "quick": 1}


def load_values(n, size):
    """The keys redis-benchmark's -r picks (key:<12 digits>), so its SETs
    overwrite the dataset rather than add to it."""
    value = b"v" * size
    for i in range(n):
        key = b"key:%012d" % i
        yield b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, size, value)


def write_load(s, n, requests):
    """redis-benchmark SET over the loaded keys: (rps, p50 ms, p99 ms)."""
    args = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(s.port), "-c", str(CLIENTS), "-n", str(requests),
            "-d", str(PERSIST_VALUE), "-r", str(n), "-t", "set", "--csv"]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=900).stdout
    row = parse_csv(out).get("SET", {})
    return row.get("rps"), row.get("p50"), row.get("p99")


def wait_no_bgsave(s):
    for _ in range(60_000):
        if s.info("persistence").get("rdb_bgsave_in_progress") == "0":
            return
        time.sleep(0.01)


def persist_once(kind, n, requests, rdb_file):
    import threading
    s = Server(kind)
    try:
        pipeline(s.port, load_values(n, PERSIST_VALUE))
        time.sleep(0.5)
        dataset = s.used_memory()
        idle = write_load(s, n, requests)
        time.sleep(0.5)
        base = s.pss()

        def under_bgsave(sample_memory):
            """The write load with a BGSAVE always running (a thread
            restarts it when one ends). Memory is sampled in a run of its
            own: reading /proc/<pid>/smaps_rollup walks the page tables
            under the process's mmap lock, which stalls its page faults
            and would show up in the latencies."""
            stop = threading.Event()
            peak = [base]
            saves = [0]

            def keeper():
                while not stop.is_set():
                    if s.info("persistence").get("rdb_bgsave_in_progress") == "0":
                        if s.cmd("BGSAVE") in ("Background saving started",):
                            saves[0] += 1
                    if sample_memory:
                        peak[0] = max(peak[0], s.pss())
                    time.sleep(0.01)

            t = threading.Thread(target=keeper)
            t.start()
            while saves[0] == 0:
                time.sleep(0.005)
            res = write_load(s, n, requests)
            stop.set()
            t.join()
            wait_no_bgsave(s)
            return res, peak[0], saves[0]

        during, _, saves = under_bgsave(False)
        _, peak, _ = under_bgsave(True)
        peak = [peak]
        saves = [saves]
        info = s.info("persistence")
        out = {"dataset": dataset, "base_pss": base, "peak_pss": peak[0], "extra": peak[0] - base,
               "extra_share": (peak[0] - base) / dataset, "saves": saves[0],
               "cow_info": int(info.get("rdb_last_cow_size", 0)),
               "idle_rps": idle[0], "idle_p50": idle[1], "idle_p99": idle[2],
               "bgsave_rps": during[0], "bgsave_p50": during[1], "bgsave_p99": during[2]}
        if kind == "redis" and rdb_file is not None and not os.path.exists(rdb_file):
            s.cmd("SAVE")
            shutil.copy(os.path.join(s.dir, "dump.rdb"), rdb_file)
    finally:
        s.stop()
    return out


def load_time(kind, rdb_file):
    d = tempfile.mkdtemp(prefix=f"bench-load-{kind}-")
    shutil.copy(rdb_file, os.path.join(d, "dump.rdb"))
    s = Server(kind, dir=d)
    try:
        return s.ready_s, s.cmd("DBSIZE")
    finally:
        s.stop()


def section_persistence(ctx):
    mode = ctx["mode"]
    n, requests = PERSIST_KEYS[mode], PERSIST_REQUESTS[mode]
    rdb_dir = tempfile.mkdtemp(prefix="bench-rdb-")
    rdb_file = os.path.join(rdb_dir, "dump.rdb")
    runs = {"redis": [], "larder": []}
    loads = {"redis": [], "larder": []}
    try:
        for r in range(PERSIST_ROUNDS[mode]):
            for kind in ("redis", "larder"):
                log(f"persistence round {r + 1}, {kind}")
                x = persist_once(kind, n, requests, rdb_file)
                runs[kind].append(x)
                log(f"  extra memory during BGSAVE {x['extra'] / 1e6:.1f} MB = {x['extra_share'] * 100:.1f}% of "
                    f"{x['dataset'] / 1e6:.0f} MB ({x['saves']} saves); SET p99 idle {x['idle_p99']} ms, "
                    f"during BGSAVE {x['bgsave_p99']} ms")
            for kind in ("redis", "larder"):
                secs, keys = load_time(kind, rdb_file)
                loads[kind].append(secs)
                log(f"  load of {keys} keys from Redis's file: {kind} {secs:.2f} s")
    finally:
        shutil.rmtree(rdb_dir, ignore_errors=True)
    out = {"keys": n, "value": PERSIST_VALUE, "requests": requests}
    for kind in ("redis", "larder"):
        rs = runs[kind]
        med = lambda k: statistics.median(x[k] for x in rs if x[k] is not None)  # noqa: E731
        out[kind] = {k: med(k) for k in ("dataset", "extra", "extra_share", "idle_p99", "bgsave_p99", "idle_rps",
                                         "bgsave_rps", "cow_info", "saves")}
        out[kind]["load_s"] = statistics.median(loads[kind])
        out[kind]["p99_ratio"] = out[kind]["bgsave_p99"] / out[kind]["idle_p99"]
    ctx["commands"]["persistence"] = [
        f"SET key:<n, 12 digits> <{PERSIST_VALUE} bytes>   ({n:,} keys, pipelined; the keys redis-benchmark -r {n} writes)",
        f"redis-benchmark -c {CLIENTS} -n {requests:,} -d {PERSIST_VALUE} -r {n} -t set   (idle, then again while a "
        "BGSAVE is always running: a thread restarts it when one ends)",
        "extra memory = peak PSS (/proc/<pid>/smaps_rollup) of the server and its children during a second BGSAVE load "
        "minus PSS before it, sampled every 10 ms (not during the latency run: reading it stalls the process's page "
        "faults); share = extra / used_memory of the dataset",
        "load time: a server started on the dump.rdb Redis saved of that dataset, until PING answers PONG "
        "(-LOADING before)",
    ]
    return out


AOF_REQUESTS = {"full": 200_000, "quick": 40_000}


def section_aof(ctx):
    """SET throughput and latency with the AOF on (everysec, always),
    both servers, alternating rounds; pinned as the throughput section's
    pinned config (the fair per-core comparison) and unpinned."""
    mode = ctx["mode"]
    requests = AOF_REQUESTS[mode]
    out = {"requests": requests, "rows": []}
    configs = [
        # (id, server cpus, larder threads, client cpus)
        ("pinned", "0", 1, "1"),
        ("unpinned", None, None, None),
    ]
    for cid, cpus, threads, client_cpus in configs:
        for fsync in ("everysec", "always"):
            for pipeline_depth in (1, 16):
                runs = {"redis": [], "larder": []}
                for r in range(ctx["rounds"]):
                    for kind in ("redis", "larder"):
                        s = Server(kind, cpus=cpus, threads=threads,
                                   extra=["--appendonly", "yes", "--appendfsync", fsync])
                        try:
                            args = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(s.port), "-c", str(CLIENTS), "-n",
                                    str(requests), "-P", str(pipeline_depth), "-d", "100", "-r", str(KEYSPACE), "-t",
                                    "set", "--csv"]
                            if client_cpus is not None:
                                args = ["taskset", "-c", client_cpus] + args
                            text = subprocess.run(args, capture_output=True, text=True, check=True,
                                                  timeout=900).stdout
                            row = parse_csv(text).get("SET")
                        finally:
                            s.stop()
                        if row:
                            runs[kind].append(row)
                            log(f"  aof {cid} {fsync} P{pipeline_depth} {kind}: {row['rps']:.0f} ops/s, "
                                f"p99 {row['p99']} ms")
                med = lambda k, f: statistics.median(x[f] for x in runs[k]) if runs[k] else None  # noqa: E731
                rec = {"config": cid, "fsync": fsync, "pipeline": pipeline_depth}
                for kind in ("redis", "larder"):
                    rec[f"{kind}_rps"], rec[f"{kind}_p99"] = med(kind, "rps"), med(kind, "p99")
                rec["ratio"] = rec["larder_rps"] / rec["redis_rps"] if rec["redis_rps"] else None
                out["rows"].append(rec)
    ctx["commands"]["aof"] = [
        f"redis-benchmark -c {CLIENTS} -n {requests:,} -P <1|16> -d 100 -r {KEYSPACE} -t set   on servers started with "
        "--appendonly yes --appendfsync <everysec|always>",
        "pinned: servers under taskset -c 0 (Larder --io-threads 1), redis-benchmark under taskset -c 1; "
        "unpinned: Larder with all its I/O threads, nothing pinned",
    ]
    return out


SECTIONS = {"throughput": section_throughput, "memory": section_memory, "expiry": section_expiry,
            "persistence": section_persistence, "aof": section_aof}


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def fmt(x, spec=".0f", none="n/a"):
    return none if x is None else format(x, spec)


def machine():
    lscpu = cmd_out(["lscpu"])
    model = re.search(r"Model name:\s*(.*)", lscpu)
    hyper = re.search(r"Hypervisor vendor:\s*(.*)", lscpu)
    mem = cmd_out(["free", "-h"]).splitlines()
    total = mem[1].split()[1] if len(mem) > 1 else "?"
    return {
        "cpu": model.group(1).strip() if model else platform.processor(),
        "cores": cmd_out(["nproc"]),
        "memory": total,
        "hypervisor": hyper.group(1).strip() if hyper else "none",
        "kernel": platform.release(),
        "os": cmd_out(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
    }


def write_report(ctx, res):
    m = ctx["machine"]
    L = []
    quick = ctx["mode"] == "quick"
    L.append("# Benchmarks: Larder vs. Redis")
    L.append("")
    if quick:
        L.append("> **Quick run (`--quick`)**: a smoke test with few requests and rounds, on a machine "
                 "shared with other work. The figures show the format, not Larder's performance; "
                 "rerun the full suite on a quiet machine for real numbers.")
        L.append("")
    L.append(f"- Date: {ctx['date']}")
    L.append(f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM, hypervisor: {m['hypervisor']}; "
             f"{m['os']}, Linux {m['kernel']}")
    L.append(f"- Redis: `{ctx['versions']['redis']}`")
    L.append(f"- Larder: `{ctx['versions']['larder']}` (commit {ctx['commit']}, `cargo build --release`)")
    L.append(f"- Load average at the start: {ctx['loadavg']}")
    L.append(f"- Suite: `python3 bench/run.py{' --quick' if quick else ''}` ({ctx['mode']} run: "
             f"{ctx['rounds']} alternating rounds, medians; took {ctx['elapsed_min']:.1f} min)")
    L.append("")
    L.append("Both servers run on loopback without persistence (Redis: `--save '' --appendonly no`) except "
             "where a section turns it on, "
             "measured alternately (Redis, Larder, Redis, Larder, ...) so drift cancels out. "
             "Ratios are Larder / Redis: above 1 is better for throughput, below 1 is better for "
             "memory and latency.")
    L.append("")
    L.append("![chart](benchmarks.png)")
    L.append("")
    for name, date in ctx.get("carried", {}).items():
        L.append(f"- The {name} section is from the run of {date} (not rerun this time).")
    if ctx.get("carried"):
        L.append("")
    if "throughput" in res:
        L.append("## Throughput and latency (redis-benchmark)")
        L.append("")
        L.append(f"{CLIENTS} clients, random keys over {KEYSPACE:,} (`-r`), requests per test: "
                 + ", ".join(f"{REQUESTS[ctx['mode']][p]:,} at pipeline {p}" for p in PIPELINES)
                 + " (a fifth of that for MSET). Latencies in ms.")
        L.append("")
        for cid, data in res["throughput"].items():
            L.append(f"### {cid}: {data['label']}")
            L.append("")
            L.append("| pipeline | value | test | Redis ops/s | Larder ops/s | ratio | Redis p50 | Larder p50 "
                     "| Redis p99 | Larder p99 |")
            L.append("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
            for r in data["rows"]:
                L.append(f"| {r['pipeline']} | {r['size']} B | {r['test']} | {fmt(r['redis_rps'])} | "
                         f"{fmt(r['larder_rps'])} | {fmt(r['ratio'], '.2f')} | {fmt(r['redis_p50'], '.3f')} | "
                         f"{fmt(r['larder_p50'], '.3f')} | {fmt(r['redis_p99'], '.3f')} | "
                         f"{fmt(r['larder_p99'], '.3f')} |")
            L.append("")
        L.append("Commands:")
        L.append("")
        L.append("```")
        L.extend(ctx["commands"].get("throughput", []))
        L.append("```")
        L.append("")
    if "memory" in res:
        L.append("## Memory per key")
        L.append("")
        L.append("Growth of `used_memory` (INFO memory) and of the process RSS (VmRSS) while loading, "
                 "divided by the number of keys. n/a: the server does not support the command yet.")
        L.append("")
        L.append("| data | keys | Redis used/key | Larder used/key | ratio | Redis RSS/key | Larder RSS/key "
                 "| ratio |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in res["memory"]:
            rd, ld = r.get("redis"), r.get("larder")
            L.append(f"| {r['label']} | {r['keys']:,} | {fmt(rd and rd['used_per_key'], '.1f')} | "
                     f"{fmt(ld and ld['used_per_key'], '.1f')} | {fmt(r.get('used_ratio'), '.2f')} | "
                     f"{fmt(rd and rd['rss_per_key'], '.1f')} | {fmt(ld and ld['rss_per_key'], '.1f')} | "
                     f"{fmt(r.get('rss_ratio'), '.2f')} |")
        L.append("")
        L.append("```")
        L.extend(ctx["commands"].get("memory", []))
        L.append("```")
        L.append("")
    if "expiry" in res:
        e = res["expiry"]
        L.append("## Expiry reclaim")
        L.append("")
        L.append(f"{e['keys']:,} keys, {e['batches']} equal batches with deadlines "
                 f"{e['span_s'] / e['batches']:.2f} s apart over {e['span_s']:.0f} s, nothing reads them. "
                 "One second after each batch's deadline: the share of the keys already due that are still "
                 f"held (median of {EXPIRY_ROUNDS[ctx['mode']]} run(s) per server).")
        L.append("")
        L.append("| deadline | due keys | Redis stale share | Larder stale share |")
        L.append("|---:|---:|---:|---:|")
        per = e["keys"] // e["batches"]
        for b in range(e["batches"]):
            L.append(f"| +{(b + 1) * e['span_s'] / e['batches']:.2f} s | {(b + 1) * per:,} | "
                     f"{e['redis'][b] * 100:.2f}% | {e['larder'][b] * 100:.2f}% |")
        L.append("")
        L.append("```")
        L.extend(ctx["commands"].get("expiry", []))
        L.append("```")
        L.append("")
    if "persistence" in res:
        p = res["persistence"]
        rd, ld = p["redis"], p["larder"]
        L.append("## Persistence: BGSAVE and loading")
        L.append("")
        L.append(f"{p['keys']:,} keys with {p['value']}-byte values; a write load (SET on random keys of the "
                 f"dataset, {CLIENTS} clients) first idle, then while a BGSAVE is always running. Redis forks "
                 "a child that shares the parent's pages copy-on-write; Larder snapshots in a thread of its own "
                 "and saves a key's old value only when a write reaches it first. Medians of "
                 f"{PERSIST_ROUNDS[ctx['mode']]} round(s).")
        L.append("")
        L.append("| | Redis | Larder |")
        L.append("|---|---:|---:|")
        L.append(f"| dataset (used_memory) | {rd['dataset'] / 1e6:.0f} MB | {ld['dataset'] / 1e6:.0f} MB |")
        L.append(f"| extra memory during BGSAVE (peak PSS) | {rd['extra'] / 1e6:.1f} MB | {ld['extra'] / 1e6:.1f} MB |")
        L.append(f"| extra / dataset | {rd['extra_share'] * 100:.1f}% | {ld['extra_share'] * 100:.1f}% |")
        L.append(f"| INFO rdb_last_cow_size | {rd['cow_info'] / 1e6:.1f} MB | {ld['cow_info'] / 1e6:.1f} MB |")
        L.append(f"| BGSAVEs during the load | {rd['saves']:.0f} | {ld['saves']:.0f} |")
        L.append(f"| SET ops/s idle | {fmt(rd['idle_rps'])} | {fmt(ld['idle_rps'])} |")
        L.append(f"| SET ops/s during BGSAVE | {fmt(rd['bgsave_rps'])} | {fmt(ld['bgsave_rps'])} |")
        L.append(f"| SET p99 idle | {rd['idle_p99']:.3f} ms | {ld['idle_p99']:.3f} ms |")
        L.append(f"| SET p99 during BGSAVE | {rd['bgsave_p99']:.3f} ms | {ld['bgsave_p99']:.3f} ms |")
        L.append(f"| p99 during / idle | {rd['p99_ratio']:.2f} | {ld['p99_ratio']:.2f} |")
        L.append(f"| load of Redis's dump.rdb ({p['keys']:,} keys) until PONG | {rd['load_s']:.2f} s | "
                 f"{ld['load_s']:.2f} s |")
        L.append("")
        L.append("```")
        L.extend(ctx["commands"].get("persistence", []))
        L.append("```")
        L.append("")
    if "aof" in res:
        a = res["aof"]
        L.append("## Writes with the AOF on")
        L.append("")
        L.append(f"SET of 100-byte values, {CLIENTS} clients, {a['requests']:,} requests, on servers started with "
                 "`--appendonly yes`; `always` replies only after the fsync (both servers group clients' writes "
                 "into one fsync). Latencies in ms.")
        L.append("")
        L.append("| placement | appendfsync | pipeline | Redis ops/s | Larder ops/s | ratio | Redis p99 | Larder p99 |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for r in a["rows"]:
            L.append(f"| {r.get('config', 'unpinned')} | {r['fsync']} | {r['pipeline']} | {fmt(r['redis_rps'])} | {fmt(r['larder_rps'])} | "
                     f"{fmt(r['ratio'], '.2f')} | {fmt(r['redis_p99'], '.3f')} | {fmt(r['larder_p99'], '.3f')} |")
        L.append("")
        L.append("```")
        L.extend(ctx["commands"].get("aof", []))
        L.append("```")
        L.append("")
    L.append("## Goals (from issue 3; reported, not asserted)")
    L.append("")
    L.extend(goal_lines(res))
    L.append("")
    L.append("## How to rerun")
    L.append("")
    L.append("```")
    L.append("python3 bench/run.py                      # full suite, ~15 min on 2 cores")
    L.append("python3 bench/run.py --quick              # smoke run, < 2 min")
    L.append("python3 bench/run.py --sections memory    # one section (throughput, memory, expiry, persistence, aof)")
    L.append("python3 bench/run.py --configs pinned     # throughput: pinned and/or unpinned")
    L.append("```")
    L.append("")
    L.append("It installs redis-server/redis-tools (apt-get) and matplotlib (pip) if missing, builds Larder "
             "with `cargo build --release`, and rewrites this file, `benchmarks.json` and `benchmarks.png`. "
             "Run it on an otherwise idle machine.")
    L.append("")
    with open(os.path.join(DOCS, "benchmarks.md"), "w") as f:
        f.write("\n".join(L))


def goal_lines(res):
    """The issue's goals with this run's figures."""
    out = []
    tp = res.get("throughput", {}).get("pinned")
    if tp:
        rows = [r for r in tp["rows"] if r["test"] in ("SET", "GET") and r["ratio"] is not None]
        if rows:
            worst = min(rows, key=lambda r: r["ratio"])
            p99_worse = [r for r in rows if r["larder_p99"] is not None and r["redis_p99"] is not None
                         and r["larder_p99"] > r["redis_p99"]]
            ok = worst["ratio"] >= 1.3 and not p99_worse
            out.append(f"- Per-core throughput (pinned) at least 1.3x Redis for SET and GET at pipeline 1 and 16, "
                       f"p99 no worse: **{'met' if ok else 'not met'}**; lowest ratio {worst['ratio']:.2f} "
                       f"({worst['test']}, P{worst['pipeline']}, {worst['size']} B); p99 worse than Redis's in "
                       f"{len(p99_worse)} of {len(rows)} rows.")
    else:
        out.append("- Per-core throughput (pinned) at least 1.3x Redis for SET and GET, p99 no worse: not measured.")
    mem = {r["id"]: r for r in res.get("memory", [])}
    if mem.get("string") and mem["string"].get("used_ratio") is not None:
        r = mem["string"]["used_ratio"]
        out.append(f"- Memory per small key at most 0.6x Redis's used_memory per key: "
                   f"**{'met' if r <= 0.6 else 'not met'}** ({r:.2f}x).")
    else:
        out.append("- Memory per small key at most 0.6x Redis's used_memory per key: not measured.")
    e = res.get("expiry")
    if e:
        worst = max(e["larder"])
        out.append(f"- At most 1% of expired keys still in memory 1 s after their deadline: "
                   f"**{'met' if worst <= 0.01 else 'not met'}** (worst {worst * 100:.2f}%; "
                   f"Redis worst {max(e['redis']) * 100:.2f}%).")
    else:
        out.append("- At most 1% of expired keys still in memory 1 s after their deadline: not measured.")
    return out


def write_chart(ctx, res):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    if "throughput" in res:
        panels += [("tp", cid) for cid in res["throughput"]]
    if "memory" in res:
        panels.append(("mem", None))
    if "expiry" in res:
        panels.append(("exp", None))
    if not panels:
        return
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 4 * len(panels)), squeeze=False)
    for ax, (kind, cid) in zip(axes[:, 0], panels):
        if kind == "tp":
            rows = res["throughput"][cid]["rows"]
            labels = [f"{r['test'].split()[0]}\nP{r['pipeline']} {r['size']}B" for r in rows]
            x = range(len(rows))
            w = 0.4
            ax.bar([i - w / 2 for i in x], [(r["redis_rps"] or 0) / 1000 for r in rows], w, label="Redis")
            ax.bar([i + w / 2 for i in x], [(r["larder_rps"] or 0) / 1000 for r in rows], w, label="Larder")
            ax.set_xticks(list(x))
            ax.set_xticklabels(labels, fontsize=6)
            ax.set_yscale("log")
            ax.set_ylabel("k ops/s (log)")
            ax.set_title(f"Throughput, {cid}")
            ax.legend()
        elif kind == "mem":
            rows = [r for r in res["memory"]]
            labels = [r["label"] for r in rows]
            x = range(len(rows))
            w = 0.4
            ax.bar([i - w / 2 for i in x], [(r["redis"] or {}).get("used_per_key", 0) for r in rows], w,
                   label="Redis used_memory")
            ax.bar([i + w / 2 for i in x], [(r["larder"] or {}).get("used_per_key", 0) for r in rows], w,
                   label="Larder used_memory")
            ax.set_xticks(list(x))
            ax.set_xticklabels(labels, fontsize=7)
            ax.set_yscale("log")
            ax.set_ylabel("bytes per key (log)")
            ax.set_title("Memory per key")
            ax.legend()
        else:
            e = res["expiry"]
            xs = [(a - 1000) / 1000 for a in e["after_ms"]]
            ax.plot(xs, [v * 100 for v in e["redis"]], "o-", label="Redis")
            ax.plot(xs, [v * 100 for v in e["larder"]], "o-", label="Larder")
            ax.axhline(1.0, color="grey", linestyle=":", label="goal 1%")
            ax.set_xlabel("batch deadline (s from the start); sampled 1 s later")
            ax.set_ylabel("% of due keys still held 1 s after deadline")
            ax.set_title("Expiry reclaim")
            ax.legend()
    title = "Larder vs Redis" + (" (quick run)" if ctx["mode"] == "quick" else "")
    fig.suptitle(f"{title}, {ctx['date']}")
    fig.tight_layout()
    fig.savefig(os.path.join(DOCS, "benchmarks.png"), dpi=90)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a short smoke run (< 2 min)")
    ap.add_argument("--sections", default=",".join(SECTIONS), help="comma list: " + ",".join(SECTIONS))
    ap.add_argument("--configs", default="", help="throughput configurations: pinned,unpinned (default both)")
    ap.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 3, quick 2)")
    ap.add_argument("--no-build", action="store_true", help="use the existing target/release/larder-server")
    ap.add_argument("--no-report", action="store_true", help="print only; do not rewrite docs/")
    args = ap.parse_args()

    mode = "quick" if args.quick else "full"
    sections = [s for s in args.sections.split(",") if s]
    for s in sections:
        if s not in SECTIONS:
            ap.error(f"unknown section {s!r}")
    start = time.time()
    ensure_redis()
    have_mpl = ensure_matplotlib()
    if not args.no_build:
        build_larder()
    if not os.path.exists(LARDER_BIN):
        sys.exit(f"{LARDER_BIN} missing: build it with cargo build --release")
    ctx = {
        "mode": mode,
        "rounds": args.rounds or ROUNDS[mode],
        "configs": [c for c in args.configs.split(",") if c],
        "commands": {},
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": {"redis": cmd_out(["redis-server", "--version"]), "larder": cmd_out([LARDER_BIN, "--version"])},
        "commit": cmd_out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]) or "?",
        "loadavg": open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else "?",
    }
    ctx["loadavg"] = " ".join(ctx["loadavg"])
    res = {}
    for s in sections:
        res[s] = SECTIONS[s](ctx)
    ctx["elapsed_min"] = (time.time() - start) / 60
    log(f"done in {ctx['elapsed_min']:.1f} min")
    if args.no_report:
        print(json.dumps(res, indent=1))
        return
    os.makedirs(DOCS, exist_ok=True)
    # Sections not run this time keep their previous figures (the report
    # says from which run).
    ctx["carried"] = {}
    try:
        with open(os.path.join(DOCS, "benchmarks.json")) as f:
            old = json.load(f)
        for name, data in old.get("results", {}).items():
            if name not in res and name in SECTIONS:
                res[name] = data
                ctx["carried"][name] = old["context"].get("carried", {}).get(name, old["context"].get("date", "?"))
                ctx["commands"][name] = old["context"].get("commands", {}).get(name, [])
    except (OSError, ValueError, KeyError):
        pass
    with open(os.path.join(DOCS, "benchmarks.json"), "w") as f:
        json.dump({"context": {k: v for k, v in ctx.items()}, "results": res}, f, indent=1)
    write_report(ctx, res)
    if have_mpl:
        write_chart(ctx, res)
    log("wrote docs/benchmarks.md, docs/benchmarks.json" + (", docs/benchmarks.png" if have_mpl else ""))


if __name__ == "__main__":
    main()
