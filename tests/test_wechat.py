"""The WeChat official-account channel, end to end: WeChat's side is faked, the rest is real.

A gateway runs in this process with WECHAT_* set, in front of the session's
real Rasa and action servers, with the Korean Vosk model and espeak (see
tests/support/voice_support.py). `tests/support/fake_wechat.py` plays WeChat: it posts signed
callbacks to /wechat (with WeChat's retries) and serves the token,
customer-service and media APIs the gateway calls back.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.appkeys import RELAY, SPEECH_ENGINES
from bot.config import Config
from bot.messages import NOT_HEARD_REPLY, WAITING_ACK
from bot.messages import WECHAT_BAD_MESSAGE as BAD_MESSAGE
from bot.messages import WECHAT_CHOICE_HINT as CHOICE_HINT
from bot.messages import WECHAT_IMAGE_REPLY as IMAGE_REPLY
from bot.messages import WECHAT_LOCATION_REPLY as LOCATION_REPLY
from bot.messages import WECHAT_VOICE_NOT_FETCHED as VOICE_NOT_FETCHED
from bot.messages import WECHAT_WELCOME as WELCOME
from bot.wechat.text import rendered
from tests.support.fake_wechat import (
    FakeWeChat,
    WeChatCallbacks,
    event_xml,
    message_xml,
    new_msg_id,
    text_xml,
    voice_xml,
)
from tests.support.gateway_api import API_HEADERS, API_TOKEN, said_to_rasa
from tests.support.voice_support import (
    ENGINES_READY_SECONDS,
    KOREAN_MODEL,
    amr_of,
    amr_seconds,
    espeak_wav,
)
from voice.audio import UNREADABLE_MESSAGE

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "fayuanTestToken2026"
APP_ID = "wx5f3e0d2c1b0a9988"
SECRET = "0123456789abcdef0123456789abcdef"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")
PROBLEM = "老板已经拖了我三个月工资了 怎么办"
CITATION = "来源：《法律援助法》第三十一条"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake():
    async with FakeWeChat(APP_ID, SECRET) as wechat:
        yield wechat


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gateway(stack, fake):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VOSK_MODEL", str(KOREAN_MODEL))
        env.setenv("TTS_ENGINE", "espeak")
        env.setenv("TTS_WORKERS", "1")
        # The session's store key, so the handoff relay (and its deliverers) is on.
        env.setenv("PII_KEY_FILE", str(stack.var_dir / "pii.key"))
        config = Config(
            rasa_url=stack.rasa_url,
            rasa_token=stack.rasa_token,
            actions_url=stack.actions_url,
            database_url=f"sqlite:///{stack.var_dir / 'legal_aid.db'}",
            wechat_token=TOKEN,
            wechat_app_id=APP_ID,
            wechat_app_secret=SECRET,
            wechat_aes_key=AES_KEY,
            wechat_api_base=fake.api_base,
            gateway_api_token=API_TOKEN,
        )
        app = create_app(config)
        async with TestClient(TestServer(app)) as client:
            # Loading the engines takes the cores for a while: not during a
            # test that times WeChat's five seconds.
            await voice_engines(app)
            yield app, client


@pytest.fixture
def callbacks(gateway) -> WeChatCallbacks:
    _, client = gateway
    return WeChatCallbacks(client.session, str(client.make_url("/wechat")), TOKEN, AES_KEY, APP_ID)


@pytest.fixture
def openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


async def voice_engines(app) -> None:
    engines = app[SPEECH_ENGINES]
    for _ in range(ENGINES_READY_SECONDS * 2):
        if engines.hears and engines.speaks:
            return
        await asyncio.sleep(0.5)
    pytest.fail("the voice engines did not load")


async def reply_to(callbacks, fake, openid: str, xml: str, aes: bool | None = None) -> str:
    """What the person reads: the passive reply, or what came by the customer-service API."""
    texts_before = len([m for m in fake.sent_to(openid) if m.msgtype == "text"])
    answers = await callbacks.deliver(xml, aes)
    answered = answers[-1]
    assert answered is not None and answered.status == 200, answers
    assert len(answers) == 1, "answered within WeChat's five seconds, so never retried"
    if answered.text is not None:
        assert answered.to == openid
        return answered.text
    assert answered.body == "success"
    sent = await fake.wait_for(openid, texts_before + 1, msgtype="text")
    await asyncio.sleep(0.5)  # the later pieces of a long answer
    sent = [m for m in fake.sent_to(openid) if m.msgtype == "text"]
    return "\n\n".join(m.text for m in sent[texts_before:])


# --- the URL check and signatures ---


async def test_wechat_checks_the_url_and_gets_its_echostr_back(callbacks):
    status, body = await callbacks.verify("8734512345678901234")
    assert (status, body) == (200, "8734512345678901234")


async def test_a_forged_signature_gets_403_and_nothing_else(callbacks, fake, gateway, openid):
    forged = {**callbacks.signed_query(), "signature": "0" * 40}
    status, body = await callbacks.verify("123", forged)
    assert (status, body) == (403, "")
    answered = await callbacks.post(text_xml(openid, PROBLEM), query=forged)
    assert (answered.status, answered.body) == (403, "")
    unsigned = await callbacks.post(text_xml(openid, PROBLEM), query={})
    assert unsigned.status == 403
    await asyncio.sleep(1)
    assert fake.sent_to(openid) == []
    assert await said_to_rasa(gateway[1], f"wechat:{openid}") == [], "no turn ran"


# --- a consultation by text ---


async def test_a_consultation_by_text_with_numbered_choices(callbacks, fake, gateway, openid):
    answer = await reply_to(callbacks, fake, openid, text_xml(openid, PROBLEM))
    assert "听起来是拖欠工资" in answer and CITATION in answer
    # The buttons, as numbered choices the person answers with a number.
    choices = [line for line in answer.splitlines() if line[:2] in ("1.", "2.", "3.", "4.")]
    assert any("查一查能不能申请" in line for line in choices), answer
    assert CHOICE_HINT in answer
    number = next(line for line in choices if "查一查能不能申请" in line).split(".")[0]

    picked = await reply_to(callbacks, fake, openid, text_xml(openid, number))
    turns = await said_to_rasa(client := gateway[1], f"wechat:{openid}")
    payload = turns[-1]
    assert payload != number and payload.startswith("/"), "the button's payload reached Rasa"
    # What the web chat answers to the same button, pressed after the same problem.
    web_sender = f"web-{uuid.uuid4().hex[:8]}"
    named = {"headers": API_HEADERS}
    await client.post("/api/chat", json={"sender": web_sender, "message": PROBLEM}, **named)
    pressed = await client.post(
        "/api/chat", json={"sender": web_sender, "message": payload}, **named
    )
    assert picked == rendered(await pressed.json())


async def test_a_retried_message_is_answered_once_and_processed_once(
    callbacks, fake, gateway, openid
):
    xml = text_xml(openid, PROBLEM, new_msg_id())
    query = callbacks.signed_query()
    # WeChat's retry arriving while the first try is still being answered.
    first, retry = await asyncio.gather(
        callbacks.post(xml, query=query), _after(0.2, callbacks.post(xml, query=query))
    )
    late = await callbacks.post(xml, query=query)  # and a third, once all is done
    answered = [a for a in (first, retry, late) if a.text is not None]
    await asyncio.sleep(1)
    pushed = [m for m in fake.sent_to(openid) if m.msgtype == "text"]
    assert len(answered) + (1 if pushed else 0) == 1, (first, retry, late, pushed)
    assert [a.body for a in (first, retry, late) if a.text is None] == ["success", "success"]
    turns = await said_to_rasa(gateway[1], f"wechat:{openid}")
    assert turns == [PROBLEM], "one turn, not three"


async def _after(seconds: float, coroutine):
    await asyncio.sleep(seconds)
    return await coroutine


# --- events, images, places ---


async def test_following_the_account_gets_a_welcome_once(callbacks, fake, openid):
    created = int(time.time())
    subscribe = event_xml(openid, "subscribe", create_time=created)
    welcome = await reply_to(callbacks, fake, openid, subscribe)
    assert welcome == WELCOME
    assert "语音" in welcome and "转人工" in welcome and "12348" in welcome
    again = await callbacks.post(subscribe)  # the same event again: WeChat's retry
    assert (again.text, again.body) == (None, "success")
    await asyncio.sleep(0.5)
    assert fake.sent_to(openid) == []


async def test_a_menu_button_says_its_words_or_shows_the_welcome(callbacks, fake, openid):
    help_menu = await reply_to(callbacks, fake, openid, event_xml(openid, "CLICK", "HELP"))
    assert help_menu == WELCOME
    asked = await reply_to(callbacks, fake, openid, event_xml(openid, "CLICK", f"SAY:{PROBLEM}"))
    assert CITATION in asked


async def test_images_and_places_get_a_polite_answer(callbacks, fake, openid):
    image = message_xml(
        openid, "image", PicUrl="http://mmbiz.qpic.cn/x", MediaId="m1", MsgId=new_msg_id()
    )
    assert await reply_to(callbacks, fake, openid, image) == IMAGE_REPLY
    place = message_xml(
        openid,
        "location",
        Location_X="40.65",
        Location_Y="109.84",
        Scale="15",
        Label="内蒙古自治区包头市昆都仑区",
        MsgId=new_msg_id(),
    )
    answer = await reply_to(callbacks, fake, openid, place)
    assert answer == LOCATION_REPLY and "12348" in answer


# --- bad input ---

BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 or "")) * 10}">' for i in range(1, 10))
    + "]><xml><ToUserName>a</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<xml><FromUserName>o1</FromUserName><MsgType>text</MsgType><Content>&e;</Content></xml>"
)


@pytest.mark.parametrize(
    "body",
    [
        "<xml><FromUserName>o1</FromUserName><MsgType>text",  # cut off
        "老板拖欠我工资",  # not XML at all
        "<xml><Content>没有发件人</Content></xml>",
        BOMB,
        XXE,
        "<xml>" + "<a>x</a>" * 20_000 + "</xml>",  # far larger than any callback
    ],
    ids=["truncated", "not-xml", "no-sender", "entity-bomb", "external-entity", "huge"],
)
async def test_malformed_or_hostile_xml_is_refused_politely_without_work(callbacks, fake, body):
    sent_before = len(fake.sent)
    started = time.perf_counter()
    answered = await callbacks.post(body)
    assert answered.status == 400 and answered.body == BAD_MESSAGE
    assert time.perf_counter() - started < 1.0, "refused before any work"
    await asyncio.sleep(0.3)
    assert len(fake.sent) == sent_before


# --- safe (AES) mode ---


async def test_safe_mode_round_trip(callbacks, fake, gateway, openid):
    [answered] = await callbacks.deliver(text_xml(openid, PROBLEM), aes=True)
    assert answered is not None and answered.status == 200
    if answered.text is None:  # slower than the budget: by the API instead
        sent = await fake.wait_for(openid, 1, msgtype="text")
        text = sent[0].text
    else:
        assert "<Encrypt>" in answered.body and "拖欠工资" not in answered.body, "encrypted"
        text = answered.text
    assert CITATION in text


async def test_safe_mode_with_a_forged_message_signature_gets_403(callbacks, fake, openid):
    query = callbacks.signed_query()
    body = callbacks._encrypted(text_xml(openid, PROBLEM), query)
    query["msg_signature"] = "f" * 40
    answered = await callbacks.post(body, aes=False, query=query)  # already encrypted
    assert (answered.status, answered.body) == (403, "")
    await asyncio.sleep(0.5)
    assert fake.sent_to(openid) == []


# --- voice ---


async def test_a_voice_message_with_wechats_recognition_is_answered_in_text_and_voice(
    callbacks, fake, gateway, openid
):
    await voice_engines(gateway[0])
    media_id = fake.add_media(amr_of(espeak_wav("안녕하세요")))
    answer = await reply_to(callbacks, fake, openid, voice_xml(openid, media_id, PROBLEM + "。"))
    assert CITATION in answer
    spoken = await fake.wait_for(openid, 1, msgtype="voice", timeout=90)
    assert spoken, "the answer also came as a voice message"
    amr = fake.uploads[spoken[0].body["voice"]["media_id"]]
    assert amr.startswith(b"#!AMR\n")
    assert 3 < amr_seconds(amr) <= 60, "the answer spoken, within WeChat's minute"


async def test_a_voice_message_without_recognition_is_recognised_from_its_audio(
    callbacks, fake, gateway, openid
):
    await voice_engines(gateway[0])
    gets_before = fake.media_gets
    media_id = fake.add_media(amr_of(espeak_wav("노동 계약 임금 체불 상담하고 싶어요")))
    answer = await reply_to(callbacks, fake, openid, voice_xml(openid, media_id))
    assert fake.media_gets == gets_before + 1, "the audio was fetched by its MediaId"
    # The Korean model makes no sense of it, but the audio was decoded and heard:
    # neither the unreadable-audio nor the not-fetched answer.
    assert answer and answer not in (UNREADABLE_MESSAGE, VOICE_NOT_FETCHED)
    heard = await said_to_rasa(gateway[1], f"wechat:{openid}")
    assert answer == NOT_HEARD_REPLY or heard, "either nothing heard, or a turn ran on it"


async def test_a_broken_voice_message_gets_a_polite_answer(callbacks, fake, gateway, openid):
    await voice_engines(gateway[0])
    media_id = fake.add_media(b"#!AMR\n" + os.urandom(2000))
    assert (
        await reply_to(callbacks, fake, openid, voice_xml(openid, media_id)) == UNREADABLE_MESSAGE
    )
    gone = await reply_to(callbacks, fake, openid, voice_xml(openid, "no-such-media"))
    assert gone == VOICE_NOT_FETCHED


async def test_a_slow_answer_goes_by_the_customer_service_api_without_a_retry(
    callbacks, fake, gateway, openid
):
    await voice_engines(gateway[0])
    fake.media_delay = 6.0  # WeChat's media server slower than WeChat's own patience
    try:
        media_id = fake.add_media(amr_of(espeak_wav("안녕하세요")))
        gets_before = fake.media_gets
        xml = voice_xml(openid, media_id)
        started = time.perf_counter()
        answers = await callbacks.deliver(xml)
        assert time.perf_counter() - started < 5.0
        assert [(a.status, a.body) for a in answers] == [(200, "success")], "no retry needed"
        # Had WeChat missed that answer, its retry must not start the turn again.
        retried = await callbacks.post(xml)
        assert (retried.status, retried.body) == (200, "success")
        await fake.wait_for(openid, 1, msgtype="text", timeout=60)
        await asyncio.sleep(1)
        texts = [m.text for m in fake.sent_to(openid) if m.msgtype == "text"]
        assert len(texts) == 1 and texts[0], "answered once, by the customer-service API"
        assert fake.media_gets == gets_before + 1, "the audio fetched once"
    finally:
        fake.media_delay = 0.0


# --- lawyers, long answers, the access token ---


async def test_a_lawyers_message_reaches_a_silent_person_even_after_the_token_expired(
    gateway, fake, openid
):
    app, _ = gateway
    if RELAY not in app:
        pytest.fail("the handoff relay is off: the store's key was not found")
    deliver = app[RELAY].deliverers["wechat"]
    await deliver(f"wechat:{openid}", [{"text": "您好，我是值班律师。", "speaker": "王明律师"}])
    fake.expire_tokens()
    fetched = fake.token_requests
    await deliver(f"wechat:{openid}", [{"text": "请把劳动合同准备好。", "speaker": "王明律师"}])
    sent = await fake.wait_for(openid, 2, msgtype="text")
    assert [m.text for m in sent] == [
        "王明律师：您好，我是值班律师。",
        "王明律师：请把劳动合同准备好。",
    ]
    assert fake.token_requests == fetched + 1, "a new token, fetched once"


async def test_a_long_answer_comes_in_pieces_cut_between_sentences(gateway, fake, openid):
    app, _ = gateway
    sentence = "用人单位应当按时足额支付劳动报酬，拖欠的可以向劳动保障监察机构投诉。"
    long_text = sentence * 40  # about 4 kB of UTF-8
    await app[RELAY].deliverers["wechat"](f"wechat:{openid}", [{"text": long_text}])
    await fake.wait_for(openid, 2, msgtype="text")
    await asyncio.sleep(0.5)
    pieces = [m.text for m in fake.sent_to(openid)]
    assert len(pieces) >= 2
    assert all(len(p.encode()) <= 2048 and p.endswith("。") for p in pieces)
    assert "".join(pieces) == long_text


async def test_asking_for_a_lawyer_on_wechat_goes_through_the_handoff_relay(
    callbacks, fake, openid
):
    await reply_to(callbacks, fake, openid, text_xml(openid, "儿子不给我生活费"))
    consent = await reply_to(callbacks, fake, openid, text_xml(openid, "转人工"))
    assert "您同意转给律师吗" in consent  # nothing goes to a lawyer before the yes
    asked = await reply_to(callbacks, fake, openid, text_xml(openid, "1"))  # 1. 同意
    assert "律师" in asked and "不等了" in asked
    # While the ticket waits, the person's words go to the lawyers, not the assistant.
    waiting = await reply_to(callbacks, fake, openid, text_xml(openid, "什么是法律援助"))
    assert waiting == WAITING_ACK
    cancelled = await reply_to(callbacks, fake, openid, text_xml(openid, "不等了"))
    assert "不再等律师" in cancelled
    assert "免费" in await reply_to(callbacks, fake, openid, text_xml(openid, "法律援助要钱吗"))


def wechat_routes(config: Config) -> list[str]:
    app = create_app(config)
    return [route.method for route in app.router.routes() if route.resource.canonical == "/wechat"]


async def test_the_channel_is_off_without_a_token_and_configured_by_wechat_variables():
    assert wechat_routes(Config.from_env({})) == []
    config = Config.from_env(
        {
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": SECRET,
            "WECHAT_AES_KEY": AES_KEY,
            "WECHAT_API_BASE": "http://127.0.0.1:9/cgi-bin",
        }
    )
    assert (config.wechat_token, config.wechat_app_id, config.wechat_app_secret) == (
        TOKEN,
        APP_ID,
        SECRET,
    )
    assert config.wechat_api_base == "http://127.0.0.1:9/cgi-bin/"
    assert set(wechat_routes(config)) >= {"GET", "POST"}
    with pytest.raises(ValueError, match="EncodingAESKey"):
        create_app(Config(wechat_token=TOKEN, wechat_aes_key="too-short"))
