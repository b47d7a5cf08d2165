"""The turn handler every channel calls: what it keeps from Rasa, what it tells
Rasa of the channel, and the polite answers it gives instead. Rasa is a
recording stand-in here; the stack tests (test_gateway_input.py,
test_rasa_down.py) meet the real one."""

from __future__ import annotations

import asyncio

from bot.messages import BUSY_REPLY, EMPTY_REPLY, TOO_LONG_REPLY
from bot.rasa_client import RasaUnavailable
from bot.turns import TurnHandler
from legal_aid.channels import HOTLINE, TELEGRAM, VOICE, WEB


class Rasa:
    """Answers "好的" to everything, or is down; records what it was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict | None, str]] = []
        self.down = False

    async def send(self, sender, message, metadata=None, webhook="rest"):
        if self.down:
            raise RasaUnavailable("down")
        self.sent.append((sender, message, metadata, webhook))
        return [{"recipient_id": sender, "text": "好的"}]


def turn(handler: TurnHandler, message: str, **kwargs) -> list[dict]:
    return asyncio.run(handler.handle("person-1", message, **kwargs))


def test_a_message_too_long_or_empty_never_reaches_rasa():
    rasa = Rasa()
    handler = TurnHandler(rasa, max_message_chars=10)
    assert [r["text"] for r in turn(handler, "欠" * 11)] == [TOO_LONG_REPLY.format(limit=10)]
    assert [r["text"] for r in turn(handler, "  \n")] == [EMPTY_REPLY]
    assert rasa.sent == []
    assert turn(handler, "欠" * 10)[0] == {
        "recipient_id": "person-1",
        "text": "好的",
        "buttons": [],
    }


def test_rasa_hears_which_channel_and_whether_the_person_listens():
    rasa = Rasa()
    handler = TurnHandler(rasa, max_message_chars=100)
    turn(handler, "你好", metadata={"hint": "x"})
    turn(handler, "你好", channel=VOICE.name)
    turn(handler, "你好", channel=TELEGRAM.name)
    turn(handler, "你好", metadata={"hint": "x"}, channel=HOTLINE.name)
    assert [(metadata, webhook) for *_, metadata, webhook in rasa.sent] == [
        ({"hint": "x"}, "rest"),  # the web chat: its own metadata, untouched
        (None, "voice"),
        ({"channel": TELEGRAM.name}, "rest"),
        ({"hint": "x", "channel": HOTLINE.name}, "voice"),
    ]


def test_a_message_rasa_missed_is_answered_politely_and_sent_with_the_next():
    rasa = Rasa()
    handler = TurnHandler(rasa, max_message_chars=100)
    rasa.down = True
    assert [r["text"] for r in turn(handler, "老板欠我工资", channel=WEB.name)] == [BUSY_REPLY]
    rasa.down = False
    turn(handler, "三个月了")
    assert [message for _, message, *_ in rasa.sent] == ["老板欠我工资", "三个月了"]
