"""Attack: with safe mode configured, post a plaintext message (whose body
nothing signs) and have it taken for WeChat's."""

from __future__ import annotations

from tests.security.wechat_callback import AES_KEY, callback_app
from tests.support.fake_wechat import text_xml

OPENID = "oSecurityPlaintext000000001"


async def test_plaintext_is_refused_while_the_aes_key_is_set():
    async with callback_app(AES_KEY) as (callbacks, answerer):
        plain = await callbacks.post(text_xml(OPENID, "明文消息"), aes=False)
        assert (plain.status, plain.body) == (403, "")
        encrypted = await callbacks.post(text_xml(OPENID, "加密消息"), aes=True)
        assert encrypted.status == 200 and encrypted.text == "收到"
        assert answerer.answered == ["加密消息"]


async def test_a_wrong_message_signature_is_refused_in_safe_mode():
    async with callback_app(AES_KEY) as (callbacks, answerer):
        query = callbacks.signed_query()
        body = callbacks._encrypted(text_xml(OPENID, "伪造"), query)
        query["msg_signature"] = "0" if query["msg_signature"] == "f" * 40 else "f" * 40
        answered = await callbacks.post(body, query=query, aes=False)
        assert answered.status == 403
        assert answerer.answered == []


async def test_plaintext_mode_still_works_without_an_aes_key():
    async with callback_app() as (callbacks, answerer):
        answered = await callbacks.post(text_xml(OPENID, "明文消息"))
        assert answered.status == 200 and answered.text == "收到"
