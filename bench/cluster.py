"""Many copies of 法援助手: one Rasa server against two, the cost of shared state,
and the capacity table docs/scaling.md uses.

    .venv/bin/python -m bench.cluster [--quick] [--rates 5 10 15 …] [--seconds 20]

1. The cluster of `./dev cluster` (scripts/cluster.py) with one copy of each
   process, then with two, behind HAProxy: turns arriving at each rate
   (open loop, as bench/turn_latency.py's saturation) through the one address;
   the highest rate whose p95 stays under 500 ms. On a machine of two cores
   the second copy shares the same cores: this measures what the cluster's
   machinery costs and what it gains there, not what a second machine gains.
2. The shared state's cost per operation, in this process's memory and in a
   real Redis on loopback (bot/shared_state.py), and per WeChat turn (the
   operations one turn makes).
3. The capacity table: copies and two-core machines for N conversations a day
   and M simultaneous hotline calls, from the figures of (1) and the hotline's
   measured calls per gateway (bench/hotline.py, HOTLINE_MAX_CALLS).

Needs a trained model (`./dev setup`), redis-server, PostgreSQL and HAProxy.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from bench.turn_latency import (
    SATURATION_P95_SECONDS,
    format_table,
    percentile,
    run_sequential,
    saturation,
    saturation_point,
    saturation_report,
)
from bot.config import Config
from bot.shared_state import LocalState, RedisState, SharedState
from scripts.cluster import Cluster
from scripts.launcher import StartError, free_port
from scripts.local_redis import RedisServer

# The figures of the last full run (2026-12-07, docs/scaling.md), shown beside a new run's.
PREVIOUS: dict[str, str] = {"turns/s 1": "20", "turns/s 2": "30"}
# What one WeChat text turn asks of the shared state: the nonce and the message
# claimed, the choices read and written, the person's lock taken and given back,
# the expected answers written.
OPERATIONS_PER_WECHAT_TURN = 7
# The capacity table's assumptions (docs/scaling.md explains them).
TURNS_PER_CONVERSATION = 12
BUSIEST_HOUR_SHARE = 0.15
PEAK_WITHIN_HOUR = 2.0
CONVERSATIONS_A_DAY = (1_000, 10_000, 100_000)
SIMULTANEOUS_CALLS = (20, 100, 500)


def measure_cluster(nodes: int, rates: Sequence[float], seconds: float) -> dict:
    run_id = uuid.uuid4().hex[:6]
    cluster = Cluster(
        nodes=nodes,
        gateway_port=free_port(),
        var_dir=Path(tempfile.mkdtemp(prefix="fayuan-bench-cluster-")),
        env={"RATE_LIMIT_CHAT": "0", "TTS_ENGINE": "espeak", "TTS_WORKERS": "1"},
    )
    print(f"[bench] starting the cluster with {nodes} cop{'y' if nodes == 1 else 'ies'}…")
    cluster.start()
    try:
        url = f"{cluster.gateway_url}/api/chat"
        asyncio.run(run_sequential(url, f"warmup-{run_id}", 20))
        alone = asyncio.run(run_sequential(url, f"alone-{run_id}", 30))
        levels = saturation(url, f"n{nodes}-{run_id}", rates, seconds)
    finally:
        cluster.stop()
    return {"alone": alone, "levels": levels, "point": saturation_point(levels)}


async def state_cost(state: SharedState, rounds: int) -> list[float]:
    """Milliseconds per operation: `rounds` of first, get, put and pop."""
    costs = []
    for _ in range(rounds):
        key = f"bench:{uuid.uuid4().hex}"
        started = time.perf_counter()
        await state.first(key, "value", 60)
        await state.get(key)
        await state.put(key, "other", 60)
        await state.pop(key)
        costs.append((time.perf_counter() - started) * 1000 / 4)
    await state.close()
    return costs


def measure_state(rounds: int) -> dict[str, list[float]]:
    server = RedisServer()
    server.start()
    try:
        return {
            "in memory (one gateway)": asyncio.run(state_cost(LocalState(), rounds)),
            "Redis on loopback": asyncio.run(state_cost(RedisState(server.url), rounds)),
        }
    finally:
        server.stop()


def state_report(costs: dict[str, list[float]]) -> str:
    rows = [
        [
            name,
            f"{statistics.median(values):.3f}",
            f"{percentile(values, 95):.3f}",
            f"{statistics.median(values) * OPERATIONS_PER_WECHAT_TURN:.2f}",
        ]
        for name, values in costs.items()
    ]
    header = [
        "shared state",
        "ms/op p50",
        "ms/op p95",
        f"ms per WeChat turn ({OPERATIONS_PER_WECHAT_TURN} ops)",
    ]
    return "The shared state's cost\n" + format_table(header, rows)


def cluster_report(results: dict[int, dict]) -> str:
    rows = []
    for nodes, result in results.items():
        point = result["point"]
        alone = result["alone"].latencies
        rows.append(
            [
                f"{nodes} gateway(s) + {nodes} Rasa server(s)",
                f"{percentile(alone, 50) * 1000:.0f}",
                "none held" if point is None else f"{point:g}",
                PREVIOUS.get(f"turns/s {nodes}", "—"),
            ]
        )
    header = [
        "cluster on this machine",
        "one person p50 ms",
        f"turns/s, p95 ≤ {SATURATION_P95_SECONDS * 1000:.0f} ms",
        "before",
    ]
    return "One copy against two, through HAProxy\n" + format_table(header, rows)


def capacity_report(turns_per_second: float, calls_per_gateway: int) -> str:
    rows = []
    for conversations in CONVERSATIONS_A_DAY:
        peak = conversations * TURNS_PER_CONVERSATION * BUSIEST_HOUR_SHARE / 3600 * PEAK_WITHIN_HOUR
        copies = max(2, math.ceil(peak / turns_per_second))
        rows.append(
            [f"{conversations:,} conversations a day", f"{peak:.1f}", str(copies), str(copies)]
        )
    for calls in SIMULTANEOUS_CALLS:
        gateways = max(2, math.ceil(calls / calls_per_gateway))
        rows.append(
            [f"{calls} simultaneous calls", "—", f"{gateways} hotline gateways", str(gateways)]
        )
    header = ["load", "peak turns/s", "copies (Rasa + gateway + actions)", "two-core machines"]
    return (
        f"Capacity: {turns_per_second:g} turns/s per copy on two cores (measured above), "
        f"{TURNS_PER_CONVERSATION} turns a conversation, {BUSIEST_HOUR_SHARE:.0%} of a day's "
        f"conversations in its busiest hour, peaks {PEAK_WITHIN_HOUR:g}× that hour's mean; "
        f"{calls_per_gateway} calls per hotline gateway; never fewer than 2 copies\n"
        + format_table(header, rows)
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rates, shorter runs")
    parser.add_argument("--rates", type=float, nargs="+", default=[5, 10, 15, 20, 25, 30, 40])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--state-rounds", type=int, default=2000)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.rates, args.seconds, args.state_rounds = [5, 10, 20], 8, 300
    reports = [state_report(measure_state(args.state_rounds))]
    print(reports[-1], flush=True)
    results: dict[int, dict] = {}
    try:
        for nodes in (1, 2):
            results[nodes] = measure_cluster(nodes, args.rates, args.seconds)
            print(saturation_report(results[nodes]["levels"]), flush=True)
    except StartError as error:
        print(f"[bench] ERROR: {error}", file=sys.stderr)
        return 1
    reports.append(cluster_report(results))
    per_copy = results[1]["point"] or min(args.rates)
    reports.append(capacity_report(per_copy, Config().hotline_max_calls))
    print("\n\n".join(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
