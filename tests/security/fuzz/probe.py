"""Sending generated requests to the running gateway and judging each answer.

Every answer is checked against the suite's properties: no 5xx, an answer
within LIVENESS_SECONDS (no hung connection), and a rejection either says
why in Chinese (a JSON `error`, or text, with Chinese characters) or is the
protocol's own (judged by the target, passed as `protocol_ok`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import aiohttp

from tests.security.fuzz.figures import figures, is_chinese
from tests.security.fuzz.settings import LIVENESS_SECONDS

# How many requests of a batch are in flight at once: enough to interleave
# them in the gateway, few enough to stay polite on two shared cores.
IN_FLIGHT = 8


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    # What the sender is: "valid" or a kind of wrongness, for the figures only.
    label: str = ""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


def says_why_in_chinese(answer: Answer) -> bool:
    """A rejection a person (or their app) can read: JSON {"error": "…中文…"} or Chinese text."""
    try:
        body = answer.json()
    except ValueError:
        return is_chinese(answer.text)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return is_chinese(body["error"])
    return is_chinese(answer.text)


async def send(session: aiohttp.ClientSession, base: str, request: Request) -> Answer:
    """One request; raises AssertionError when it is not answered in time."""
    started = time.perf_counter()
    try:
        response = await asyncio.wait_for(_exchange(session, base, request), LIVENESS_SECONDS)
    except asyncio.TimeoutError:
        raise AssertionError(
            f"no answer within {LIVENESS_SECONDS} s: {describe(request)}\n"
            f"the gateway's tasks were waiting at:\n{waiting_tasks()}"
        ) from None
    return Answer(*response, time.perf_counter() - started)


def waiting_tasks() -> str:
    """Where the gateway's own coroutines wait (the loop's tasks' innermost project
    frames): a hung request's handler among them says what it waits for. A task
    with no project frame shows its innermost three: which library waits."""
    places = []
    for task in asyncio.all_tasks():
        stack = task.get_stack(limit=30)
        ours = [
            f for f in stack if "/bot/" in f.f_code.co_filename or "/voice/" in f.f_code.co_filename
        ]
        shown = ours or stack[-3:]
        places.append(("" if ours else "(library) ") + " > ".join(map(_where, shown)))
    return "\n".join(sorted(places)) or "(no tasks)"


def _where(frame: FrameType) -> str:
    return (
        f"{'/'.join(frame.f_code.co_filename.rsplit('/', 2)[-2:])}:{frame.f_lineno}"
        f" {frame.f_code.co_name}"
    )


async def _exchange(
    session: aiohttp.ClientSession, base: str, request: Request
) -> tuple[int, bytes, str]:
    async with session.request(
        request.method,
        base + request.path,
        data=request.body if request.method != "GET" else None,
        headers=request.headers,
        params=request.params,
        # Exactly the headers generated: no Content-Type the client would add.
        skip_auto_headers=["Content-Type"],
        allow_redirects=False,
    ) as response:
        return response.status, await response.read(), response.content_type


def describe(request: Request) -> str:
    """A failing input, short enough for an assertion message."""
    body = request.body[:200]
    more = f"…(+{len(request.body) - 200} bytes)" if len(request.body) > 200 else ""
    return (
        f"{request.method} {request.path} params={request.params} headers={request.headers} "
        f"body={body!r}{more}"
    )


Judge = Callable[[Request, Answer], str | None]


async def send_batch(
    session: aiohttp.ClientSession,
    base: str,
    target: str,
    requests: Iterable[Request],
    judge: Judge,
) -> list[str]:
    """Sends the batch (IN_FLIGHT at a time); the problems found, each with its input."""
    slots = asyncio.Semaphore(IN_FLIGHT)
    seen = figures(target)

    async def one(request: Request) -> str | None:
        async with slots:
            try:
                answer = await send(session, base, request)
            except AssertionError as hung:
                seen.note(f"{request.label} hung".strip())
                return str(hung)
            except aiohttp.ClientError as error:
                seen.note(f"{request.label} connection-error".strip())
                return f"connection broken ({type(error).__name__}): {describe(request)}"
        seen.note(f"{request.label} {answer.status}".strip(), answer.seconds)
        if answer.status >= 500:
            return f"{answer.status} {answer.text[:200]!r} for {describe(request)}"
        wrong = judge(request, answer)
        return (
            f"{wrong}: {answer.status} {answer.text[:200]!r} for {describe(request)}"
            if wrong
            else None
        )

    found = await asyncio.gather(*(one(r) for r in requests))
    return [problem for problem in found if problem]


def survives(
    gateway: Any,
    error_log: ErrorLog,
    target: str,
    judge: Judge,
    batches: Mapping[str, Sequence[Request]],
    afterwards: Callable[[Any], Awaitable[None]],
) -> None:
    """Sends each batch to its server (base URL), then `afterwards(gateway)`
    (a plain request must still be answered); fails with the first problems
    found, errors logged meanwhile included."""

    async def attack() -> list[str]:
        found: list[str] = []
        for base, requests in batches.items():
            found += await send_batch(gateway.session, base, target, requests, judge)
        await afterwards(gateway)
        return found

    problems = gateway.run(attack()) + error_log.take()
    assert not problems, "\n".join(problems[:5])


class ErrorLog(logging.Handler):
    """Every ERROR (or worse) logged while the fuzzers run: an unhandled
    exception in a handler, a background task or a channel's update queue is a
    crash even when the HTTP answer was fine."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        taken = [
            f"{r.name}: {r.getMessage()[:300]} {r.exc_info and r.exc_info[1]!r}"
            for r in self.records
        ]
        self.records.clear()
        return taken
