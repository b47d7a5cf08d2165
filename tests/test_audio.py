"""Audio conversion through the real ffmpeg: what browsers, messengers and phones send and play."""

from __future__ import annotations

import array
import random
import subprocess
import wave
from io import BytesIO
from pathlib import Path

import pytest

from tests.support.voice_support import amr_of, amr_speech_modes
from voice import audio
from voice.errors import AudioTooLong, UnreadableAudio

SPEECH = "您好，我想咨询法律援助，老板欠了我三个月的工资。"


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wav = tmp_path_factory.mktemp("speech") / "cmn.wav"
    subprocess.run(["espeak-ng", "-v", "cmn", "-w", str(wav), SPEECH], check=True)
    return wav


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def encode(wav: Path, *ffmpeg_output: str) -> bytes:
    """The speech as a browser or messenger would send it."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(wav), *ffmpeg_output, "-"],
        check=True,
        capture_output=True,
    ).stdout


def loudness(pcm: bytes) -> float:
    samples = array.array("h", pcm)
    return sum(abs(sample) for sample in samples) / max(len(samples), 1)


SENT_FORMATS = {
    "wav": ["-f", "wav"],
    "webm/opus (browsers)": ["-c:a", "libopus", "-f", "webm"],
    "ogg/opus (messengers)": ["-c:a", "libopus", "-f", "ogg"],
    "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
}


@pytest.mark.parametrize("rate", [16000, 8000])
@pytest.mark.parametrize("sent_as", list(SENT_FORMATS))
async def test_recordings_people_send_become_pcm_of_the_same_duration(speech_wav, sent_as, rate):
    pcm = await audio.to_pcm(encode(speech_wav, *SENT_FORMATS[sent_as]), rate)
    assert len(pcm) / (2 * rate) == pytest.approx(wav_seconds(speech_wav), abs=0.15)
    assert loudness(pcm) > 100, "the speech survived, not silence"


# AMR-NB's lowest rate (4.75 kbit/s, mode 0) and its highest (12.2, mode 7).
@pytest.mark.parametrize("mode", ["0", "7"])
@pytest.mark.parametrize("rate", [16000, 8000])
async def test_an_amr_voice_message_becomes_pcm(speech_wav, rate, mode):
    amr = amr_of(speech_wav.read_bytes(), mode)
    assert amr_speech_modes(amr) == {int(mode)}
    assert amr.startswith(b"#!AMR\n")
    pcm = await audio.to_pcm(amr, rate)
    assert len(pcm) / (2 * rate) == pytest.approx(wav_seconds(speech_wav), abs=0.15)
    assert loudness(pcm) > 100, "the speech survived, not silence"


async def test_a_reply_becomes_an_amr_voice_message_that_decodes_again(speech_wav):
    pcm = await audio.to_pcm(speech_wav.read_bytes(), 16000)
    amr = await audio.to_amr(pcm, 16000)
    assert amr.startswith(b"#!AMR\n")
    assert amr_speech_modes(amr) == {7}, "12.2 kbit/s, AMR's clearest: not sox's muffled 4.75"
    assert len(amr) < len(pcm) / 10, "compressed, as a voice message must be"
    again = await audio.to_pcm(amr, 16000)
    assert len(again) / 32000 == pytest.approx(len(pcm) / 32000, abs=0.1)
    assert loudness(again) > 100


async def test_a_broken_amr_file_gets_a_polite_answer():
    with pytest.raises(UnreadableAudio) as refused:
        await audio.to_pcm(b"#!AMR\n" + random.Random(4).randbytes(3000), 16000)
    assert "请再录一次" in refused.value.user_message


async def test_an_empty_recording_gets_a_polite_answer():
    with pytest.raises(UnreadableAudio) as refused:
        await audio.to_pcm(b"", 16000)
    assert refused.value.user_message == audio.EMPTY_MESSAGE


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_garbage_gets_a_polite_answer_not_a_crash(seed):
    garbage = random.Random(seed).randbytes(20_000)
    with pytest.raises(UnreadableAudio) as refused:
        await audio.to_pcm(garbage, 16000)
    assert "请再录一次" in refused.value.user_message


async def test_a_wav_header_with_nothing_after_it_gets_a_polite_answer():
    with pytest.raises(UnreadableAudio):
        await audio.to_pcm(audio.to_wav(b"", 16000), 16000)


async def test_a_recording_longer_than_a_minute_is_refused_politely():
    with pytest.raises(AudioTooLong) as refused:
        await audio.to_pcm(audio.to_wav(bytes(2 * 8000 * 61), 8000), 16000)
    assert "六十秒" in refused.value.user_message


async def test_an_oversized_upload_is_refused_before_ffmpeg_runs():
    with pytest.raises(AudioTooLong) as refused:
        await audio.to_pcm(bytes(audio.MAX_INPUT_BYTES + 1), 16000)
    assert refused.value.user_message == audio.TOO_LARGE_MESSAGE


async def test_replies_come_back_as_wav_ogg_opus_and_telephone_pcm(speech_wav):
    pcm = await audio.to_pcm(speech_wav.read_bytes(), 16000)
    seconds = len(pcm) / 32000

    with wave.open(BytesIO(audio.to_wav(pcm, 16000))) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert wav.readframes(wav.getnframes()) == pcm

    ogg = await audio.to_ogg_opus(pcm, 16000)
    assert ogg.startswith(b"OggS") and b"OpusHead" in ogg[:100]
    assert len(ogg) < len(pcm) / 5, "compressed for messengers"
    assert len(await audio.to_pcm(ogg, 16000)) / 32000 == pytest.approx(seconds, abs=0.1)

    telephone = await audio.to_telephone_pcm(pcm, 16000)
    assert len(telephone) / 16000 == pytest.approx(seconds, abs=0.01)
    assert loudness(telephone) > 100


async def test_synthesised_speech_at_22050_hz_converts_for_messengers_and_the_telephone(
    speech_wav,
):
    with wave.open(str(speech_wav)) as wav:
        assert wav.getframerate() == 22050  # espeak-ng's rate, as pyttsx3 gives it
        pcm = wav.readframes(wav.getnframes())
    ogg = await audio.to_ogg_opus(pcm, 22050)
    telephone = await audio.to_telephone_pcm(pcm, 22050)
    assert len(await audio.to_pcm(ogg, 8000)) / 16000 == pytest.approx(
        wav_seconds(speech_wav), abs=0.1
    )
    assert len(telephone) / 16000 == pytest.approx(wav_seconds(speech_wav), abs=0.01)
