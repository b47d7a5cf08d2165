"""接续码 cannot be guessed: attempts are limited per client address (a new web
identity per request does not help), and a code past its lifetime links nothing.
Nor is a code enough: whoever says it continues the conversation only once the
person confirms it where the code was given."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.continuation import ATTEMPTS_PER_ADDRESS
from bot.messages import (
    CODE_TOO_MANY_REPLY,
    CODE_WRONG_REPLY,
    CONFIRM_WRONG_REPLY,
    LINKED_GO_ON,
    LINKED_REPLY,
)
from store.links import GUESSES_PER_SENDER, ConversationLinks
from store.models import utc_now
from tests.security.gateway import database, gateway
from tests.support.gateway_api import API_HEADERS
from tests.test_handoff_store import PII_KEY


async def say(client, message: str, **body: str) -> str:
    replies = await said_to(client, message, **body)
    return "\n".join(reply["text"] for reply in replies)


async def said_to(client, message: str, **body: str) -> list[dict]:
    headers = API_HEADERS if "sender" in body else {}
    response = await client.post("/api/chat", json={"message": message, **body}, headers=headers)
    assert response.status == 200
    return await response.json()


async def test_many_wrong_codes_from_one_address_are_stopped(monkeypatch, tmp_path):
    url = database(tmp_path)
    links = ConversationLinks.from_env({"DATABASE_URL": url, "PII_KEY": PII_KEY})
    code = links.issue_code("web-the-person")
    wrong = "00000000" if code != "00000000" else "11111111"
    async with gateway(monkeypatch, url) as (_, guesser):
        for _ in range(ATTEMPTS_PER_ADDRESS):
            guesser.session.cookie_jar.clear()  # a fresh identity for every guess
            assert await say(guesser, f"接续 {wrong}") == CODE_WRONG_REPLY
        guesser.session.cookie_jar.clear()
        # Even the right code is refused now: guessing further gains nothing.
        assert await say(guesser, f"接续 {code}") == CODE_TOO_MANY_REPLY
    assert links.conversation_of("web-the-person") is None
    links.close()


async def test_an_expired_code_is_refused(monkeypatch, tmp_path):
    url = database(tmp_path)
    links = ConversationLinks.from_env({"DATABASE_URL": url, "PII_KEY": PII_KEY})
    code = links.issue_code("web-the-person", now=utc_now() - timedelta(minutes=11))
    async with gateway(monkeypatch, url) as (_, late):
        assert await say(late, f"接续 {code}") == CODE_WRONG_REPLY
    links.close()


async def test_an_overheard_code_continues_nothing_until_it_is_confirmed(monkeypatch, tmp_path):
    url = database(tmp_path)
    links = ConversationLinks.from_env({"DATABASE_URL": url, "PII_KEY": PII_KEY})
    person = "web-the-person"
    code = links.issue_code(person)
    async with gateway(monkeypatch, url) as (_, other):
        asked = await said_to(other, f"接续 {code}")
        other_sender = asked[0]["recipient_id"]
        # Told where to confirm it, by the channel's name; continuing nothing yet.
        assert "原来咨询的地方（网页）" in asked[0]["text"]
        number = re.search(r"确认接续 (\d{4})", asked[0]["text"]).group(1)
        assert links.conversation_of(other_sender) is None
        # The number is no use where the code was said: only the person's conversation confirms.
        assert await say(other, f"确认接续 {number}") == CONFIRM_WRONG_REPLY
        reminded = await say(other, "我之前说了什么？")
        assert "还没有收到确认" in reminded and number in reminded
        assert await say(other, "我之前说了什么？") == "听到了：我之前说了什么？"  # its own
        assert links.conversation_of(other_sender) is None

        # The person confirms in their conversation: the other channel is theirs now.
        confirmed = await say(other, f"确认接续 {number}", sender=person)
        assert "已经确认" in confirmed and "网页" in confirmed
        assert await say(other, "好了") == LINKED_REPLY + LINKED_GO_ON
        assert links.conversation_of(other_sender) == person
        assert await say(other, "接着说") == "听到了：接着说"
    links.close()


async def test_a_wrong_confirmation_number_counts_as_a_guess(monkeypatch, tmp_path):
    url = database(tmp_path)
    links = ConversationLinks.from_env({"DATABASE_URL": url, "PII_KEY": PII_KEY})
    person = "web-the-person"
    said = links.redeem(links.issue_code(person), "web-the-other-screen", "web")
    wrong = "".join(str((int(digit) + 1) % 10) for digit in said.confirmation)
    async with gateway(monkeypatch, url) as (_, client):
        for _ in range(GUESSES_PER_SENDER):
            assert await say(client, f"确认接续 {wrong}", sender=person) == CONFIRM_WRONG_REPLY
        right = f"确认接续 {said.confirmation}"
        assert await say(client, right, sender=person) == CODE_TOO_MANY_REPLY
    assert links.conversation_of("web-the-other-screen") is None
    links.close()
