"""/wechat under generated callbacks: XML of every shape, plaintext and safe
mode, signed rightly and wrongly, and the GET check of the URL.

Properties (each input): no 5xx, an answer in time, and only WeChat's own
answers: 403 for a bad signature, "success", a passive XML reply, the echostr
back, or 400 with the Chinese WECHAT_BAD_MESSAGE for a body that is no
WeChat message. After each batch both callbacks still answer a text message.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wechatpy.crypto import PrpCrypto, WeChatCrypto

from tests.security.fuzz.harness import WECHAT_AES_KEY, WECHAT_APP_ID, WECHAT_TOKEN
from tests.security.fuzz.probe import Answer, Request, says_why_in_chinese, send, survives
from tests.security.fuzz.settings import BATCH, fuzz_settings
from tests.security.fuzz.strategies import header_text, odd_text
from tests.support.fake_wechat import ACCOUNT, signature, text_xml

TARGET = "/wechat"
PRP = PrpCrypto(WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APP_ID).key)

MSG_TYPES = ["text", "voice", "event", "image", "location", "link", "video", "file", "", "x"]
EVENTS = ["subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN", "LOCATION", "subscribe_scan", "?"]
FIELDS = [
    "Content", "MsgId", "Event", "EventKey", "MediaId", "Format", "Recognition", "PicUrl",
    "Location_X", "Location_Y", "Scale", "Label", "Title", "Url", "Encrypt", "Ticket",
]  # fmt: skip
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Content>&b;</Content></xml>'
)


def xml_value(value: Any, cdata: bool) -> str:
    text = str(value)
    if cdata:
        return f"<![CDATA[{text}]]>"
    return text.replace("&", "&amp;").replace("<", "&lt;")


@st.composite
def message_xml(draw: st.DrawFn) -> str:
    """WeChat-like XML: the usual fields, each right, odd or missing, in any order."""
    fields: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        fields["ToUserName"] = ACCOUNT
    if draw(st.integers(0, 9)):
        fields["FromUserName"] = draw(st.one_of(st.just("o6_fuzz_person"), odd_text))
    if draw(st.integers(0, 9)):
        fields["CreateTime"] = draw(st.one_of(st.just(int(time.time())), st.integers(), odd_text))
    msg_type = draw(st.one_of(st.sampled_from(MSG_TYPES), odd_text))
    fields["MsgType"] = msg_type
    if msg_type == "text":
        fields["Content"] = draw(odd_text)
    if msg_type == "event":
        fields["Event"] = draw(st.one_of(st.sampled_from(EVENTS), odd_text))
        fields["EventKey"] = draw(st.one_of(st.just("SAY:转人工"), odd_text))
    if msg_type != "event" and draw(st.booleans()):
        fields["MsgId"] = draw(st.one_of(st.integers(0, 2**64), odd_text))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        fields.setdefault(name, draw(odd_text))
    names = draw(st.permutations(list(fields)))
    cdata = draw(st.booleans())
    inner = "".join(f"<{k}>{xml_value(fields[k], cdata)}</{k}>" for k in names)
    return f"<xml>{inner}</xml>"


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 99))
    if kind < 75:
        return draw(message_xml()).encode("utf-8", "surrogatepass")
    if kind < 87:
        return draw(st.binary(max_size=300))
    if kind < 92:
        return BOMB
    if kind < 96:
        return (
            b"<xml>" + b"<Content>x</Content>" * draw(st.sampled_from([10, 1700, 3000])) + b"</xml>"
        )
    return draw(st.sampled_from([b"", b"<xml/>", b"<xml>", b"<a><xml></xml></a>", b"<?xml?>"]))


def signed_query() -> dict[str, str]:
    """A query signed as WeChat signs it: now, with a nonce never used before."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    return {
        "signature": signature(WECHAT_TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
    }


@st.composite
def bad_query(draw: st.DrawFn) -> dict[str, str]:
    """Signatures a forger could try: none, random, of another token, an old timestamp."""
    query = signed_query()
    how = draw(st.integers(0, 4))
    if how == 0:
        return {}
    if how == 1:
        return {**query, "signature": draw(header_text)}
    if how == 2:
        timestamp, nonce = query["timestamp"], query["nonce"]
        return {**query, "signature": signature("not-the-token", timestamp, nonce)}
    if how == 3:
        return {**query, "nonce": draw(header_text)}
    return {key: draw(header_text) for key in query}


def encrypted(xml: bytes, app_id: str = WECHAT_APP_ID) -> str:
    return PRP.encrypt(xml.decode("utf-8", "replace"), app_id).decode()


@st.composite
def safe_post(draw: st.DrawFn) -> Request:
    """A safe-mode callback: encrypted rightly or not, its msg_signature right or not."""
    query = {**signed_query(), "encrypt_type": "aes"}
    how = draw(st.integers(0, 9))
    if how < 6:
        encrypt = encrypted(draw(bodies()))
    elif how == 6:
        encrypt = encrypted(draw(bodies()), app_id="wx-someone-else")
    else:
        # Not a ciphertext of WeChat's: text (which can be signed: no lone
        # surrogates), hex, or base64 of random bytes (decrypted to garbage).
        encrypt = draw(
            st.one_of(
                st.text(max_size=40),
                st.binary(max_size=64).map(lambda b: b.hex()),
                st.binary(max_size=96).map(lambda b: base64.b64encode(b).decode()),
            )
        )
    right = draw(st.integers(0, 4)) > 0
    query["msg_signature"] = (
        signature(WECHAT_TOKEN, query["timestamp"], query["nonce"], encrypt)
        if right
        else draw(header_text)
    )
    body = f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt>{xml_value(encrypt, True)}</Encrypt></xml>"
    label = "safe-POST" if right and how < 6 else "safe-POST-bad"
    return Request(
        "POST", "/wechat", body.encode("utf-8", "surrogatepass"), params=query, label=label
    )


@st.composite
def wechat_requests(draw: st.DrawFn) -> tuple[str, Request]:
    """Which callback (plain or safe mode) and the request to it."""
    kind = draw(st.integers(0, 9))
    gateway = draw(st.sampled_from(["plain", "safe"]))
    if kind < 2:  # the GET check of the URL
        query = signed_query() if draw(st.booleans()) else draw(bad_query())
        # Text a URL can carry (a lone surrogate cannot be percent-encoded at all).
        echostr = draw(st.text(max_size=40))
        return gateway, Request("GET", "/wechat", params={**query, "echostr": echostr}, label="GET")
    if kind < 5 and gateway == "safe":
        return gateway, draw(safe_post())
    signed = draw(st.integers(0, 3)) > 0
    query = signed_query() if signed else draw(bad_query())
    if draw(st.integers(0, 19)) == 0:
        query["encrypt_type"] = "aes"  # claims safe mode, carries plaintext
    label = f"{gateway}-POST" + ("" if signed else "-unsigned")
    return gateway, Request("POST", "/wechat", draw(bodies()), params=query, label=label)


def judge(request: Request, answer: Answer) -> str | None:
    if answer.status == 403:
        return None  # WeChat's own refusal of a signature
    if answer.status == 400:
        return None if says_why_in_chinese(answer) else "a 400 without the Chinese reason"
    if answer.status != 200:
        return "not one of WeChat's answers"
    if request.method == "GET":
        return None if answer.text == request.params.get("echostr") else "not the echostr back"
    if answer.text == "success" or answer.text.startswith("<xml>"):
        return None
    return "a 200 that is neither success nor a passive reply"


def plain_text_message() -> Request:
    xml = text_xml("o6_fuzz_after", "你好").encode()
    return Request("POST", "/wechat", xml, params=signed_query())


async def still_answers(gateway: Any) -> None:
    """After the batch, a plain text message is answered passively, as ever."""
    answer = await send(gateway.session, gateway.servers.wechat_plain, plain_text_message())
    assert answer.status == 200 and answer.text.startswith("<xml>"), answer.text


@fuzz_settings()
@given(batch=st.lists(wechat_requests(), min_size=BATCH, max_size=BATCH))
def test_wechat_answers_every_callback(fuzz_gateway, error_log, batch):
    servers = fuzz_gateway.servers
    bases = {"plain": servers.wechat_plain, "safe": servers.wechat_safe}
    batches = {
        base: [request for which, request in batch if which == name] for name, base in bases.items()
    }
    survives(fuzz_gateway, error_log, TARGET, judge, batches, still_answers)


# Minutes of generated input: the full suite's (CI), not ./dev test --fast.
pytestmark = pytest.mark.stack
