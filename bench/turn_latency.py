"""Turn latency of 法援助手: the gateway's overhead, and whether long chats stay fast.

    .venv/bin/python -m bench.turn_latency [--conversations N --turns M
        --concurrency C --long-turns 400]

It starts the real stack (action server, Rasa, gateway) on free ports with a
temporary var dir, so it never touches var/ or a running `./dev run`, and
measures two things. Needs a trained model (`./dev setup`).

1. Concurrent load. N conversations of M turns, at most C users talking at
   once, sent through the gateway (POST /api/chat) and then, with other sender
   ids, straight to Rasa's REST channel (POST /webhooks/rest/webhook). The table
   gives p50/p95/p99 latency and throughput for each, and a "gateway / rasa"
   row: a p50 or p95 ratio near 1.0 and a throughput ratio near 1.0 mean the
   gateway adds little; a latency ratio of 1.3 means it adds 30 %.

2. Long conversation. One sender sends --long-turns turns one after the other
   through the gateway. The time of turn 1, 100, 200, 300 and 400 (each the
   median of five consecutive turns, one full cycle of the messages) shows
   whether the cost of a turn grows with the conversation. It is measured with
   the project's RollingSessionTrackerStore, then on a second stack whose Rasa
   uses Rasa's plain SQLTrackerStore (a temporary endpoints file; the project's
   endpoints.yml is not changed). turn400/turn1 near 1 means flat; the plain
   store's ratio shows what rolling sessions save.

The stacks run one after the other, never at the same time. The machine is
shared and noisy: compare the ratios within one run, not absolute numbers
across runs. A warm-up (not measured) runs first on every stack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench import API_HEADERS
from bot.messages import BUSY_REPLY, SLOW_REPLY
from scripts.launcher import Ports, Service, Stack, StartError
from scripts.model_cache import PROJECT_DIR, model_path

# Realistic first turns that the current model understands (greet,
# what_is_legal_aid, ask_hotline — a custom action —, bot_challenge, thank).
MESSAGES = ("你好", "法律援助是什么", "热线电话是多少", "你是机器人吗", "谢谢")
WINDOW = 5  # turns per long-conversation sample: one full cycle of MESSAGES
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60)
FAILED_REPLIES = {BUSY_REPLY, SLOW_REPLY}


@dataclass
class PlainSQLStack(Stack):
    """The same stack, but its Rasa reads another endpoints file (plain SQLTrackerStore)."""

    endpoints: Path = Path("endpoints.yml")

    def _rasa_service(self) -> Service:
        service = super()._rasa_service()
        service.command[service.command.index("--endpoints") + 1] = str(self.endpoints)
        return service


def write_plain_sql_endpoints(path: Path, db: Path) -> Path:
    """An endpoints file like the project's, with Rasa's own SQL tracker store."""
    path.write_text(
        "action_endpoint:\n"
        "  url: ${ACTIONS_WEBHOOK_URL}\n"
        "  headers:\n"
        "    X-Actions-Secret: ${ACTIONS_SECRET}\n"
        "tracker_store:\n"
        "  type: SQL\n"
        "  dialect: sqlite\n"
        f"  db: {json.dumps(str(db))}\n",
        encoding="utf-8",
    )
    return path


@dataclass
class Timings:
    """Latencies (seconds) of the successful requests of one run, and its failures."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def throughput(self) -> float:
        return self.requests / self.wall if self.wall else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def send_turn(
    session: aiohttp.ClientSession, url: str, sender: str, message: str
) -> tuple[float, bool]:
    """POST one user message; its latency and whether a real answer came back."""
    started = time.perf_counter()
    try:
        async with session.post(url, json={"sender": sender, "message": message}) as response:
            body: Any = await response.json(content_type=None)
            ok = response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return time.perf_counter() - started, False
    elapsed = time.perf_counter() - started
    # An empty list or the gateway's polite busy answer is not a served turn.
    ok = ok and isinstance(body, list) and bool(body)
    ok = ok and not any(reply.get("text") in FAILED_REPLIES for reply in body)
    return elapsed, ok


async def run_load(
    url: str, prefix: str, conversations: int, turns: int, concurrency: int
) -> Timings:
    """N conversations of M turns, at most C of them at the same time."""
    timings = Timings()
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)

    async with aiohttp.ClientSession(
        connector=connector, timeout=REQUEST_TIMEOUT, headers=API_HEADERS
    ) as session:

        async def conversation(index: int) -> None:
            async with gate:
                for turn in range(turns):
                    message = MESSAGES[(index + turn) % len(MESSAGES)]
                    elapsed, ok = await send_turn(session, url, f"{prefix}-{index}", message)
                    if ok:
                        timings.latencies.append(elapsed)
                    else:
                        timings.errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(conversation(i) for i in range(conversations)))
        timings.wall = time.perf_counter() - started
    return timings


async def run_long_conversation(url: str, sender: str, turns: int) -> list[float]:
    """Latency (seconds) of each of `turns` sequential turns of one sender; NaN if failed."""
    latencies: list[float] = []
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT, headers=API_HEADERS) as session:
        for turn in range(turns):
            elapsed, ok = await send_turn(session, url, sender, MESSAGES[turn % len(MESSAGES)])
            latencies.append(elapsed if ok else math.nan)
    return latencies


def warm_up(stack: Stack, run_id: str) -> None:
    """A few unmeasured turns through both entry points (loads models, JIT, caches)."""
    for target, url in targets(stack).items():
        asyncio.run(run_load(url, f"warmup-{target}-{run_id}", 2, len(MESSAGES), 2))


def targets(stack: Stack) -> dict[str, str]:
    return {
        "gateway": f"{stack.gateway_url}/api/chat",
        "rasa": f"{stack.rasa_url}/webhooks/rest/webhook",
    }


def checkpoints(turns: int) -> list[int]:
    """Turn 1 and the turns at each quarter: 1, 100, 200, 300, 400 for 400 turns."""
    return sorted({1, *(max(1, turns * quarter // 4) for quarter in range(1, 5))})


def window_median(latencies: Sequence[float], turn: int) -> float:
    """Median of turns turn..turn+4 (1-based), shifted back to stay inside the run."""
    start = max(0, min(turn - 1, len(latencies) - WINDOW))
    window = [x for x in latencies[start : start + WINDOW] if not math.isnan(x)]
    return statistics.median(window) if window else math.nan


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain-text columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def ratio(a: float, b: float) -> str:
    return "n/a" if not b or math.isnan(a) or math.isnan(b) else f"{a / b:.2f}"


def load_report(args: argparse.Namespace, gateway: Timings, rasa: Timings) -> str:
    rows = []
    for label, t in (("gateway  POST /api/chat", gateway), ("rasa     POST /webhooks/rest", rasa)):
        rows.append(
            [label, str(t.requests), str(t.errors)]
            + [ms(percentile(t.latencies, p)) for p in (50, 95, 99)]
            + [f"{t.throughput:.1f}"]
        )
    p50, p95 = (
        ratio(percentile(gateway.latencies, p), percentile(rasa.latencies, p)) for p in (50, 95)
    )
    rows.append(
        ["ratio gateway / rasa", "", "", p50, p95, "", ratio(gateway.throughput, rasa.throughput)]
    )
    header = ["target", "requests", "errors", "p50 ms", "p95 ms", "p99 ms", "req/s"]
    title = (
        f"Concurrent load: {args.conversations} conversations x {args.turns} turns, "
        f"{args.concurrency} users at a time (after an unmeasured warm-up)"
    )
    return f"{title}\n{format_table(header, rows)}"


def long_report(turns: int, runs: dict[str, list[float]]) -> str:
    marks = checkpoints(turns)
    header = ["tracker store (one sender, via gateway)", *[f"turn {k}" for k in marks]]
    header.append(f"turn{marks[-1]}/turn1")
    rows = []
    for label, latencies in runs.items():
        medians = [window_median(latencies, k) for k in marks]
        failed = sum(math.isnan(x) for x in latencies)
        note = f" ({failed} failed)" if failed else ""
        rows.append([label + note, *map(ms, medians), ratio(medians[-1], medians[0])])
    note = ""
    if session_turns := rolling_session_turns():
        last = (turns - 1) % session_turns + 1
        note = (
            f"\nThe rolling store starts a new session every {session_turns} user turns, so its "
            f"cost is a sawtooth, bounded but not flat:\nturn 1 is the start of a session, "
            f"turn {turns} is turn {last} of one. Flat enough means turns 100..{turns} do not grow."
        )
    title = (
        f"Long conversation: {turns} sequential turns; ms per turn = median of turns "
        f"k..k+{WINDOW - 1} (the last window ends at turn {turns})"
    )
    return f"{title}\n{format_table(header, rows)}{note}"


def rolling_session_turns() -> int | None:
    """max_session_turns of the project's tracker store, from endpoints.yml."""
    endpoints = yaml.safe_load((PROJECT_DIR / "endpoints.yml").read_text(encoding="utf-8"))
    value = (endpoints.get("tracker_store") or {}).get("max_session_turns")
    return int(value) if value else None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20, help="N (default 20)")
    parser.add_argument("--turns", type=int, default=10, help="M turns each (default 10)")
    parser.add_argument("--concurrency", type=int, default=5, help="C users (default 5)")
    parser.add_argument("--long-turns", type=int, default=400, help="default 400")
    args = parser.parse_args(argv)
    for name in ("conversations", "turns", "concurrency"):
        if not 1 <= getattr(args, name) <= 1000:
            parser.error(f"--{name} must be between 1 and 1000")
    if not WINDOW <= args.long_turns <= 5000:
        parser.error(f"--long-turns must be between {WINDOW} and 5000")
    return args


def ready_to_measure() -> bool:
    """A trained model is there (the benchmarks start the real stack); the
    machine's load is printed first, since every number depends on it."""
    if not model_path().is_file():
        print(f"[bench] no trained model at {model_path()}; run ./dev setup first")
        return False
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"[bench] {os.cpu_count()} cores, load average {load} at start", flush=True)
    return True


def measured_in_a_stack(prefix: str, measure: Callable[[Path], str], reports: list[str]) -> int:
    """`measure` in a temporary var dir, its report printed after `reports`; 1 when
    the stack does not start."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        try:
            reports.append(measure(Path(tmp)))
        except StartError as error:
            print(f"[bench] ERROR: {error}", file=sys.stderr)
            return 1
    print("\n" + "\n\n".join(reports) + f"\n{NOISE_NOTE}")
    return 0


NOISE_NOTE = (
    "The machine is shared and noisy: compare the ratios within this run, "
    "not absolute times across runs."
)


def measure_project(args: argparse.Namespace, var_dir: Path, run_id: str) -> list[float]:
    """Load and long conversation on the project's stack; prints the load table."""
    stack = Stack(ports=Ports.free(), var_dir=var_dir)
    try:
        print("[bench] starting the project stack (Rasa takes about a minute)…", flush=True)
        stack.start()
        warm_up(stack, run_id)
        urls = targets(stack)
        print("[bench] concurrent load through the gateway, then straight to Rasa…", flush=True)
        load = (args.conversations, args.turns, args.concurrency)
        gateway = asyncio.run(run_load(urls["gateway"], f"load-gw-{run_id}", *load))
        rasa = asyncio.run(run_load(urls["rasa"], f"load-rasa-{run_id}", *load))
        print(f"\n{load_report(args, gateway, rasa)}\n{NOISE_NOTE}\n", flush=True)
        print(f"[bench] long conversation ({args.long_turns} turns)…", flush=True)
        return asyncio.run(
            run_long_conversation(urls["gateway"], f"long-{run_id}", args.long_turns)
        )
    finally:
        stack.stop()


def measure_plain_sql(args: argparse.Namespace, var_dir: Path, run_id: str) -> list[float]:
    """The long conversation on a stack whose Rasa uses the plain SQLTrackerStore."""
    var_dir.mkdir(parents=True, exist_ok=True)
    endpoints = write_plain_sql_endpoints(var_dir / "endpoints.yml", var_dir / "plain_tracker.db")
    stack = PlainSQLStack(ports=Ports.free(), var_dir=var_dir, endpoints=endpoints)
    try:
        print("[bench] starting the baseline stack (plain SQLTrackerStore)…", flush=True)
        stack.start()
        warm_up(stack, run_id)
        print(f"[bench] long conversation ({args.long_turns} turns), baseline…", flush=True)
        url = targets(stack)["gateway"]
        return asyncio.run(run_long_conversation(url, f"long-{run_id}", args.long_turns))
    finally:
        stack.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    model = model_path()
    if not model.is_file():
        print(f"[bench] no trained model at {model}; run ./dev setup first")
        return 1
    run_id = uuid.uuid4().hex[:8]
    long_runs: dict[str, list[float]] = {}
    exit_code = 0
    with tempfile.TemporaryDirectory(prefix="fayuan-bench-") as tmp:
        try:
            rolling = measure_project(args, Path(tmp) / "rolling", run_id)
        except StartError as error:
            print(f"[bench] ERROR: {error}", file=sys.stderr)
            return 1
        long_runs["RollingSessionTrackerStore (project)"] = rolling
        try:
            long_runs["plain SQLTrackerStore"] = measure_plain_sql(
                args, Path(tmp) / "plain", run_id
            )
        except StartError as error:
            # The project's own numbers are still worth printing.
            print(f"[bench] ERROR: baseline: {error}", file=sys.stderr)
            exit_code = 1
    print(f"\n{long_report(args.long_turns, long_runs)}\n{NOISE_NOTE}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
