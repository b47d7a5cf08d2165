"""The real gateway on a loopback port, in a thread of its own, for the fuzzers.

Hypothesis drives synchronous tests; the gateway and its fakes (Rasa that
echoes, WeChat's and Telegram's servers) run on an event loop in a background
thread, and each batch of generated inputs is sent by a coroutine run on that
loop (`Gateway.run`). What is not attacked here is replaced by fast stand-ins:
speech (a recogniser that hears a fixed sentence, a synthesiser of silence)
and, for most voice uploads, ffmpeg (see `Converter`). Everything else is the
gateway as it runs: create_app, its routes, identities, the SQLite store.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import threading
import wave
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

import voice.audio
from bot.app import create_app
from bot.appkeys import SPEECH_ENGINES
from bot.config import Config
from bot.speech import SpeechEngines
from scripts.launcher import free_port
from tests.security.gateway import database, fake_rasa
from tests.support.fake_telegram import TOKEN as TELEGRAM_TOKEN
from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_wechat import FakeWeChat
from tests.support.gateway_api import API_TOKEN
from tests.test_handoff_store import PII_KEY
from voice.errors import UnreadableAudio
from voice.recognition import Recogniser, RecognitionStream, Transcript
from voice.synthesis import Speech, Synthesiser

T = TypeVar("T")

WECHAT_TOKEN = "fuzz-wechat-token"
WECHAT_APP_ID = "wx0fuzz0000000001"
WECHAT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
TELEGRAM_SECRET = "fuzz-telegram-Secret_1"
TELEGRAM_WEBHOOK_URL = "https://legal-aid.example/telegram/webhook"
HEARD = "我想咨询工资的问题"


class HearsOneSentence(Recogniser):
    """A recogniser that hears HEARD in any audio: the voice routes' plumbing is
    fuzzed, not Vosk (tested in tests/test_voice_recognition.py)."""

    name = "fuzz"

    def open_stream(self, sample_rate: int, grammar: Any = None) -> RecognitionStream:
        return _Hears(sample_rate)


class _Hears(RecognitionStream):
    def _accept_samples(self, pcm: bytes) -> Transcript:
        return Transcript("", final=False)

    def _finish_samples(self) -> Transcript:
        return Transcript(HEARD, final=True)


class SpeaksSilence(Synthesiser):
    """A synthesiser of a tenth of a second of 8 kHz silence per reply: the
    hotline's calls play their answers at once and go on listening."""

    engine_name = "fuzz"

    async def synthesise(self, text: str, rate: str = "normal") -> Speech:
        return Speech.silence(0.1, 8000)

    async def synthesise_sentences(self, text: str, rate: str = "normal") -> Any:
        yield Speech.silence(0.1, 8000)

    def close(self) -> None:
        pass


class TelegramAsBadRequests(FakeTelegram):
    """The fake Bot API, answering parameters it cannot read as Telegram does
    (400, "Bad Request") instead of failing: the fuzzed updates carry chat ids
    no real chat has, and the gateway's answers to them go back here."""

    async def _method(self, request: web.Request) -> web.Response:
        try:
            return await super()._method(request)
        except (ValueError, TypeError, KeyError, AttributeError):
            refusal = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            return web.json_response(refusal, status=400)


class Converter:
    """ffmpeg and sox for every `real_every`-th upload, a WAV reader in this
    process for the rest.

    A converter run costs about a tenth of a second on a busy two-core machine:
    ten thousand uploads through it would take the whole CI budget. The stand-in
    raises what voice.audio raises for audio it cannot read (UnreadableAudio),
    so the gateway's handling of a bad recording is the same; the real tools
    still see a share of the generated uploads (all of them in the nightly
    profile, with real_every=1).
    """

    def __init__(self, real_every: int) -> None:
        self.real_every, self.runs, self.real_runs = real_every, 0, 0
        self._ffmpeg, self._sox = voice.audio.run_ffmpeg, voice.audio.run_sox

    async def ffmpeg(self, arguments: list[str], data: bytes) -> bytes:
        return await self._convert(self._ffmpeg, arguments, data)

    async def sox(self, arguments: list[str], data: bytes) -> bytes:
        return await self._convert(self._sox, arguments, data)

    async def _convert(
        self,
        real: Callable[[list[str], bytes], Awaitable[bytes]],
        arguments: list[str],
        data: bytes,
    ) -> bytes:
        self.runs += 1
        if self.runs % self.real_every == 0:
            self.real_runs += 1
            return await real(arguments, data)
        try:
            with wave.open(io.BytesIO(data)) as audio:
                frames = audio.readframes(audio.getnframes())
        except Exception as error:  # noqa: BLE001 - the stand-in reads, the gateway is tested
            raise UnreadableAudio(voice.audio.UNREADABLE_MESSAGE, type(error).__name__) from None
        if not frames:
            raise UnreadableAudio(voice.audio.UNREADABLE_MESSAGE, "no frames")
        return frames[: 2 * 16000 * 5]  # at most five seconds at the recogniser's rate


def rate_limits_off() -> dict[str, int]:
    """The per-address request limits, off where the gateway has them: every
    input comes from one loopback address, and the limits have their own tests
    (tests/security/test_rate_limits.py); what is fuzzed is what a request holds."""
    names = {f.name for f in fields(Config)}
    return {name: 0 for name in names if name.startswith("rate_limit_")}


@dataclass
class Servers:
    """Where each gateway listens."""

    web: str  # the web chat, voice upload and Telegram webhook
    wechat_plain: str  # the WeChat callback, plaintext (no AES key)
    wechat_safe: str  # the WeChat callback in safe mode (WECHAT_AES_KEY set)
    hotline_port: int


class Gateway:
    """The gateways and their fakes on a background event loop."""

    def __init__(self, tmp_path: Path, converter: Converter) -> None:
        self.tmp_path = tmp_path
        self.converter = converter
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._stack = contextlib.AsyncExitStack()
        self.session: aiohttp.ClientSession | None = None
        self.servers: Servers | None = None
        self.apps: list[web.Application] = []

    def start(self) -> Servers:
        self._thread.start()
        self.servers = self.run(self._start(), timeout=120)
        return self.servers

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self._stack.aclose(), timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 600) -> T:
        """Runs `coroutine` on the gateway's loop and waits for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _start(self) -> Servers:
        rasa = await self._stack.enter_async_context(TestServer(fake_rasa()))
        wechat_api = FakeWeChat(WECHAT_APP_ID, "fuzz-secret")
        await wechat_api.start()
        self._stack.push_async_callback(wechat_api.close)
        telegram_api = TelegramAsBadRequests()
        await telegram_api.start()
        self._stack.push_async_callback(telegram_api.close)
        hotline_port = free_port()
        common = {
            "rasa_url": str(rasa.make_url("")).rstrip("/"),
            "database_url": database(self.tmp_path),
            "gateway_api_token": API_TOKEN,
            **rate_limits_off(),
        }
        wechat = {
            "wechat_token": WECHAT_TOKEN,
            "wechat_app_id": WECHAT_APP_ID,
            "wechat_app_secret": "fuzz-secret",
            "wechat_api_base": wechat_api.api_base,
        }
        web_url = await self._gateway(
            Config(
                **common,
                telegram_token=TELEGRAM_TOKEN,
                telegram_api_base=telegram_api.api_base,
                telegram_webhook_url=TELEGRAM_WEBHOOK_URL,
                telegram_webhook_secret=TELEGRAM_SECRET,
                hotline_port=hotline_port,
                hotline_silence_seconds=2.0,
            )
        )
        plain = await self._gateway(Config(**common, **wechat))
        safe = await self._gateway(Config(**common, **wechat, wechat_aes_key=WECHAT_AES_KEY))
        self.session = aiohttp.ClientSession()
        self._stack.push_async_callback(self.session.close)
        return Servers(web_url, plain, safe, hotline_port)

    async def _gateway(self, config: Config) -> str:
        app = create_app(config)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        self._stack.push_async_callback(server.close)
        engines = app[SPEECH_ENGINES]
        engines.recogniser = HearsOneSentence()
        engines.synthesiser = SpeaksSilence()
        self.apps.append(app)
        await _until_telegram_runs(app)
        return str(server.make_url("")).rstrip("/")


async def _until_telegram_runs(app: web.Application) -> None:
    """Telegram's application starts in the background (it calls setWebhook first)."""
    from bot.telegram import TELEGRAM

    for _ in range(120):
        if TELEGRAM not in app or app[TELEGRAM].running:
            return
        await asyncio.sleep(0.25)
    raise RuntimeError("the gateway's Telegram channel did not start")


@contextlib.contextmanager
def running_gateway(tmp_path: Path, real_ffmpeg_every: int) -> Iterator[Gateway]:
    """The gateways, with speech engines stood in and PII_KEY set, for one module."""
    with _patched(real_ffmpeg_every) as converter:
        gateway = Gateway(tmp_path, converter)
        try:
            gateway.start()
            yield gateway
        finally:
            gateway.stop()


# Loggers that write a line per request or turn at INFO: fifty thousand
# inputs' worth would cost the run more than the inputs do. Their errors still
# reach the suite's ErrorLog.
CHATTY_LOGGERS = ["aiohttp.access", "bot", "telegram", "httpx", "apscheduler", "voice"]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    levels = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def _asyncio_as_the_gateway_runs() -> Iterator[None]:
    """asyncio's own event loops while the gateways run, as under `python -m bot`.

    Importing Rasa installs uvloop's policy for the whole process, and the full
    suite imports Rasa while collecting: the fuzzed gateways then ran on uvloop,
    which production never does (one voice upload in thousands went
    unanswered there, and never on asyncio's loop); and a standard loop cannot
    start ffmpeg under uvloop's policy, which has no child watcher.
    """
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    try:
        yield
    finally:
        asyncio.set_event_loop_policy(previous)


@contextlib.contextmanager
def _patched(real_ffmpeg_every: int) -> Iterator[Converter]:
    import pytest

    converter = Converter(real_ffmpeg_every)
    with pytest.MonkeyPatch.context() as patch, _quiet(), _asyncio_as_the_gateway_runs():
        patch.setenv("PII_KEY", PII_KEY)
        # The engines are stood in after start (harness.Gateway._gateway): not loaded.
        patch.setattr(SpeechEngines, "start_loading", lambda self: None)
        patch.setattr(voice.audio, "run_ffmpeg", converter.ffmpeg)
        patch.setattr(voice.audio, "run_sox", converter.sox)
        yield converter
