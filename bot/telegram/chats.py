"""Who is talking: Telegram chats as gateway sender ids, and what the handlers share."""

from __future__ import annotations

CHANNEL = "telegram"
# Passed to Rasa with every turn, so the actions know the person is on Telegram.
METADATA = {"channel": CHANNEL}

# Keys of Application.bot_data: the aiohttp gateway, the button payloads, the
# update ids seen, the listeners' speech rates.
GATEWAY = "gateway"
PAYLOADS = "payloads"
SEEN = "seen"
SPEECH_RATES = "speech_rates"


def sender_of(chat_id: int) -> str:
    return f"{CHANNEL}:{chat_id}"


def chat_of(sender: str) -> int | None:
    """The chat id of a Telegram sender id; None for another channel's sender."""
    prefix, _, chat = sender.partition(":")
    try:
        return int(chat) if prefix == CHANNEL else None
    except ValueError:
        return None
