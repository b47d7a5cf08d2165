"""The channels people reach the assistant on: the one list of their names.

A channel's name travels with every turn: the gateway hands it to the turn
handler and the handoff relay, Rasa sees it as its input channel or in the
message's metadata, the actions record it with an application or a handoff
ticket, the store keeps it and the figures count it. So it is spelled here
once, with what the gateway, the actions and the store need to know of it,
and everybody imports it from here.

Two of the names are also Rasa's input channels: `rest` for people who read,
and `voice` (rasa_ext/channels.py) for people who listen, whose responses are
the `channel: voice` variants. The web chat (its page, /api/chat and the page
without JavaScript, whose sender ids start with `web-form-`) reaches Rasa as
`rest`, the voice chat and the kiosk as `voice`, without naming themselves;
Telegram, WeChat and the hotline name themselves in the metadata, so the
actions know where the person is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    name: str
    # How staff read it in the console.
    label: str
    # People listen: Rasa answers on its `voice` input channel.
    spoken: bool = False
    # The handoff relay pushes a lawyer's messages to it as they are written.
    push: bool = False
    # Its page asks for a lawyer's messages itself (the long poll); a channel
    # that neither polls nor is pushed to hears them with its next turn.
    polling: bool = False
    # A messaging channel that reads text and may also send it as voice messages.
    voice_messages: bool = False
    # The gateway names it in every message's metadata, so the actions see it.
    named_in_metadata: bool = False
    # Its sender ids start with this ("telegram:<chat id>"); "" where the client
    # chooses the id.
    sender_prefix: str = ""

    def sender(self, local_id: str) -> str:
        """The gateway's sender id of someone known to the channel by `local_id`."""
        return f"{self.sender_prefix}{local_id}"

    def local_id(self, sender: str) -> str | None:
        """The channel's own id in a sender id of this channel; None for another's."""
        if not self.sender_prefix or not sender.startswith(self.sender_prefix):
            return None
        return sender[len(self.sender_prefix) :]


REST = Channel("rest", "网页", polling=True)
WEB = Channel("web", "网页", polling=True)
VOICE = Channel("voice", "语音", spoken=True)
KIOSK = Channel("kiosk", "语音", spoken=True)
HOTLINE = Channel(
    "hotline", "热线电话", spoken=True, named_in_metadata=True, sender_prefix="hotline:"
)
TELEGRAM = Channel(
    "telegram",
    "Telegram",
    push=True,
    voice_messages=True,
    named_in_metadata=True,
    sender_prefix="telegram:",
)
WECHAT = Channel(
    "wechat",
    "微信",
    push=True,
    voice_messages=True,
    named_in_metadata=True,
    sender_prefix="wechat:",
)

CHANNELS = (WEB, REST, VOICE, KIOSK, HOTLINE, TELEGRAM, WECHAT)
NAMES = frozenset(channel.name for channel in CHANNELS)
SPOKEN = frozenset(channel.name for channel in CHANNELS if channel.spoken)
POLLING = frozenset(channel.name for channel in CHANNELS if channel.polling)
VOICE_MESSAGES = frozenset(channel.name for channel in CHANNELS if channel.voice_messages)
NAMED_IN_METADATA = frozenset(channel.name for channel in CHANNELS if channel.named_in_metadata)
# What an application or a handoff ticket records: the channel the gateway
# named, else Rasa's input channel (the web chat is recorded as `rest`).
RECORDED = frozenset({REST.name, VOICE.name} | NAMED_IN_METADATA)


def rasa_input_of(name: str) -> str:
    """The Rasa input channel a channel's turns are posted to."""
    return VOICE.name if name in SPOKEN else REST.name
