"""Guessing staff passwords, stopped without locking staff out.

A lock per account alone lets anyone lock any lawyer out by typing five wrong
passwords for them. So the gateway counts failures per (account, address):
five in a row from one address lock that account *for that address* for
fifteen minutes, and the lawyer at her own desk logs in as usual. The store
keeps an account-wide lock too (store/staff.py), at a far higher count, only
against guessing spread over many addresses.

Password checks (argon2id: 64 MiB and tens of milliseconds of a core each) run
in their own small pool, so a flood of logins cannot take the threads the rest
of the gateway uses (asyncio.to_thread's default pool); past MAX_WAITING
queued checks, a login is answered "busy" at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from bot.recent import Recent

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
# (account, address) pairs remembered; the longest unused are forgotten first.
PAIRS_KEPT = 50_000
HASHING_WORKERS = 2
MAX_WAITING = 16

Result = TypeVar("Result")


class HashingBusy(RuntimeError):
    """Too many password checks are already waiting."""


@dataclass
class Failures:
    count: int = 0
    locked_until: datetime | None = None


class LoginGuard:
    """Failures and locks per (account, address), in memory, bounded."""

    def __init__(self, max_failures: int = MAX_FAILURES, lockout: timedelta = LOCKOUT) -> None:
        self._max_failures = max_failures
        self._lockout = lockout
        self._pairs: Recent[Failures] = Recent(PAIRS_KEPT)

    def locked_until(self, username: str, address: str, now: datetime) -> datetime | None:
        failures = self._pairs.get(_key(username, address))
        if failures is None or failures.locked_until is None or failures.locked_until <= now:
            return None
        return failures.locked_until

    def failed(self, username: str, address: str, now: datetime) -> datetime | None:
        """Counts a wrong password; the end of the lock when this one locks the pair."""
        key = _key(username, address)
        failures = self._pairs.get(key) or Failures()
        if failures.locked_until is not None and failures.locked_until <= now:
            failures = Failures()  # an earlier lock has passed: start again
        failures.count += 1
        if failures.count >= self._max_failures:
            failures = Failures(0, now + self._lockout)
        self._pairs.put(key, failures)
        return failures.locked_until

    def succeeded(self, username: str, address: str) -> None:
        self._pairs.pop(_key(username, address))


def _key(username: str, address: str) -> str:
    return f"{username}\n{address}"


class HashingPool:
    """A few threads for password checks, with a bounded queue."""

    def __init__(self, workers: int = HASHING_WORKERS, max_waiting: int = MAX_WAITING) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="password-check")
        self._max_in_flight = workers + max_waiting
        self._in_flight = 0

    async def run(self, function: Callable[..., Result], *args: object) -> Result:
        if self._in_flight >= self._max_in_flight:
            raise HashingBusy
        self._in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, function, *args)
        finally:
            self._in_flight -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
