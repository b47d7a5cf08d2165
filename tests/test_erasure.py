"""One person's data: "删除我的信息" in the dialogue, and staff's export-person /
delete-person, against real databases (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import stat

import pytest
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.eligibility_result import ActionEligibilityResult
from actions.forgetting import ActionAskEraseData, ActionEraseMyData, confirms_erasure
from actions.intake_submit import ActionFinishApplication
from rasa_ext.tracker_store import FORGET_SLOT
from store.intake import IntakeStore
from tests.support.actions import action_server_stores, run_and_save, sdk_tracker
from tests.support.records import (
    OLD_KEY,
    SAID,
    SENDER,
    all_text,
    count,
    make_person,
    talk,
    tracker_store,
)
from tests.test_handoff_store import Centre
from tests.test_store import PHONE, cli


@pytest.fixture
def action_server_env(migrated_url, monkeypatch):
    with action_server_stores(migrated_url, monkeypatch) as url:
        yield url


async def test_asking_to_delete_asks_to_confirm_with_keys_on_the_phone():
    dispatcher_messages = []
    for metadata, expected in (
        ({}, "utter_ask_erase_data"),
        ({"channel": "hotline"}, "utter_ask_erase_data_phone"),
    ):
        tracker = sdk_tracker(SENDER)
        tracker.events.append({"event": "user", "text": "删除我的信息", "metadata": metadata})
        dispatcher = CollectingDispatcher()
        assert await ActionAskEraseData().run(dispatcher, tracker, {}) == []
        dispatcher_messages.append(dispatcher.messages[0]["response"])
        assert dispatcher.messages[0]["response"] == expected
    assert len(dispatcher_messages) == 2


@pytest.mark.parametrize(
    ("text", "intent", "deletes"),
    [("确定删除", "delete_my_data", True), ("/affirm", "affirm", True),
     ("删吧", "delete_my_data", True), ("不删除", "delete_my_data", False),
     ("别删", "delete_my_data", False), ("/deny", "deny", False), ("算了", "affirm", False)],
)  # fmt: skip
def test_only_a_clear_yes_deletes(text, intent, deletes):
    assert confirms_erasure(text, intent) is deletes


def test_the_action_and_the_tracker_store_name_one_slot():
    assert slots.FORGET_CONVERSATION == FORGET_SLOT


async def test_a_no_to_the_question_deletes_nothing(action_server_env):
    url = action_server_env
    centre = Centre(url)
    make_person(url, centre)
    centre.close()
    tracker = sdk_tracker(SENDER)
    tracker.latest_message = {"text": "不删除", "intent": {"name": "delete_my_data"}}
    dispatcher = CollectingDispatcher()
    assert await ActionEraseMyData().run(dispatcher, tracker, {}) == []
    assert dispatcher.messages[0]["response"] == "utter_erase_cancelled"
    assert count(url, "intakes") == 1 and count(url, "conversation_links") == 1


async def test_confirmed_deletion_removes_everything_not_yet_with_the_centre(action_server_env):
    url = action_server_env
    centre = Centre(url)
    make_person(url, centre)  # a new application: not yet taken up
    centre.close()
    store = tracker_store(url, OLD_KEY)
    await talk(store, SENDER, SAID)
    store.engine.dispose()

    messages, _ = await run_and_save(ActionEraseMyData(), url, SENDER, "确定删除")
    assert [m["response"] for m in messages] == ["utter_data_erased"]
    for table in ("intakes", "intake_statuses", "handoff_tickets", "handoff_messages",
                  "handoff_notes", "conversation_links", "continuation_codes", "events"):  # fmt: skip
        assert count(url, table) == 0, table
    audit = all_text(url, ["audit_entries"])
    assert "erase_self" in audit and "王小明" not in audit and SENDER not in audit


async def test_an_application_the_centre_has_taken_up_is_kept_and_named(action_server_env):
    url = action_server_env
    centre = Centre(url)
    person = make_person(url, centre, status="under_review")
    centre.close()

    messages, _ = await run_and_save(ActionEraseMyData(), url, SENDER, "确定删除")
    assert messages[0]["response"] == "utter_data_erased_some_kept"
    assert messages[0]["references"] == person.reference
    assert count(url, "intakes") == 1 and count(url, "handoff_tickets") == 1  # its ticket stays
    assert count(url, "conversation_links") == 0 and count(url, "events") == 0


async def test_staff_export_and_delete_one_person_by_phone_audited(migrated_url, tmp_path):
    centre = Centre(migrated_url)
    person = make_person(migrated_url, centre, status="under_review")
    centre.close()
    store = tracker_store(migrated_url, OLD_KEY)
    await talk(store, SENDER, SAID)
    store.engine.dispose()
    env = {"DATABASE_URL": migrated_url, "PII_KEY": OLD_KEY, "TRACKER_STORE_URL": migrated_url}

    refused = cli(["delete-person", "--phone", PHONE], env, tmp_path)
    assert refused.returncode == 2 and "--reason" in refused.stderr

    output = tmp_path / "person.json"
    exported = cli(
        [
            "export-person",
            "--phone",
            PHONE,
            "--reason",
            "本人书面申请复制",
            "--output",
            str(output),
        ],
        env,
        tmp_path,
    )
    assert exported.returncode == 0, exported.stderr
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    data = json.loads(output.read_text(encoding="utf-8"))
    assert [a["reference"] for a in data["applications"]] == [person.reference]
    assert data["applications"][0]["phone"] == PHONE
    assert data["handoff_tickets"][0]["reference"] == person.ticket
    assert SAID in [line["text"] for line in data["conversations"]]

    deleted = cli(
        ["delete-person", "--reference", person.reference, "--reason", "本人书面申请删除"],
        env,
        tmp_path,
    )
    assert deleted.returncode == 0, deleted.stderr
    assert "申请 1" in deleted.stdout
    for table in ("intakes", "handoff_tickets", "handoff_messages", "conversation_links", "events"):
        assert count(migrated_url, table) == 0, table
    again = cli(["delete-person", "--phone", PHONE, "--reason", "再试"], env, tmp_path)
    assert again.returncode == 1 and "没有找到" in again.stderr

    audit = all_text(migrated_url, ["audit_entries"])
    assert "export_person" in audit and "delete_person" in audit and "本人书面申请删除" in audit
    assert PHONE not in audit and "王小明" not in audit and SENDER not in audit
    intakes = IntakeStore.from_env({"DATABASE_URL": migrated_url, "PII_KEY": OLD_KEY})
    assert intakes.find_by_phone(PHONE, "staff:wang", "核对") == []
    intakes.close()


async def test_leaving_the_questions_for_deletion_asks_to_confirm():
    """删除我的信息 ends the eligibility questions or the application form, and
    the form's end action goes on to the confirmation, as 转人工 goes to a person."""
    for action, left in (
        (ActionEligibilityResult(), {slots.ELIGIBILITY_LEFT: "delete_my_data"}),
        (ActionFinishApplication(), {slots.INTAKE_LEFT: "delete_my_data"}),
    ):
        events = await action.run(CollectingDispatcher(), sdk_tracker(SENDER, **left), {})
        assert FollowupAction("action_ask_erase_data") in events
