#!/usr/bin/env python3
"""Prints the Markdown table of a bench/run results file.

Each input line is {"system", "figure", "round", "result"}, where result is
one JSON object from sanctum-loadgen. Every cell is the median over rounds.
The "added by proxy" rows subtract the direct-to-upstream run of the same
round before taking the median. The idle figure has one run per system,
because bench/run measures it only on fresh processes. Ratios are sanctum divided by the other
system, so below 1 means sanctum used less time, memory or CPU, and for
rates (marked "higher is better") above 1 means sanctum was faster.

Session tickets: the "handshake" figure runs each system with its default
(sanctum off, nginx and HAProxy on), "handshake-flip" with the other
setting, and "resume" with tickets on everywhere.
"""

import json
import statistics
import sys
from collections import defaultdict

SYSTEMS = ["sanctum", "nginx", "haproxy"]


def dig(result, path):
    value = result
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def load(path):
    runs = defaultdict(dict)  # (system, figure) -> round -> result
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                record = json.loads(line)
                runs[(record["system"], record["figure"])][record["round"]] = record["result"]
    return runs


def per_round(runs, system, figure, compute):
    values = []
    for result in runs.get((system, figure), {}).values():
        value = compute(result)
        if value is not None:
            values.append(value)
    return values


def added_by_proxy(runs, system, path):
    """Per round: the system's value minus the direct run's value."""
    direct = runs.get(("direct", "sse"), {})
    values = []
    for round_number, result in runs.get((system, "sse"), {}).items():
        if round_number in direct:
            mine, base = dig(result, path), dig(direct[round_number], path)
            if mine is not None and base is not None:
                values.append(mine - base)
    return values


def handshakes_per_cpu_second(result):
    cpu = result.get("cpu_us_per_op")
    return 1e6 / cpu if cpu else None


def net_handshake_rate(runs, system):
    """Full handshakes per CPU-second with one keep-alive request's CPU
    (same round) taken out of each connection's cost: an estimate."""
    keepalive = runs.get((system, "keepalive"), {})
    values = []
    for round_number, result in runs.get((system, "handshake"), {}).items():
        if round_number in keepalive:
            connection = result.get("cpu_us_per_op")
            request = keepalive[round_number].get("cpu_us_per_op")
            if connection and request is not None and connection > request:
                values.append(1e6 / (connection - request))
    return values


# (label, unit, figure, source of the value per round, target for sanctum)
ROWS = [
    ("keep-alive requests/s (higher is better)", "req/s", "keepalive", "rate_per_s", None),
    ("keep-alive latency p50", "µs", "keepalive", "latency_us.p50", None),
    ("keep-alive latency p99", "µs", "keepalive", "latency_us.p99", None),
    ("proxy CPU per keep-alive request", "µs", "keepalive", "cpu_us_per_op", "≤ 18"),
    ("full handshakes/s (higher is better)", "1/s", "handshake", "rate_per_s", None),
    ("full handshake latency p50", "µs", "handshake", "handshake_us.p50", None),
    ("full handshake latency p99", "µs", "handshake", "handshake_us.p99", None),
    ("proxy CPU per full-handshake connection", "µs", "handshake", "cpu_us_per_op", None),
    ("full handshakes per proxy CPU-second (higher is better)", "1/s", "handshake",
     handshakes_per_cpu_second, "≥ 1600"),
    ("same, request CPU taken out (estimate; higher is better)", "1/s", "handshake", "net", None),
    ("full handshakes per proxy CPU-second, other ticket setting (higher is better)", "1/s",
     "handshake-flip", handshakes_per_cpu_second, None),
    ("full handshakes per proxy CPU-second, tickets off everywhere (higher is better)", "1/s",
     "notickets", handshakes_per_cpu_second, None),
    ("resumed handshakes/s (higher is better)", "1/s", "resume", "rate_per_s", None),
    ("resumed handshake latency p50", "µs", "resume", "handshake_us.p50", None),
    ("proxy CPU per resumed connection", "µs", "resume", "cpu_us_per_op", None),
    ("share of connections resumed", "", "resume",
     lambda r: r["resumed"] / r["operations"] if r.get("operations") else None, None),
    ("SSE first event p50 (client view)", "µs", "sse", "first_event_us.p50", None),
    ("SSE first event p50 added by proxy", "µs", "sse", "added:first_event_us.p50", "< 500"),
    ("SSE per-event latency p50 (emit to read)", "µs", "sse", "event_added_us.p50", None),
    ("SSE per-event latency p50 added by proxy", "µs", "sse", "added:event_added_us.p50", "< 100"),
    ("SSE per-event latency p99 (emit to read)", "µs", "sse", "event_added_us.p99", None),
    ("SSE per-event latency p99 added by proxy", "µs", "sse", "added:event_added_us.p99", "< 300"),
    ("proxy CPU per SSE event", "µs", "sse", "cpu_us_per_event", None),
    ("RSS growth per idle mTLS connection", "KiB", "idle", "rss_kib_per_connection", "≤ 16"),
]


def values_for(runs, system, figure, source):
    if figure == "notickets":
        # sanctum's default is tickets off; nginx and HAProxy need the
        # second port for that.
        figure = "handshake" if system == "sanctum" else "handshake-flip"
    if source == "net":
        return net_handshake_rate(runs, system)
    if callable(source):
        return per_round(runs, system, figure, source)
    if source.startswith("added:"):
        if system == "direct":
            return []
        return added_by_proxy(runs, system, source[len("added:"):])
    return per_round(runs, system, figure, lambda r: dig(r, source))


def fmt(value):
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def main():
    runs = load(sys.argv[1])
    rounds = max((len(r) for r in runs.values()), default=0)
    print(f"Medians over {rounds} round(s); idle memory is one run per system. "
          "direct = the echo upstream without a proxy.")
    print()
    print("| figure | unit | sanctum | nginx | HAProxy | direct | sanctum/nginx | sanctum/HAProxy | target (sanctum) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for label, unit, figure, source, target in ROWS:
        medians = {}
        for system in SYSTEMS + ["direct"]:
            values = values_for(runs, system, figure, source)
            medians[system] = statistics.median(values) if values else None
        ratios = []
        for other in ("nginx", "haproxy"):
            a, b = medians["sanctum"], medians[other]
            ratios.append(fmt(a / b) if a is not None and b not in (None, 0) else "–")
        cells = [fmt(medians[s]) for s in SYSTEMS + ["direct"]]
        print(f"| {label} | {unit} | " + " | ".join(cells + ratios) + f" | {target or ''} |")
    errors = sum(dig(r, "errors") or 0 for rs in runs.values() for r in rs.values())
    print()
    print(f"Load generator errors over all runs: {errors}.")


if __name__ == "__main__":
    main()
