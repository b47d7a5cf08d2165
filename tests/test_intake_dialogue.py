"""The application path as real people go through it: consent, questions, read-back, record.

Each person talks to the real stack (gateway, Rasa, action server, store).
Like the eligibility tests, a person answers whatever the assistant asks from
what they would say, so a question they have no answer for fails the test;
corrections and pauses are said where a person would say them. The record is
then read back from the store with the key, and the form downloaded.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Callable
from datetime import date

import requests

from legal_aid.intake.fields import fields
from scripts.launcher import Stack
from store.handoff import AssistantTickets, ConsoleTickets
from store.intake import IntakeStore
from store.staff import StaffAccounts
from tests.conftest import Conversation
from tests.support.intake_support import MIGRANT_WORKER, answer_all
from tests.support.sqlite_files import bytes_on_disk


def chat(stack: Stack, sender: str | None = None) -> Callable[[str], list[str]]:
    person = Conversation(stack, sender)
    replies: list[dict] = []

    def say(message: str) -> list[str]:
        got = person.say(message)
        replies.extend(got)
        return [r["text"] for r in got if r.get("text")]

    say.replies = replies  # type: ignore[attr-defined]
    say.sender = person.sender  # type: ignore[attr-defined]
    return say


def voice(stack: Stack, sender: str) -> Callable[[str], list[str]]:
    def say(message: str) -> list[str]:
        response = requests.post(
            f"{stack.rasa_url}/webhooks/voice/webhook",
            json={"sender": sender, "message": message},
            timeout=60,
        )
        response.raise_for_status()
        return [m.get("text") or "" for m in response.json() if m.get("text")]

    return say


def store_of(stack: Stack) -> IntakeStore:
    env = stack.child_env()
    return IntakeStore.from_env({"DATABASE_URL": env["DATABASE_URL"], **_key_env(env)})


def _key_env(env: dict[str, str]) -> dict[str, str]:
    return {name: env[name] for name in ("PII_KEY", "PII_KEY_FILE") if env.get(name)}


def reference_in(heard: list[str]) -> str:
    line = next(h for h in heard if "登记编号是" in h)
    return line.split("登记编号是：")[1].split()[0]


def records(stack: Stack) -> int:
    path = stack.child_env()["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM intakes").fetchone()[0]


def test_a_migrant_worker_applies_by_web_chat_and_gets_his_form(stack):
    say = chat(stack)
    say("包工头拖欠我三个月工资不给")
    answer_all(say, "帮我查一查能不能申请", MIGRANT_WORKER, until="登记申请")
    heard = answer_all(say, "现在登记申请", MIGRANT_WORKER, until="登记编号是")
    spoken = "\n".join(heard)

    # Consent came first, in plain words, with who sees the data and for how long.
    assert "谁能看" in spoken and "保存多久" in spoken and "不同意也没关系" in spoken
    # The wrong ID number was explained, and the phone read back in groups.
    assert "校验" in spoken or "最后一位" in spoken
    assert "您的电话是：138 1234 5678，对吗？" in spoken
    # Every field was read back before submitting.
    for label in ("姓名：李建国", "联系电话：138 1234 5678", "身份证号码：110101199003071233"):
        assert label in spoken
    reference = reference_in(heard)
    assert reference.startswith("FY-2026-") or reference.startswith("FY-20")
    # What happens next, with the legal time limits and their source.
    assert "七日内审查" in spoken and "三日内指派" in spoken and "第四十三条" in spoken
    # His checklist: evidence for unpaid wages; no means-test pledge (he is exempt).
    assert "劳动合同" in spoken and "诚信承诺" not in spoken

    details = store_of(stack).read(reference, reader="test", purpose="check the record")
    assert details.name == "李建国"
    assert details.phone == "13812345678"
    assert details.id_number == "110101199003071233"
    assert details.matter_type == "labor_wages"
    assert details.region == "shanxi"

    document = next(r["custom"]["document"] for r in say.replies if r.get("custom"))
    pdf = requests.get(stack.gateway_url + document["url"], timeout=30)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "李建国" in text and "138 1234 5678" in text and reference in text
    large = requests.get(stack.gateway_url + document["large_print_url"], timeout=30)
    assert large.status_code == 200 and "李建国" in pdf_text(large.content)
    # Someone else's reference, or a guessed token, finds nothing.
    forged = document["url"].split("token=")[0] + "token=" + "0" * 32
    assert requests.get(stack.gateway_url + forged, timeout=30).status_code == 404

    # Then asking for a lawyer: the ticket points the lawyer to the application,
    # whose answers the conversation no longer holds (cleared once stored).
    assert "您同意转给律师吗" in say("转人工")[-1]
    say("同意")
    env = stack.child_env()
    config = {"DATABASE_URL": env["DATABASE_URL"], **_key_env(env)}
    coordinator = f"intake-coord-{uuid.uuid4().hex[:6]}"
    StaffAccounts.from_env(config).create(coordinator, "a-long-test-password-42", "coordinator")
    tickets = AssistantTickets.from_env(config)
    ticket = tickets.open_ticket_for(say.sender)
    view = ConsoleTickets(tickets.engine, tickets.keys).ticket(ticket, coordinator, "核对摘要")
    assert view.intake_reference == reference
    assert (
        reference in view.summary.what_happened and "还没有说明" not in view.summary.what_happened
    )
    tickets.cancel(ticket)
    tickets.close()


def pdf_text(pdf: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode()


MOTHER_BY_VOICE = {
    "region": "包头市昆都仑区",
    "domestic_violence_victim": "是",
    "intake_consent": "同意",
    "applying_for": "替我女儿申请",
    "age": "十岁",
    "guardian_consent": "是的，我同意",
    "guardian_name": "我叫王芳",
    "guardian_relation": "我是她妈妈",
    "applicant_name": "她叫张小雨",
    "phone": "幺五九，零四七二，三三八八",
    "phone_confirmed": "对",
    "id_number": "跳过",
    "county": "包头市昆都仑区",
    "matter_confirmed": "对",
    "description": "孩子的父亲经常打她，上周又把她打伤了，我想给孩子申请保护。",
    "disability_certificate": "没有",
    "accessibility_needs": "要上门服务",
    "contact_preference": "打电话",
    "days_to_deadline": "还有五天",
    "needs_urgent_preservation": "不是",
    "review": "对",
    # Where the case is, asked once she qualifies (art. 38).
    "case_location": "本地",
}


def test_a_mother_applies_for_her_daughter_by_voice(stack):
    say = voice(stack, f"voice-intake-{uuid.uuid4().hex[:8]}")
    say("孩子她爸经常打孩子")
    heard = answer_all(say, "帮我查一查", MOTHER_BY_VOICE, until="登记申请")
    heard = answer_all(say, "现在登记申请", MOTHER_BY_VOICE, until="登记编号是")
    spoken = "\n".join(heard)

    # The guardian's consent was asked because the child is under 14.
    assert "要由父母或者其他监护人同意" in spoken
    # Read back for the ear: digits one by one, no symbols.
    assert "您的电话是，幺五九，零四七二，三三八八，对吗？" in spoken
    assert "（" not in spoken and "《" not in spoken
    # The reference is spoken so it can be written down, twice.
    assert spoken.count("F Y，") >= 2
    # Five days to a deadline: advance aid is explained.
    assert "先提供援助" in spoken
    # Read back three fields at a time, each page confirmed once.
    pages = [h for h in heard if "这几项都对吗" in h]
    assert pages, spoken
    assert all(sum(f"{f.label}，" in page for f in fields()) == 3 for page in pages), pages

    reference = next(h for h in heard if "登记编号是" in h)
    assert "已经登记好了" in reference
    stored = [r for r in all_records(stack) if r.name == "张小雨"]
    assert len(stored) == 1
    child = stored[0]
    assert child.guardian == {"name": "王芳", "relation": "母亲"}
    assert child.applying_for == "other" and child.applicant_age == 10
    assert child.phone == "15904723388" and child.id_number is None
    assert child.advance_aid and child.accessibility_needs == ("home_visit",)


def all_records(stack: Stack) -> list:
    exported = store_of(stack).export(since=date(2000, 1, 1), fmt="json", reader="test")
    rows = json.loads(exported)
    store = store_of(stack)
    return [store.read(row["reference"], reader="test", purpose="check") for row in rows]


def test_the_read_back_is_one_list_on_a_screen_and_a_wrong_field_is_asked_again(stack):
    say = chat(stack)
    say("包工头拖欠我三个月工资不给")
    answer_all(say, "帮我查一查能不能申请", MIGRANT_WORKER, until="登记申请")
    heard = answer_all(say, "现在登记申请", MIGRANT_WORKER, until="这些都对吗")
    page = heard[-1]
    for label in ("姓名：李建国", "联系电话：138 1234 5678", "所在地区：", "事情经过："):
        assert label in page, page
    # "有要改的" (its button): which one; the phone is asked again, then the list.
    assert "哪一项要改" in say("/deny")[-1]
    assert "电话号码" in say("电话")[-1]
    assert "您的电话是：139 1234 5678，对吗？" in say("13912345678")[-1]
    again = say("对")[-1]
    assert "这些都对吗" in again and "联系电话：139 1234 5678" in again
    assert any("登记编号是" in text for text in say("/affirm"))
    assert [r for r in all_records(stack) if r.phone == "13912345678" and r.name == "李建国"]


def test_without_consent_nothing_is_stored_and_help_goes_on(stack):
    say = chat(stack)
    before = records(stack)
    heard = say("现在登记申请")
    assert "您同意吗" in heard[-1]
    heard = say("不同意")
    assert "不保存您的个人信息" in "\n".join(heard)
    assert "12348" in "\n".join(heard)
    # Consultation still works.
    assert "法律援助" in "\n".join(say("什么是法律援助"))
    assert records(stack) == before
    # The way back it offered (a "no" may have been misheard, or he changes
    # his mind) asks for his consent again.
    way_back = "现在登记申请"
    assert way_back in "\n".join(heard)
    assert "您同意吗" in say(way_back)[-1]


def test_asking_for_a_person_during_the_application_is_not_taken_for_an_answer(stack):
    say = chat(stack)
    assert "您同意吗" in say("现在登记申请")[-1]
    heard = "\n".join(say("转人工"))
    assert "没听明白" not in heard and "您同意转给律师吗" in heard


PAUSING = {
    "intake_consent": "同意",
    "applying_for": "我自己",
    "age": "六十八",
    "applicant_name": "赵桂兰",
    "phone": "13700001111",
    "phone_confirmed": "对",
    "id_number": "不想说",
    "county": "包头市固阳县",
    "matter_type": "儿子不给我赡养费",
    "matter_confirmed": "对",
    "description": "两个儿子都不给我生活费，我一个人住，看病也没钱。",
    "disability_certificate": "没有",
    "accessibility_needs": "大字和语音电话",
    "contact_preference": "微信",
    "days_to_deadline": "没有",
    "needs_urgent_preservation": "没有",
    "review": "对",
}


def test_a_person_can_pause_correct_and_come_back(stack):
    say = chat(stack)
    heard = answer_all(say, "帮我登记", PAUSING, until="您的电话是")
    heard = say("先停一下，我去找身份证")
    assert "还没有提交" in "\n".join(heard)
    # Something else in between, then back where she left off.
    say("12348是什么电话")
    heard = say("继续申请")
    assert "接着上次" in "\n".join(heard) and "您的电话是" in heard[-1]
    heard = say("对")
    heard = say("名字说错了")
    assert "重新说“姓名”" in "\n".join(heard)
    heard = answer_all(say, "赵桂芝", {**PAUSING, "applicant_name": "赵桂芝"}, "登记编号是")
    spoken = "\n".join(heard)
    assert "姓名：赵桂芝" in spoken and "需要的帮助：语音电话、大字材料" in spoken
    reference = reference_in(heard)
    details = store_of(stack).read(reference, reader="test", purpose="check")
    assert details.name == "赵桂芝" and details.contact_preference == "wechat"
    assert set(details.accessibility_needs) == {"large_print", "voice_call"}


CRASHING = {**PAUSING, "applicant_name": "钱学文", "phone": "13600002222"}


def test_a_crash_while_submitting_never_makes_two_records(stack):
    say = chat(stack)
    answer_all(say, "帮我登记", CRASHING, until="提交之前")
    before = records(stack)
    # The action server dies right after the record is committed, before it answers.
    stack.stop(("actions",))
    stack.env["FAYUAN_CRASH_AFTER_INTAKE_COMMIT"] = "1"
    try:
        stack.start_one("actions")
        heard = answer_all(say, "对", CRASHING, until="抱歉")
    finally:
        stack.stop(("actions",))
        del stack.env["FAYUAN_CRASH_AFTER_INTAKE_COMMIT"]
        stack.start_one("actions")
    assert "登记编号是" not in "\n".join(heard)
    assert records(stack) == before + 1
    # The person tries again and hears the reference of the one record.
    heard = say("继续申请")
    reference = reference_in(heard)
    assert records(stack) == before + 1
    details = store_of(stack).read(reference, reader="test", purpose="check")
    assert details.name == "钱学文"


def test_the_store_file_holds_no_personal_data_in_plain_text(stack):
    test_a_person_can_pause_correct_and_come_back(stack)
    raw = bytes_on_disk(stack.child_env()["DATABASE_URL"])
    for value in ("赵桂芝", "13700001111", "两个儿子都不给我生活费"):
        assert value.encode() not in raw
    assert os.path.getsize(stack.child_env()["DATABASE_URL"].removeprefix("sqlite:///")) > 0


def test_an_answer_not_understood_twice_gets_a_way_out(stack):
    say = chat(stack)
    say("现在登记申请")
    say("同意")
    first = say("嗯嗯")
    assert "没听明白" in first[0] and "为自己申请" in first[-1]
    second = "\n".join(say("嗯嗯"))
    assert "先停一下" in second and "12348" in second and "为自己申请" in second
