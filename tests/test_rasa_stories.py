"""Rasa's own conversation tests (tests/stories), run against the trained model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.model_cache import PROJECT_DIR, model_path, rasa_env


@pytest.mark.stack  # the trained model
def test_conversation_stories_pass(tmp_path):
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "test",
            "core",
            "--stories",
            "tests/stories",
            "--model",
            str(model_path()),
            "--endpoints",
            "endpoints.yml",
            "--out",
            str(tmp_path),
            "--fail-on-prediction-errors",
        ],  # fmt: skip
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            **rasa_env(),
            "ACTIONS_WEBHOOK_URL": "http://127.0.0.1:9/webhook",
            "ACTIONS_SECRET": "unused",
            "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        },
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = (
        failed.read_text() if failed.exists() else result.stdout[-4000:] + result.stderr[-4000:]
    )
    assert result.returncode == 0, details
