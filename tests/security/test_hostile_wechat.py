"""Signed WeChat callbacks whose fields wechatpy converts lazily: the fuzz
suite (tests/security/fuzz) found each answered with 500 in the middle of
answering; each is now refused up front, 400 with the Chinese reason."""

from __future__ import annotations

import secrets
import time

import pytest

from bot.messages import WECHAT_BAD_MESSAGE
from tests.security.gateway import database, gateway
from tests.support.fake_wechat import signature, text_xml

TOKEN = "hostile-wechat-token"
FIELDS = "<FromUserName>o6_person</FromUserName><ToUserName>gh_account</ToUserName>"
BROKEN = [
    pytest.param("<MsgType>text</MsgType><Content>你好</Content><MsgId>接续</MsgId>", id="msgid"),
    pytest.param("<MsgType>text</MsgType><CreateTime>99999999999999999</CreateTime>", id="time"),
    pytest.param("<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>x</Latitude>", id="lat"),
]


def signed() -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    return {"signature": signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


@pytest.mark.parametrize("fields", BROKEN)
async def test_a_field_that_does_not_convert_is_a_bad_message(monkeypatch, tmp_path, fields):
    config = {"wechat_token": TOKEN, "wechat_api_base": "http://127.0.0.1:9/cgi-bin/"}
    async with gateway(monkeypatch, database(tmp_path), **config) as (_, client):
        body = f"<xml>{FIELDS}{fields}</xml>".encode()
        response = await client.post("/wechat", params=signed(), data=body)
        assert response.status == 400
        assert await response.text() == WECHAT_BAD_MESSAGE
        fine = await client.post("/wechat", params=signed(), data=text_xml("o6_person", "你好"))
        assert fine.status == 200


AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.mark.parametrize("encrypt", ["^£µ", "AAAAAAAAAAAAAAAAAAAAAA=="], ids=["short", "unpadded"])
async def test_a_ciphertext_that_decrypts_to_too_little_is_a_bad_message(
    monkeypatch, tmp_path, encrypt
):
    """With a right msg_signature, wechatpy's unpadding raised IndexError or struct.error."""
    config = {
        "wechat_token": TOKEN,
        "wechat_aes_key": AES_KEY,
        "wechat_app_id": "wx0hostile",
        "wechat_api_base": "http://127.0.0.1:9/cgi-bin/",
    }
    async with gateway(monkeypatch, database(tmp_path), **config) as (_, client):
        query = {**signed(), "encrypt_type": "aes"}
        query["msg_signature"] = signature(TOKEN, query["timestamp"], query["nonce"], encrypt)
        body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        response = await client.post("/wechat", params=query, data=body.encode())
        assert response.status == 400
        assert await response.text() == WECHAT_BAD_MESSAGE
