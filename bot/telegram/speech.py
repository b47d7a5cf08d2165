"""Replies as voice notes, and the speech rate each listener chose.

Which words: a Telegram turn goes to Rasa as `telegram`, i.e. on its text
(`rest`) channel, so the replies are the written variants: the person reads
them in the chat and keeps them (numbers, citations, the checklist). The voice
note says the same replies made for the ear by the one normaliser
(voice.normalise.reply_for_ear: numbers spoken, links dropped, the buttons read
as "说一，或者按一"). Rasa's spoken variants would replace the written text as
well, which a messenger user who also reads would lose.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.appkeys import SPEECH_ENGINES
from bot.privacy import pseudonym
from bot.speech import SpeechRates, rate_set_in, shown
from bot.telegram.chats import GATEWAY, sender_of
from bot.telegram.sending import retrying
from voice.audio import to_ogg_opus
from voice.errors import VoiceInputError
from voice.normalise import reply_for_ear
from voice.synthesis import RATES, SynthesisError

log = logging.getLogger("bot.telegram")

RATE_STEP = {"/speak_slower": -1, "/speak_faster": 1}


async def send_spoken(context: Any, chat_id: int, replies: list[dict[str, Any]]) -> None:
    """The turn's replies as one voice note; nothing when no voice can be made (the text is sent)."""
    spoken = "".join(reply_for_ear(reply) for reply in replies if reply.get("text"))
    synthesiser = context.bot_data[GATEWAY][SPEECH_ENGINES].voice()
    if not spoken or synthesiser is None:
        return
    sender = sender_of(chat_id)
    try:
        speech = await synthesiser.synthesise(spoken, await _rates(context).of(sender))
        note = await to_ogg_opus(speech.pcm, speech.sample_rate)
    except (SynthesisError, VoiceInputError) as error:
        # The text is already sent: the person misses the sound, not the answer.
        log.warning("telegram voice reply failed sender=%s: %s", pseudonym(sender), error)
        return
    duration = max(1, round(speech.duration))
    await retrying(lambda: context.bot.send_voice(chat_id, note, duration=duration), "sendVoice")


def _rates(context: Any) -> SpeechRates:
    """The gateways' one record of listeners' rates (bot/speech.py), shared with the voice chat."""
    return context.bot_data[GATEWAY][SPEECH_ENGINES].rates


async def note_command(context: Any, sender: str, payload: str) -> None:
    """/slower and /faster: one step along slow, normal, fast, for the next voice notes.

    On the text channel the dialogue answers them without reporting a rate
    (it does so only on `voice`), so the gateway keeps the listener's rate.
    """
    step = RATE_STEP.get(payload)
    if step is None:
        return
    rates = _rates(context)
    position = RATES.index(await rates.of(sender)) + step
    if 0 <= position < len(RATES):
        await rates.put(sender, RATES[position])


async def take_speech_rate(
    context: Any, sender: str, replies: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A rate the dialogue reports (`custom.speech_rate`) is kept; a message that only
    carries it is not shown (one that carries a document is)."""
    rate = rate_set_in(replies)
    if rate in RATES:
        await _rates(context).put(sender, rate)
    return [r for r in replies if not _only_a_rate(r)]


def _only_a_rate(reply: dict[str, Any]) -> bool:
    carried = set(reply.get("custom") or {})
    return not shown([reply]) and carried == {"speech_rate"}
