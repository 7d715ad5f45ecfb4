#!/usr/bin/env python3
"""Builds docs/eviction.md's measured tables and docs/eviction.png from the
JSON lines `tools/hitratio` writes (Larder and Redis runs).

    python3 bench/eviction_report.py            # reads tools/hitratio/results/*.jsonl

Inputs (tools/hitratio/results/):
  larder-allkeys.jsonl   allkeys-* policies and noeviction on every workload
  larder-volatile.jsonl  volatile-* policies (keys set with a TTL)
  larder-latency.jsonl   SET latency with and without eviction (--latency), S3-FIFO
  larder-latency-lru.jsonl  the same with allkeys-lru
  redis-7.0.jsonl        the same replay against Redis 7.0 (reference)
  redis-7.0-latency-1conn.jsonl

The prose of docs/eviction.md is in docs/eviction.head.md (kept by hand);
this script appends the generated sections to it.
"""

import json
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RES = os.path.join(ROOT, "tools", "hitratio", "results")
DOCS = os.path.join(ROOT, "docs")

TRACES = ["scarab", "orm-busy", "web07", "adaptsize"]
SYNTH = ["zipf0.8", "zipf1.0", "zipf1.2", "scan"]
ALLKEYS = ["allkeys-lru", "allkeys-lfu", "allkeys-random", "allkeys-s3fifo", "noeviction"]
VOLATILE = ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "volatile-s3fifo"]


def load(name):
    path = os.path.join(RES, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def table(rows):
    """{(workload, fraction, policy): record}"""
    return {(r["workload"], r["fraction"], r["policy"]): r for r in rows if r.get("kind") == "hitratio"}


def fmt(r):
    if r is None:
        return "-"
    s = f"{r['miss_ratio']:.3f}"
    if r.get("set_errors"):
        s += f" ({r['set_errors']} OOM)"
    return s


def miss_table(out, runs, policies, workloads, redis=None, redis_policies=()):
    head = "| workload | size | " + " | ".join(f"Larder {p}" for p in policies)
    head += "".join(f" | Redis {p}" for p in redis_policies) + " |"
    out.append(head)
    out.append("|" + "---|" * (2 + len(policies) + len(redis_policies)))
    for w in workloads:
        for f in (0.01, 0.1):
            if not any((w, f, p) in runs for p in policies):
                continue
            cells = [fmt(runs.get((w, f, p))) for p in policies]
            cells += [fmt(redis.get((w, f, p))) for p in redis_policies]
            out.append(f"| {w} | {f * 100:g}% | " + " | ".join(cells) + " |")
    out.append("")


def gains(runs, base, new, workloads):
    res = []
    for w in workloads:
        for f in (0.01, 0.1):
            b, n = runs.get((w, f, base)), runs.get((w, f, new))
            if b and n and b["miss_ratio"] > 0:
                res.append((w, f, b["miss_ratio"], n["miss_ratio"], 1 - n["miss_ratio"] / b["miss_ratio"]))
    return res


def latency_table(out, rows, who):
    rows = [r for r in rows if r.get("kind") == "latency"]
    if not rows:
        return
    out.append(f"{who}:")
    out.append("")
    out.append("| run | policy | conns | p50 us | p99 us | p99.9 us | max us | peak used_memory over maxmemory | limit held | evicted |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        out.append(
            f"| {r['label']} | {r['policy']} | {r['conns']} | {r['p50_us']:.1f} | {r['p99_us']:.1f} | {r['p999_us']:.1f} "
            f"| {r['max_us']:.0f} | {r['peak_over']} B | {'yes' if r['limit_held'] else 'NO'} | {r['evicted_keys']} |"
        )
    out.append("")
    # median p99 per label and the ratio eviction / bounded keys
    by = {}
    for r in rows:
        by.setdefault((r["policy"], r["label"]), []).append(r["p99_us"])
    for pol in sorted({p for p, _ in by}):
        ev = by.get((pol, "eviction, fresh keys"))
        base = by.get((pol, "no-maxmemory, bounded keys"))
        if ev and base:
            a, b = statistics.median(ev), statistics.median(base)
            out.append(
                f"- {who}, {pol}: median p99 under eviction {a:.0f} us vs {b:.0f} us for the same load without "
                f"eviction: ratio {a / b:.2f} (goal <= 2)."
            )
    out.append("")


def chart(larder, redis, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no chart", file=sys.stderr)
        return
    cases = [(w, f) for w in TRACES + SYNTH for f in (0.01, 0.1) if (w, f, "allkeys-lru") in larder]
    pols = [("allkeys-lru", "Larder LRU"), ("allkeys-lfu", "Larder LFU"), ("allkeys-random", "Larder random"),
            ("allkeys-s3fifo", "Larder S3-FIFO")]
    fig, ax = plt.subplots(figsize=(13, 5))
    width = 0.8 / (len(pols) + 1)
    xs = range(len(cases))
    for i, (p, label) in enumerate(pols):
        ax.bar([x + i * width for x in xs], [larder[(w, f, p)]["miss_ratio"] if (w, f, p) in larder else 0 for w, f in cases],
               width, label=label)
    ax.bar([x + len(pols) * width for x in xs],
           [redis[(w, f, "allkeys-lru")]["miss_ratio"] if (w, f, "allkeys-lru") in redis else 0 for w, f in cases],
           width, label="Redis 7.0 LRU", color="grey")
    ax.set_xticks([x + 0.4 for x in xs])
    ax.set_xticklabels([f"{w}\n{f * 100:g}%" for w, f in cases], fontsize=8)
    ax.set_ylabel("miss ratio (lower is better)")
    ax.set_title("Cache-aside replay through the server, maxmemory = 1% / 10% of the footprint")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    larder = table(load("larder-allkeys.jsonl"))
    larder.update(table(load("larder-volatile.jsonl")))
    redis = table(load("redis-7.0.jsonl"))
    with open(os.path.join(DOCS, "eviction.head.md")) as f:
        out = [f.read().rstrip(), ""]
    out.append("## Measured: miss ratios through the server")
    out.append("")
    out.append("Generated by `bench/eviction_report.py` from `tools/hitratio/results/`. Cache = `maxmemory` at 1% and 10%")
    out.append("of each workload's measured footprint (bytes); every request counts, cold misses included. `(N OOM)`: SETs")
    out.append("refused with -OOM (noeviction, or objects larger than the budget).")
    out.append("")
    out.append("### allkeys policies (Larder) and Redis 7.0 on the same replay")
    out.append("")
    miss_table(out, larder, ALLKEYS, TRACES + SYNTH, redis, ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
    if any(p in VOLATILE for (_, _, p) in larder):
        out.append("### volatile policies (Larder; every key set with a one-day TTL)")
        out.append("")
        miss_table(out, larder, VOLATILE, TRACES + SYNTH)
    g = gains(larder, "allkeys-lru", "allkeys-s3fifo", TRACES)
    if g:
        out.append("### The goal: allkeys-s3fifo against allkeys-lru on the four traces")
        out.append("")
        out.append("| trace | size | allkeys-lru | allkeys-s3fifo | fewer misses |")
        out.append("|---|---|---|---|---|")
        for w, f, b, n, gain in g:
            out.append(f"| {w} | {f * 100:g}% | {b:.3f} | {n:.3f} | {gain * 100:+.1f}% |")
        med = statistics.median(x[4] for x in g)
        worst = min(g, key=lambda x: x[4])
        out.append("")
        out.append(
            f"Median: **{med * 100:.1f}% fewer misses** than allkeys-lru (goal: at least 8%: "
            f"{'met' if med >= 0.08 else 'NOT met, short by %.1f points' % ((0.08 - med) * 100)}). "
            f"Worst case: {worst[0]} {worst[1] * 100:g}% at {worst[4] * 100:+.1f}% (goal: never worse than LRU by more "
            f"than 1%: {'met' if worst[4] >= -0.01 else 'NOT met'})."
        )
        rl = [(w, f) for w, f, *_ in g if (w, f, "allkeys-lru") in redis]
        if rl:
            red = statistics.median(1 - larder[(w, f, "allkeys-s3fifo")]["miss_ratio"] / redis[(w, f, "allkeys-lru")]["miss_ratio"]
                                    for w, f in rl)
            out.append(f"Against Redis 7.0's own allkeys-lru on the same replay the median is {red * 100:.1f}% fewer misses.")
        out.append("")
    out.append("## Measured: SET latency under eviction, and the limit")
    out.append("")
    out.append("`hitratio --latency`: SETs of mixed sizes (90% 100 B, 10% 16 KiB) from N connections, three runs a")
    out.append("round: fresh keys with no limit; a bounded key set overwritten in a cycle using about the limited")
    out.append("run's memory with no eviction (the same load without eviction); fresh keys under `maxmemory` (64 MiB")
    out.append("over the baseline), evicting. `INFO memory` is polled every 10 ms for the peak.")
    out.append("")
    latency_table(out, load("larder-latency.jsonl") + load("larder-latency-lru.jsonl"), "Larder")
    latency_table(out, load("redis-7.0-latency-1conn.jsonl"), "Redis 7.0")
    with open(os.path.join(DOCS, "eviction.md"), "w") as f:
        f.write("\n".join(out).rstrip() + "\n")
    chart(larder, redis, os.path.join(DOCS, "eviction.png"))
    print("wrote docs/eviction.md and docs/eviction.png")


if __name__ == "__main__":
    main()
