"""The Telegram channel, end to end: a person on Telegram talking to the real assistant.

The gateway runs in this process (aiohttp's test server) against the session's
real Rasa and action servers, with the real Korean Vosk model and espeak; only
Telegram's servers are faked (tests/support/fake_telegram.py, the real Bot API wire
format on loopback). The tests play the person by queueing updates and read
what the bot sent back.
"""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import time
import uuid
import wave

import numpy as np
import pytest
import pytest_asyncio
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.appkeys import RELAY, SPEECH_ENGINES
from bot.config import Config
from bot.messages import TELEGRAM_HELP as HELP
from bot.messages import TELEGRAM_NOT_UNDERSTOOD_KIND as NOT_UNDERSTOOD_KIND
from bot.telegram import TELEGRAM
from store import encrypted_store
from tests.conftest import Conversation
from tests.support.fake_telegram import TOKEN, Call, FakeTelegram
from tests.support.intake_support import MIGRANT_WORKER, answer_all
from tests.support.voice_support import ENGINES_READY_SECONDS, KOREAN_MODEL
from tests.test_voice_chat import Says
from voice.audio import to_ogg_opus

pytestmark = pytest.mark.asyncio(loop_scope="module")

# How long the bot must stay quiet after its last message for a turn to be over.
QUIET_SECONDS = 1.5
WEBHOOK_URL = "https://legal-aid.example/telegram/webhook"
WEBHOOK_SECRET = "s3cret-Token_for-tests"


# --- the fake Telegram, the gateway, and the person --------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake():
    async with FakeTelegram() as server:
        yield server


@pytest.fixture(scope="module")
def gateway_env(stack):
    """Voice engines as the voice tests have them; the store and key of the session's stack."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VOSK_MODEL", str(KOREAN_MODEL))
        patch.setenv("TTS_ENGINE", "espeak")
        patch.setenv("TTS_WORKERS", "1")
        patch.setenv("DATABASE_URL", f"sqlite:///{stack.var_dir / 'legal_aid.db'}")
        patch.setenv("PII_KEY_FILE", str(stack.var_dir / "pii.key"))
        encrypted_store._shared.cache_clear()  # stores are opened with this environment
        yield
        encrypted_store._shared.cache_clear()


def config_for(stack, fake: FakeTelegram, **telegram) -> Config:
    return Config(
        rasa_url=stack.rasa_url,
        rasa_token=stack.rasa_token,
        actions_url=stack.actions_url,
        database_url=f"sqlite:///{stack.var_dir / 'legal_aid.db'}",
        telegram_token=TOKEN,
        telegram_api_base=fake.api_base,
        **telegram,
    )


async def started(config: Config):
    app = create_app(config)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    for _ in range(ENGINES_READY_SECONDS * 2):
        engines = app[SPEECH_ENGINES]
        if app[TELEGRAM].running and engines.hears and engines.speaks:
            return app, server
        await asyncio.sleep(0.5)
    pytest.fail("the gateway's Telegram channel or voice engines did not start")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gateway(stack, gateway_env, fake):
    """The gateway polling the fake Telegram (the embedded default)."""
    app, server = await started(config_for(stack, fake))
    yield app
    await server.close()


class Person:
    """Someone in a private chat with the bot."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.chat_id = int(uuid.uuid4().int % 10**9) + 10**9

    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self.fake.sent_to(self.chat_id, method) if c.method != "sendChatAction"]

    async def send(self, update: dict, wait_for: str = "sendMessage") -> list[Call]:
        """Queues the update; the bot's calls for it, once it has gone quiet."""
        before = len(self.calls())
        before_wanted = len(self.calls(wait_for))
        await self.fake.push(update)
        await self.fake.wait_for(lambda: len(self.calls(wait_for)) > before_wanted)
        await self.quiet()
        return self.calls()[before:]

    async def quiet(self) -> None:
        while True:
            last = max((c.at for c in self.calls()), default=0.0)
            if time.monotonic() - last >= QUIET_SECONDS:
                return
            await asyncio.sleep(0.2)

    async def say(self, text: str) -> list[str]:
        calls = await self.send(self.fake.text_update(self.chat_id, text))
        return texts(calls)


def texts(calls: list[Call]) -> list[str]:
    return [c.params["text"] for c in calls if c.method == "sendMessage"]


def buttons_of(call: Call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def seconds_and_loudness(ogg: bytes) -> tuple[float, float]:
    """What a player would play: the voice note decoded by ffmpeg."""
    wav = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", "pipe:0", "-f", "wav", "-ac", "1", "pipe:1"],
        input=ogg,
        capture_output=True,
        check=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as audio:
        frames = audio.readframes(audio.getnframes())
        seconds = audio.getnframes() / audio.getframerate()
    samples = np.frombuffer(frames, dtype=np.int16).astype(np.float64)
    return seconds, float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


async def spoken_ogg(text: str) -> bytes:
    """`text` said by espeak-ng's Mandarin voice, as Telegram's voice notes are: OGG/Opus."""
    wav = subprocess.run(
        ["espeak-ng", "-v", "cmn", "--stdout", text], check=True, capture_output=True
    ).stdout
    with wave.open(io.BytesIO(wav)) as audio:
        pcm, rate = audio.readframes(audio.getnframes()), audio.getframerate()
    return await to_ogg_opus(pcm, rate)


# --- the tests ---------------------------------------------------------------------------


async def test_without_a_token_the_gateway_has_no_telegram():
    app = create_app(Config())
    assert TELEGRAM not in app
    assert not any("telegram" in r.resource.canonical for r in app.router.routes())


async def test_a_consultation_by_text(gateway, fake):
    person = Person(fake)
    greeting = await person.say("/start")
    assert greeting and all(text.strip() for text in greeting)
    calls = await person.send(fake.text_update(person.chat_id, "老板拖欠我三个月工资，怎么办"))
    answer = "\n".join(texts(calls))
    assert "拖欠工资" in answer
    assert "来源：《法律援助法》第三十一条" in answer
    titles = [b["text"] for c in calls for b in buttons_of(c)]
    assert "查一查能不能申请" in titles and "找人工" in titles


async def test_a_button_press_is_the_persons_answer(gateway, fake):
    person = Person(fake)
    calls = await person.send(fake.text_update(person.chat_id, "老板拖欠我三个月工资"))
    offer = next(c for c in calls if buttons_of(c))
    check = next(b for b in buttons_of(offer) if b["text"] == "查一查能不能申请")
    assert len(check["callback_data"].encode()) <= 64
    press = fake.callback_update(person.chat_id, offer, check["callback_data"])
    pressed = await person.send(press)
    query_id = press["callback_query"]["id"]
    answered = [c for c in fake.calls if c.params.get("callback_query_id") == query_id]
    assert answered and "查一查能不能申请" in answered[0].params.get("text", "")
    # The old buttons go, so the choice cannot be made twice.
    assert any(c.method == "editMessageReplyMarkup" for c in pressed)
    # The eligibility check begins: its first question is where the person lives.
    assert "哪个省" in "\n".join(texts(pressed))


async def test_a_voice_note_is_heard_echoed_and_answered_in_voice(gateway, fake):
    """The dialogue through the recogniser interface (the Korean model cannot hear
    Mandarin), the audio both ways for real."""
    engines = gateway[SPEECH_ENGINES]
    real = engines.recogniser
    engines.recogniser = Says("老板拖欠我三个月工资")
    try:
        person = Person(fake)
        ogg = await spoken_ogg("老板拖欠我三个月工资")
        calls = await person.send(fake.voice_update(person.chat_id, ogg), wait_for="sendVoice")
    finally:
        engines.recogniser = real
    shown = texts(calls)
    assert shown[0] == "我听到的是：老板拖欠我三个月工资"
    assert "来源：《法律援助法》第三十一条" in "\n".join(shown[1:])
    notes = [c for c in calls if c.method == "sendVoice"]
    assert len(notes) == 1
    seconds, loudness = seconds_and_loudness(notes[0].files["voice"])
    # The whole answer is said: seconds of speech, not a beep or silence.
    assert seconds > 5 and loudness > 300, (seconds, loudness)


async def test_a_voice_note_through_the_real_recogniser_gets_an_answer(gateway, fake):
    person = Person(fake)
    ogg = await spoken_ogg("你好")
    calls = await person.send(fake.voice_update(person.chat_id, ogg), wait_for="sendVoice")
    shown = texts(calls)
    # Whatever the Korean model made of Mandarin: shown as heard and answered, or
    # the polite "not heard", always with a voice note.
    assert shown[0].startswith("我听到的是：") or "没有听清楚" in shown[0], shown
    assert [c.method for c in calls].count("sendVoice") == 1


async def test_bad_input_gets_a_polite_answer(gateway, fake):
    person = Person(fake)
    broken = await person.send(
        fake.voice_update(person.chat_id, b"not audio at all" * 20), wait_for="sendVoice"
    )
    assert "录音没能打开" in texts(broken)[0]
    too_long = await person.say("我" * 3000)
    assert "太长" in too_long[0] and "2000" in too_long[0]
    sticker = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512,
               "height": 512, "is_animated": False, "is_video": False}  # fmt: skip
    message = {"message_id": 1, "date": int(time.time()), "sticker": sticker,
               "chat": {"id": person.chat_id, "type": "private"}}  # fmt: skip
    assert texts(await person.send(fake.new_update(message=message))) == [NOT_UNDERSTOOD_KIND]


async def test_an_application_sends_the_form_as_documents(gateway, fake):
    person = Person(fake)
    loop = asyncio.get_running_loop()

    def say(text: str) -> list[str]:
        return asyncio.run_coroutine_threadsafe(person.say(text), loop).result(120)

    await person.say("包工头拖欠我三个月工资不给")
    await asyncio.to_thread(answer_all, say, "帮我查一查能不能申请", MIGRANT_WORKER, "登记申请")
    heard = await asyncio.to_thread(answer_all, say, "现在登记申请", MIGRANT_WORKER, "登记编号是")
    reference = next(t for t in heard if "登记编号是" in t)
    await fake.wait_for(lambda: len(person.calls("sendDocument")) >= 2)
    form, large = person.calls("sendDocument")
    for document in (form, large):
        assert document.files["document"].startswith(b"%PDF")
        assert document.file_names["document"].startswith("FY-")
        assert document.file_names["document"].removesuffix(".pdf").split("-大字版")[0] in reference
    assert "大字版" in large.params["caption"]
    assert len(large.files["document"]) != len(form.files["document"])


async def test_a_repeated_update_is_answered_once(gateway, fake):
    person = Person(fake)
    update = fake.text_update(person.chat_id, "/help")
    # Both copies are in the same getUpdates answer, as after a lost confirmation.
    await fake.push(dict(update), dict(update))
    await fake.wait_for(lambda: person.calls("sendMessage"))
    await asyncio.sleep(3)
    assert texts(person.calls()) == [HELP]


async def test_flood_control_is_waited_out(gateway, fake):
    person = Person(fake)
    fake.flood_next("sendMessage", 2)
    asked = time.monotonic()
    shown = await person.say("/help")
    assert shown == [HELP]  # delivered, once
    assert person.calls("sendMessage")[0].at - asked >= 2


async def test_a_conversation_started_on_the_web_continues_on_telegram_with_a_code(
    stack, gateway, fake
):
    """接续码: the code asked for on the web chat, typed on Telegram and confirmed
    on the web chat; the question waiting on the web is asked again on Telegram
    and answered there."""
    web = Conversation(stack, sender=f"web-{uuid.uuid4().hex[:12]}")
    await asyncio.to_thread(web.say, "包工头欠了我八个月工钱 一分没给")
    await asyncio.to_thread(web.say, "帮我查一查")
    asked = await asyncio.to_thread(web.reply_text, "内蒙古包头")
    assert "务工" in asked
    given = await asyncio.to_thread(web.reply_text, "给我接续码")
    code = re.search(r"接续 (\d{8})", given).group(1)

    person = Person(fake)
    asked = await person.say(f"接续 {code}")
    number = re.search(r"确认接续 (\d{4})", asked[0]).group(1)  # confirmed on the web chat
    assert "已经确认" in await asyncio.to_thread(web.reply_text, f"确认接续 {number}")
    linked = await person.say("好了")
    assert "已经接上了" in linked[0] and "务工" in linked[-1], linked
    # Answered there: the decision (told as soon as it is known), then the next question.
    after = await person.say("是的，我是农民工")
    assert after[0].startswith("结果：") and "期限" in after[-1], after
    assert "务工" not in after[-1], after


async def test_a_long_lawyer_message_is_split_between_sentences(gateway, fake):
    """Lawyers' messages pushed through the handoff relay's deliverer, over Telegram's limit."""
    assert RELAY in gateway, "the relay needs the store's key"
    deliver = gateway[RELAY].deliverers["telegram"]
    person = Person(fake)
    sentences = [
        f"第{n}点，请把工资条、考勤记录和聊天记录都保存好，这些都是证据。" for n in range(200)
    ]
    long_text = "".join(sentences) + "最后这句话说明全文都送到了。"
    sender = f"telegram:{person.chat_id}"
    await deliver(sender, [{"recipient_id": sender, "text": long_text, "speaker": "王律师"}])
    shown = texts(person.calls())
    assert len(shown) >= 2
    assert all(len(part) <= 4096 for part in shown)
    assert "".join(shown) == "【王律师】" + long_text  # nothing lost, nothing added
    assert all(part.endswith("。") for part in shown)  # no sentence broken


async def test_an_update_at_two_gateways_is_handled_once(stack, gateway_env, fake, redis_server):
    """Behind a load balancer Telegram's repeat of an update may reach another
    gateway: the gateways share what they have seen in Redis (REDIS_URL)."""
    config = config_for(
        stack,
        fake,
        telegram_webhook_url=WEBHOOK_URL,
        telegram_webhook_secret=WEBHOOK_SECRET,
        redis_url=redis_server.url,
    )
    (_, at_a), (_, at_b) = await started(config), await started(config)
    person = Person(fake)
    update = fake.text_update(person.chat_id, "/help")
    try:
        async with ClientSession() as http:
            for server in (at_a, at_b):
                async with http.post(
                    str(server.make_url("/telegram/webhook")),
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
                ) as response:
                    assert response.status == 200
        await fake.wait_for(lambda: person.calls("sendMessage"))
        await asyncio.sleep(3)
        assert texts(person.calls()) == [HELP]
    finally:
        await at_a.close()
        await at_b.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def webhook_gateway(stack, gateway_env, fake):
    config = config_for(
        stack, fake, telegram_webhook_url=WEBHOOK_URL, telegram_webhook_secret=WEBHOOK_SECRET
    )
    app, server = await started(config)
    yield server
    await server.close()


async def test_webhook_mode_accepts_only_telegrams_secret(webhook_gateway, fake):
    assert fake.webhook is not None
    assert fake.webhook["url"] == WEBHOOK_URL
    assert fake.webhook["secret_token"] == WEBHOOK_SECRET
    person = Person(fake)
    update = fake.text_update(person.chat_id, "老板拖欠我三个月工资")
    url = str(webhook_gateway.make_url("/telegram/webhook"))
    async with ClientSession() as http:

        async def post(secret: str | None) -> int:
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
            async with http.post(url, json=update, headers=headers) as response:
                return response.status

        assert await post(None) == 403
        assert await post("wrong-secret") == 403
        await asyncio.sleep(2)
        assert person.calls() == []  # nothing of a refused update reached anyone
        assert await post(WEBHOOK_SECRET) == 200
        await fake.wait_for(lambda: person.calls("sendMessage"))
        await person.quiet()
        first = texts(person.calls())
        assert "来源：《法律援助法》第三十一条" in "\n".join(first)
        # Telegram sends it again when the first call seemed to time out: answered once.
        assert await post(WEBHOOK_SECRET) == 200
        await asyncio.sleep(3)
        assert texts(person.calls()) == first
