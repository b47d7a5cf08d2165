"""Turn latency of 法援助手: where a turn's time goes, under load, and at length.

    .venv/bin/python -m bench.turn_latency [--quick] [--users 20 --think 1 --seconds 30
        --rates 10 20 30 40 50 --memory-conversations 1000 --long-turns 400]

It starts the real stack (action server, Rasa, gateway) on free ports with a
temporary var dir, so it never touches var/ or a running `./dev run`, with the
turn timings on (TURN_TIMINGS: rasa_ext/timings.py, stage names and ms only).
Needs a trained model (`./dev setup`). In order:

1. One person alone: --alone-turns turns one after the other through the
   gateway (POST /api/chat), then straight to Rasa's REST channel.
2. Under load: --users people, each waiting --think seconds after an answer
   before the next turn, for --seconds; through the gateway, then straight to
   Rasa. A "gateway / rasa" p95 ratio near 1.0 means the gateway adds little.
3. The breakdown of (1) and (2): each stage's mean ms per turn from the Rasa
   server's own timings, with the whole turn as the person saw it beside them.
4. Saturation: turns arriving at each of --rates per second (open loop: new
   people keep coming whatever the answers' delay) for --rate-seconds; the
   highest rate whose p95 stays under 500 ms.
5. Memory: the resident memory of each process (with its children) after the
   warm-up and after --memory-conversations short conversations.
6. Long conversation: one sender, --long-turns turns, on the project's
   RollingSessionTrackerStore and on a second stack with Rasa's plain
   SQLTrackerStore; turn 1, 100, … 400 (each the median of five turns).
7. The goals of issue 23, met or not, beside the figures before the work.

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
from bench.processes import tree_cpu_seconds, tree_rss_bytes
from bot.messages import BUSY_REPLY, SLOW_REPLY
from rasa_ext import timings
from scripts.launcher import Ports, Service, Stack, StartError
from scripts.model_cache import PROJECT_DIR, model_path

# Realistic first turns that the current model understands (greet,
# what_is_legal_aid, ask_hotline — a custom action —, bot_challenge, thank).
MESSAGES = ("你好", "法律援助是什么", "热线电话是多少", "你是机器人吗", "谢谢")
WINDOW = 5  # turns per long-conversation sample: one full cycle of MESSAGES
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60)
FAILED_REPLIES = {BUSY_REPLY, SLOW_REPLY}
SATURATION_P95_SECONDS = 0.5
STACK_ENV = {
    timings.ENVIRONMENT_SWITCH: "1",
    # Every simulated person comes from one loopback address: the per-address
    # limit (60 turns a minute, tests/security/test_rate_limits.py) is not measured here.
    "RATE_LIMIT_CHAT": "0",
}
# Stages shorter than this (mean per turn, in every phase) are left out of the breakdown.
SMALLEST_STAGE_MS = 0.5


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

    def record(self, elapsed: float, ok: bool) -> None:
        if ok:
            self.latencies.append(elapsed)
        else:
            self.errors += 1

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


async def run_think_load(
    url: str, prefix: str, users: int, think: float, seconds: float
) -> Timings:
    """`users` people, each sending a turn, reading the answer for `think` seconds,
    and sending the next, for `seconds` (the issue's "20 people, 1 s between")."""
    timings = Timings()
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(
        connector=connector, timeout=REQUEST_TIMEOUT, headers=API_HEADERS
    ) as session:

        async def person(index: int) -> None:
            turn = 0
            await asyncio.sleep(think * index / users)  # not all at the same instant
            while time.perf_counter() < deadline:
                message = MESSAGES[(index + turn) % len(MESSAGES)]
                elapsed, ok = await send_turn(session, url, f"{prefix}-{index}", message)
                timings.record(elapsed, ok)
                turn += 1
                await asyncio.sleep(think)

        started = time.perf_counter()
        await asyncio.gather(*(person(i) for i in range(users)))
        timings.wall = time.perf_counter() - started
    return timings


async def run_open_loop(url: str, prefix: str, rate: float, seconds: float) -> Timings:
    """Turns arriving at `rate` per second whether or not earlier ones are answered
    (new people keep coming), each from one of many senders, for `seconds`."""
    timings = Timings()
    senders = max(1, int(rate * 4))  # a sender's next turn comes ~4 s after its last
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=REQUEST_TIMEOUT, headers=API_HEADERS
    ) as session:

        async def one(index: int) -> None:
            message = MESSAGES[index % len(MESSAGES)]
            elapsed, ok = await send_turn(session, url, f"{prefix}-{index % senders}", message)
            timings.record(elapsed, ok)

        started = time.perf_counter()
        tasks = []
        for index in range(int(rate * seconds)):
            tasks.append(asyncio.create_task(one(index)))
            await asyncio.sleep(max(0.0, started + (index + 1) / rate - time.perf_counter()))
        await asyncio.gather(*tasks)
        timings.wall = time.perf_counter() - started
    return timings


async def run_conversations(url: str, prefix: str, conversations: int, at_once: int) -> Timings:
    """`conversations` short conversations (one cycle of MESSAGES each), `at_once` at a time."""
    timings = Timings()
    gate = asyncio.Semaphore(at_once)
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT, headers=API_HEADERS) as session:

        async def conversation(index: int) -> None:
            async with gate:
                for message in MESSAGES:
                    timings.record(*await send_turn(session, url, f"{prefix}-{index}", message))

        started = time.perf_counter()
        await asyncio.gather(*(conversation(i) for i in range(conversations)))
        timings.wall = time.perf_counter() - started
    return timings


async def run_sequential(url: str, prefix: str, turns: int) -> Timings:
    """One person alone: `turns` turns one after the other, a new sender every cycle."""
    timings = Timings()
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT, headers=API_HEADERS) as session:
        started = time.perf_counter()
        for turn in range(turns):
            sender = f"{prefix}-{turn // len(MESSAGES)}"
            elapsed, ok = await send_turn(session, url, sender, MESSAGES[turn % len(MESSAGES)])
            timings.record(elapsed, ok)
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
        asyncio.run(run_sequential(url, f"warmup-{target}-{run_id}", 3 * len(MESSAGES)))


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


def load_report(title: str, gateway: Timings, rasa: Timings) -> str:
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
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--alone-turns", type=int, default=50, help="one person's turns (50)")
    parser.add_argument("--users", type=int, default=20, help="people under load (20)")
    parser.add_argument("--think", type=float, default=1.0, help="s between turns (1.0)")
    parser.add_argument("--seconds", type=float, default=30.0, help="s of load (30)")
    parser.add_argument(
        "--rates", type=float, nargs="+", default=[10, 20, 30, 40, 50], help="turns/s offered"
    )
    parser.add_argument("--rate-seconds", type=float, default=10.0, help="s per rate (10)")
    parser.add_argument("--memory-conversations", type=int, default=1000, help="(1000)")
    parser.add_argument("--long-turns", type=int, default=400, help="default 400")
    parser.add_argument(
        "--quick", action="store_true", help="a quick variant: fewer turns, people and rates"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.alone_turns, args.users, args.seconds = 15, 5, 8.0
        args.rates, args.rate_seconds = [10.0, 30.0], 5.0
        args.memory_conversations, args.long_turns = 50, 40
    for name in ("alone_turns", "users", "memory_conversations"):
        if not 1 <= getattr(args, name) <= 10_000:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 10000")
    if not WINDOW * 2 <= args.long_turns <= 5000:
        parser.error(f"--long-turns must be between {WINDOW * 2} and 5000")
    if any(not 0 < rate <= 500 for rate in args.rates):
        parser.error("--rates must be between 0 and 500 turns/s")
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


# Where a turn's time goes ----------------------------------------------------------


def log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def rasa_stages(log_path: Path, since: int) -> list[dict[str, float]]:
    """The stages of every Rasa turn logged after byte `since` (rasa_ext/timings.py)."""
    with log_path.open("rb") as log:
        log.seek(since)
        text = log.read().decode("utf-8", errors="replace")
    return [stages for line in text.splitlines() if (stages := timings.parse_line(line))]


def _stage_order(names: set[str]) -> list[str]:
    """A stage, then the stages inside it; the turn's own order at the top level."""
    first = ["total", "tracker_load", "nlu", "extract_slots", "policies"]
    last = ["tracker_save"]

    def key(name: str) -> tuple[int, str]:
        top = name.split("/")[0]
        if top in first:
            return first.index(top), name
        if top in last:
            return len(first) + 2, name
        return len(first) + 1, name  # action/… run between the policies and the save

    return sorted(names, key=key)


def stage_label(name: str) -> str:
    """ "extract_slots/action/x/http" → "    http" under "  action x" under "extract_slots"."""
    if name == "total":
        return "Rasa turn (total)"
    parts: list[str] = []
    for part in name.split("/"):
        if parts and parts[-1] == "action":
            parts[-1] = f"action {part}"
        else:
            parts.append(part)
    return "  " * (len(parts) - 1) + parts[-1]


def breakdown_report(
    phases: dict[str, list[dict[str, float]]], clients: dict[str, Timings], smallest_ms: float
) -> str:
    """Mean ms per turn of each stage, per phase; stages under `smallest_ms` in
    every phase are left out, and what no top-level stage covers is "unaccounted"."""
    names = _stage_order({name for turns in phases.values() for t in turns for name in t})
    means = {
        phase: {name: statistics.fmean(t.get(name, 0.0) for t in turns) for name in names}
        for phase, turns in phases.items()
        if turns
    }
    row = ["whole turn, as the person sees it (gateway)"]
    for phase in means:
        latencies = clients[phase].latencies
        row += [ms(statistics.fmean(latencies)) if latencies else "n/a", ""]
    rows = [row]
    shown = [n for n in names if any(m[n] >= smallest_ms for m in means.values())]
    for name in shown:
        row = [stage_label(name)]
        for phase in means:
            value, total = means[phase][name], means[phase]["total"]
            row += [f"{value:.1f}", f"{100 * value / total:.0f} %" if total else ""]
        rows.append(row)
    tops = [n for n in names if "/" not in n and n != "total"]
    row = ["unaccounted (Rasa's own work between stages)"]
    for phase in means:
        rest = means[phase]["total"] - sum(means[phase][n] for n in tops)
        row += [f"{rest:.1f}", f"{100 * rest / means[phase]['total']:.0f} %"]
    rows.append(row)
    header = ["stage (mean ms per turn)"]
    for phase, turns in phases.items():
        header += [f"{phase} ({len(turns)} turns)", "share"]
    return (
        "Where a turn's time goes: the Rasa server's own timings (rasa_ext/timings.py), "
        f"mean ms per turn; stages under {smallest_ms} ms left out\n" + format_table(header, rows)
    )


# Saturation and memory -------------------------------------------------------------


def saturation(
    url: str, run_id: str, rates: Sequence[float], seconds: float
) -> dict[float, Timings]:
    levels = {}
    for rate in rates:
        print(f"[bench] {rate:g} turns/s offered for {seconds:g} s…", flush=True)
        levels[rate] = asyncio.run(run_open_loop(url, f"rate{rate:g}-{run_id}", rate, seconds))
        if percentile(levels[rate].latencies, 95) > 4 * SATURATION_P95_SECONDS:
            break  # far past saturation: a higher rate only queues more
    return levels


def saturation_point(levels: dict[float, Timings]) -> float | None:
    """The highest rate offered whose p95 stayed under the bound, without errors."""
    held = [
        rate
        for rate, t in levels.items()
        if t.latencies and percentile(t.latencies, 95) <= SATURATION_P95_SECONDS and not t.errors
    ]
    return max(held) if held else None


def saturation_report(levels: dict[float, Timings]) -> str:
    rows = [
        [f"{rate:g}", str(t.requests), str(t.errors), f"{t.throughput:.1f}",
         ms(percentile(t.latencies, 50)), ms(percentile(t.latencies, 95))]
        for rate, t in levels.items()
    ]  # fmt: skip
    header = ["offered turns/s", "turns", "errors", "answered/s", "p50 ms", "p95 ms"]
    return (
        f"Saturation through the gateway: turns arriving at a steady rate (open loop); "
        f"p95 over {SATURATION_P95_SECONDS * 1000:.0f} ms marks the saturation\n"
        + format_table(header, rows)
    )


def per_service(stack: Stack, measure: Callable[[int], float]) -> dict[str, float]:
    """`measure` of each running service's process id."""
    return {
        name: measure(service.process.pid)
        for name, service in stack.services.items()
        if service.process is not None
    }


def stack_cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each service (with its children)."""
    return per_service(stack, tree_cpu_seconds)


def cpu_used_since(stack: Stack, before: dict[str, float]) -> dict[str, float]:
    now = stack_cpu_seconds(stack)
    return {name: now[name] - before.get(name, 0.0) for name in now}


def cpu_report(phases: dict[str, tuple[dict[str, float], Timings]]) -> str:
    """CPU ms per turn of each process, per phase, from the CPU seconds it used
    during the phase; on 2 cores, turns/s cannot exceed 2000 / (whole stack)."""
    names = sorted({name for used, _ in phases.values() for name in used})
    rows = []
    for name in [*names, "whole stack"]:
        row = [name]
        for used, client in phases.values():
            seconds = sum(used.values()) if name == "whole stack" else used.get(name, 0.0)
            row.append(f"{1000 * seconds / client.requests:.1f}" if client.requests else "n/a")
        rows.append(row)
    header = ["process (with its children)", *(f"{phase} CPU ms/turn" for phase in phases)]
    return (
        "CPU time per turn through the gateway, by process (from /proc; the turns' own "
        "work, not time waiting)\n" + format_table(header, rows)
    )


def stack_memory_mb(stack: Stack) -> dict[str, float]:
    memory = per_service(stack, lambda pid: tree_rss_bytes(pid) / 2**20)
    memory["whole stack"] = sum(memory.values())
    return memory


def settled_memory_mb(stack: Stack, longest: float = 180.0) -> dict[str, float]:
    """The stack's memory once it stops growing: the gateway starts its speech
    workers (the neural voice loads for a minute) after it answers /healthz."""
    memory = stack_memory_mb(stack)
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        time.sleep(5)
        later = stack_memory_mb(stack)
        if abs(later["whole stack"] - memory["whole stack"]) < 0.01 * memory["whole stack"]:
            return later
        memory = later
    return memory


def memory_report(at_rest: dict[str, float], after: dict[str, float], conversations: int) -> str:
    rows = [[name, f"{at_rest[name]:.0f}", f"{after.get(name, math.nan):.0f}"] for name in at_rest]
    header = [
        "process (with its children)",
        "at rest MB",
        f"after {conversations} conversations MB",
    ]
    return "Resident memory\n" + format_table(header, rows)


# Goals -----------------------------------------------------------------------------


def goal_row(goal: str, before: str, now: float | None, target: str, met: bool | None) -> list[str]:
    shown = "n/a" if now is None or math.isnan(now) else f"{now:.2f}".rstrip("0").rstrip(".")
    return [goal, before, shown, target, {True: "met", False: "not met", None: "n/a"}[met]]


def goals_report(figures: dict[str, float | None], users: int, think: float) -> str:
    """Issue 23's goals, each with the figure measured before it and now."""

    def at_most(name: str, bound: float) -> bool | None:
        value = figures.get(name)
        return None if value is None or math.isnan(value) else value <= bound

    def at_least(name: str, bound: float) -> bool | None:
        value = figures.get(name)
        return None if value is None or math.isnan(value) else value >= bound

    rows = [
        goal_row("one person: Rasa turn median ms", "66", figures["rasa_alone_p50"], "<= 40",
                 at_most("rasa_alone_p50", 40)),
        goal_row("one person: gateway turn median ms", "88", figures["gateway_alone_p50"], "<= 50",
                 at_most("gateway_alone_p50", 50)),
        goal_row(f"{users} people x {think:g} s: gateway p95 ms", "623", figures["gateway_load_p95"], "<= 150",
                 at_most("gateway_load_p95", 150)),
        goal_row(f"{users} people x {think:g} s: gateway p95 / Rasa p95", "0.92", figures["load_ratio"],
                 "<= 1.10", at_most("load_ratio", 1.10)),
        goal_row("saturation: turns/s with p95 <= 500 ms", "~23 (plain Rasa)",
                 figures["saturation"], ">= 40", at_least("saturation", 40)),
        goal_row("turn 400 / turn 10", "0.98", figures["long_ratio"], "<= 1.2",
                 at_most("long_ratio", 1.2)),
        goal_row("memory after 1,000 conversations MB", "n/a", figures["memory_after"],
                 "<= 2500", at_most("memory_after", 2500)),
    ]  # fmt: skip
    header = ["goal (issue 23)", "before", "now", "goal", ""]
    return (
        "Goals of issue 23 (before: the issue's figures, a fresh clone before the work); "
        "the hotline's greeting and key goals are in `python -m bench.hotline`\n"
        + format_table(header, rows)
    )


def measure_project(args: argparse.Namespace, var_dir: Path, run_id: str) -> dict[str, Any]:
    """Everything but the plain-store baseline, on the project's stack with the
    turn timings on; prints each table as it is measured."""
    stack = Stack(ports=Ports.free(), var_dir=var_dir, env=STACK_ENV)
    rasa_log = stack.services["rasa"].log_path
    try:
        print("[bench] starting the project stack (Rasa takes about a minute)…", flush=True)
        stack.start()
        warm_up(stack, run_id)
        at_rest = settled_memory_mb(stack)
        urls = targets(stack)

        print(f"[bench] one person alone, {args.alone_turns} turns each way…", flush=True)
        since, cpu = log_size(rasa_log), stack_cpu_seconds(stack)
        alone_gateway = asyncio.run(
            run_sequential(urls["gateway"], f"alone-gw-{run_id}", args.alone_turns)
        )
        alone_cpu = cpu_used_since(stack, cpu)
        alone_stages = rasa_stages(rasa_log, since)
        alone_rasa = asyncio.run(
            run_sequential(urls["rasa"], f"alone-rasa-{run_id}", args.alone_turns)
        )
        print(f"\n{load_report('One person alone', alone_gateway, alone_rasa)}\n", flush=True)

        print(
            f"[bench] {args.users} people, {args.think:g} s between turns, {args.seconds:g} s…",
            flush=True,
        )
        since, cpu = log_size(rasa_log), stack_cpu_seconds(stack)
        load = (args.users, args.think, args.seconds)
        load_gateway = asyncio.run(run_think_load(urls["gateway"], f"load-gw-{run_id}", *load))
        load_cpu = cpu_used_since(stack, cpu)
        load_stages = rasa_stages(rasa_log, since)
        load_rasa = asyncio.run(run_think_load(urls["rasa"], f"load-rasa-{run_id}", *load))
        title = f"{args.users} people, {args.think:g} s between their turns, for {args.seconds:g} s"
        print(f"\n{load_report(title, load_gateway, load_rasa)}\n", flush=True)
        print(breakdown_report(
            {"one person": alone_stages, f"{args.users} people": load_stages},
            {"one person": alone_gateway, f"{args.users} people": load_gateway},
            SMALLEST_STAGE_MS,
        ) + "\n", flush=True)  # fmt: skip
        print(cpu_report({
            "one person": (alone_cpu, alone_gateway),
            f"{args.users} people": (load_cpu, load_gateway),
        }) + "\n", flush=True)  # fmt: skip

        levels = saturation(urls["gateway"], run_id, args.rates, args.rate_seconds)
        print(f"\n{saturation_report(levels)}\n", flush=True)

        print(f"[bench] {args.memory_conversations} conversations for the memory…", flush=True)
        asyncio.run(
            run_conversations(urls["gateway"], f"mem-{run_id}", args.memory_conversations, 10)
        )
        after = stack_memory_mb(stack)
        print(f"\n{memory_report(at_rest, after, args.memory_conversations)}\n", flush=True)

        print(f"[bench] long conversation ({args.long_turns} turns)…", flush=True)
        long = asyncio.run(
            run_long_conversation(urls["gateway"], f"long-{run_id}", args.long_turns)
        )
        return {
            "long": long,
            "figures": {
                "rasa_alone_p50": percentile(alone_rasa.latencies, 50) * 1000,
                "gateway_alone_p50": percentile(alone_gateway.latencies, 50) * 1000,
                "gateway_load_p95": percentile(load_gateway.latencies, 95) * 1000,
                "load_ratio": percentile(load_gateway.latencies, 95) / percentile(load_rasa.latencies, 95),
                "saturation": saturation_point(levels),
                "long_ratio": window_median(long, args.long_turns) / window_median(long, 10),
                "memory_after": after["whole stack"],
            },
        }  # fmt: skip
    finally:
        stack.stop()


def measure_plain_sql(args: argparse.Namespace, var_dir: Path, run_id: str) -> list[float]:
    """The long conversation on a stack whose Rasa uses the plain SQLTrackerStore."""
    var_dir.mkdir(parents=True, exist_ok=True)
    endpoints = write_plain_sql_endpoints(var_dir / "endpoints.yml", var_dir / "plain_tracker.db")
    stack = PlainSQLStack(ports=Ports.free(), var_dir=var_dir, endpoints=endpoints, env=STACK_ENV)
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
    if not ready_to_measure():
        return 1
    run_id = uuid.uuid4().hex[:8]
    long_runs: dict[str, list[float]] = {}
    exit_code = 0
    with tempfile.TemporaryDirectory(prefix="fayuan-bench-") as tmp:
        try:
            project = measure_project(args, Path(tmp) / "rolling", run_id)
        except StartError as error:
            print(f"[bench] ERROR: {error}", file=sys.stderr)
            return 1
        long_runs["RollingSessionTrackerStore (project)"] = project["long"]
        try:
            long_runs["plain SQLTrackerStore"] = measure_plain_sql(
                args, Path(tmp) / "plain", run_id
            )
        except StartError as error:
            # The project's own numbers are still worth printing.
            print(f"[bench] ERROR: baseline: {error}", file=sys.stderr)
            exit_code = 1
    print(f"\n{long_report(args.long_turns, long_runs)}\n")
    print(f"{goals_report(project['figures'], args.users, args.think)}\n{NOISE_NOTE}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
