"""The fuzzed gateways run as production runs them, whatever the suite imported before."""

from __future__ import annotations

import asyncio

import pytest

# Rasa's import (through aiogram) installs uvloop's policy for the process, as the
# full suite's collection does; tests/conftest.py and the harness put asyncio's back.
import rasa.core.agent  # noqa: F401


async def _a_converter_runs() -> int:
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-version", stdout=asyncio.subprocess.DEVNULL
    )
    return await process.wait()


def test_the_gateways_run_on_asyncios_loop_and_can_start_ffmpeg(fuzz_gateway):
    assert type(fuzz_gateway.loop).__module__.startswith("asyncio")
    assert fuzz_gateway.run(_a_converter_runs(), timeout=60) == 0


pytestmark = pytest.mark.stack
