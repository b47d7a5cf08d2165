"""Retention periods: configured in one place, said in the consent text, and run
daily by the gateway without holding its event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import yaml

from bot import retention as gateway_retention
from bot.shared_state import LocalState, is_first
from legal_aid.intake.fields import consent_version
from store import settings
from store.retention import DAYS_ENV, RetentionConfigError, RetentionPeriods
from tests.test_store import cli

PROJECT_DIR = Path(__file__).resolve().parent.parent


def consent_texts() -> list[str]:
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    return [variant["text"] for variant in domain["responses"]["utter_ask_intake_consent"]]


def test_the_defaults_and_their_variables():
    defaults = settings.retention_periods({})
    assert defaults == RetentionPeriods()
    assert (defaults.applications, defaults.conversations) == (1095, 30)
    changed = settings.retention_periods({"RETENTION_CONVERSATION_DAYS": "7"})
    assert changed.conversations == 7 and changed.applications == 1095
    assert set(DAYS_ENV) == {"applications", "tickets", "conversations", "links", "calls",
                             "figures", "training", "audit"}  # fmt: skip


@pytest.mark.parametrize("value", ["0", "-3", "三十", "1.5"])
def test_a_wrong_period_is_refused_by_name(value):
    with pytest.raises(RetentionConfigError, match="RETENTION_TICKET_DAYS"):
        settings.retention_periods({"RETENTION_TICKET_DAYS": value})


def test_the_consent_text_says_the_default_periods():
    # The consent is a domain response, not rendered from the configuration: a
    # centre that changes the periods changes this text (and consent_version) too.
    periods = RetentionPeriods()
    written, spoken = consent_texts()
    assert f"申请办结后保存{periods.application_years}年" in written
    assert f"没有登记的对话{periods.conversations}天后删除" in written
    assert "保存三年" in spoken and "三十天后删除" in spoken
    assert "删除我的信息" in written and "删除我的信息" in spoken
    assert consent_version() == "2026-12"


def test_cli_purge_dry_run_counts_and_deletes_nothing(migrated_url, tmp_path):
    env = {"DATABASE_URL": migrated_url, "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 't.db'}",
           "PII_KEY": "a:" + "A" * 43 + "="}  # fmt: skip
    result = cli(["purge", "--dry-run"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "将删除" in result.stdout
    wrong = cli(["purge"], {**env, "RETENTION_AUDIT_DAYS": "0"}, tmp_path)
    assert wrong.returncode == 2 and "RETENTION_AUDIT_DAYS" in wrong.stderr


async def test_the_daily_run_works_in_a_thread_and_survives_a_failure():
    loop_thread = threading.get_ident()
    runs: list[int] = []

    def job() -> None:
        runs.append(threading.get_ident())
        if len(runs) == 1:
            raise RuntimeError("database down")

    task = asyncio.create_task(gateway_retention.run_periodically(job, first_after=0, every=0.01))
    while len(runs) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert loop_thread not in runs  # the event loop never ran the purge itself


async def test_of_several_gateways_one_purges_each_day():
    """Each gateway runs the daily job; the shared state gives each day's run to one."""
    state = LocalState()  # what Redis is to the gateways, in one process
    runs: list[str] = []
    asked: list[bool] = []

    async def claim() -> bool:
        asked.append(await is_first(state, "job:purge", 3600))
        return asked[-1]

    tasks = [
        asyncio.create_task(
            gateway_retention.run_periodically(
                lambda name=name: runs.append(name), first_after=0, every=3600, claim=claim
            )
        )
        for name in ("gateway-a", "gateway-b")
    ]
    while len(asked) < 2 or not runs:
        await asyncio.sleep(0.01)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert sorted(asked) == [False, True]
    assert len(runs) == 1, "one purge for the day, not one per gateway"
