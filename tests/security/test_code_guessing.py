"""接续码 cannot be guessed: attempts are limited per client address (a new web
identity per request does not help), and a code past its lifetime links nothing."""

from __future__ import annotations

from datetime import timedelta

from bot.continuation import ATTEMPTS_PER_ADDRESS
from bot.messages import CODE_TOO_MANY_REPLY, CODE_WRONG_REPLY
from store.links import ConversationLinks
from store.models import utc_now
from tests.security.gateway import database, gateway
from tests.test_handoff_store import PII_KEY


async def say(client, message: str) -> str:
    response = await client.post("/api/chat", json={"message": message})
    return "\n".join(reply["text"] for reply in await response.json())


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
