"""Who is talking: Telegram chats as gateway sender ids, and what the handlers share."""

from __future__ import annotations

from legal_aid.channels import TELEGRAM

CHANNEL = TELEGRAM.name

# Keys of Application.bot_data: the aiohttp gateway, the button payloads, the
# update ids seen, the listeners' speech rates.
GATEWAY = "gateway"
PAYLOADS = "payloads"


def sender_of(chat_id: int) -> str:
    return TELEGRAM.sender(str(chat_id))


def chat_of(sender: str) -> int | None:
    """The chat id of a Telegram sender id; None for another channel's sender."""
    chat = TELEGRAM.local_id(sender)
    try:
        return None if chat is None else int(chat)
    except ValueError:
        return None
