"""Hypothesis profiles for the fuzz suite, and its figures at the end of the run.

`ci` (the default) keeps the whole fuzz run within a few minutes on two cores
while every target still gets at least 10,000 generated inputs (each example
is a batch of inputs); `HYPOTHESIS_PROFILE=nightly` runs several times as many.
Both are derandomized: a failure found in CI is found again on a laptop.
The profiles are applied by the fuzz tests' own decorator (settings.py), not
loaded globally, so the rest of the suite keeps hypothesis' defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.security.fuzz.figures import FIGURES, figures, report
from tests.security.fuzz.harness import Gateway, running_gateway
from tests.security.fuzz.probe import ErrorLog
from tests.security.fuzz.settings import REAL_FFMPEG_EVERY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fuzz figures (tests/security/fuzz)")
    for line in report():
        terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def fuzz_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The gateways a fuzz target attacks, one set per module: the tests after
    the fuzz suite run without them (and with their loggers as they were)."""
    with running_gateway(tmp_path_factory.mktemp("fuzz"), REAL_FFMPEG_EVERY) as gateway:
        yield gateway
    # How many conversions the real ffmpeg and sox made (the rest: harness.Converter).
    converter = gateway.converter
    figures(f"ffmpeg/sox (real, 1 in {converter.real_every})").inputs += converter.real_runs


@pytest.fixture(scope="module")
def error_log() -> Iterator[ErrorLog]:
    """ERROR records logged anywhere while the fuzzers run (see probe.ErrorLog)."""
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
