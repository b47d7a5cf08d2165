"""The fuzz suite's hypothesis profiles: `ci` by default, `nightly` by HYPOTHESIS_PROFILE.

An example is a batch of inputs (BATCH of them), so that reaching 10,000
inputs per target costs a few hundred examples, not 10,000 of hypothesis'
per-example overhead. `deadline=None`: response times are checked as
liveness (LIVENESS_SECONDS), never as speed, on a shared two-core machine.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

from voice.audio import FFMPEG_TIMEOUT_SECONDS

# Inputs per hypothesis example.
BATCH = 50
# Every request must be answered within this: a liveness bound, not a speed one.
# An upload may wait for a converter slot that another upload holds up to the
# converter's timeout, then be converted for up to that timeout itself.
LIVENESS_SECONDS = 2 * FFMPEG_TIMEOUT_SECONDS + 20.0

_COMMON = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "print_blob": True,
    # Every problem is reported with its input; shrinking a batch of fifty
    # requests against a live gateway would take longer than the run itself.
    "phases": [Phase.explicit, Phase.reuse, Phase.generate],
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=205, **_COMMON)
settings.register_profile("nightly", max_examples=1000, **_COMMON)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "nightly"):
    PROFILE = "ci"  # another suite's profile name: the fuzz suite keeps its own


def fuzz_settings(scale: float = 1.0) -> settings:
    """The profile's settings, with `scale` times its examples (a target whose
    examples are larger or smaller batches)."""
    base = settings.get_profile(PROFILE)
    return settings(base, max_examples=max(1, int(base.max_examples * scale)))


# Voice uploads that go through the real ffmpeg: one in this many (harness.Converter).
REAL_FFMPEG_EVERY = 1 if PROFILE == "nightly" else 40
