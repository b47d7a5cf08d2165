"""The Rasa input channel for spoken conversations.

Rasa's REST channel under another name, `voice`: its replies are generated
for an output channel named `voice` too, so responses pick their
`channel: voice` variants (written for the ear) for the voice kiosk, the
hotline and voice messages. The gateway posts transcripts to
/webhooks/voice/webhook with the same body as the REST channel.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from legal_aid.channels import VOICE

log = logging.getLogger(__name__)


class VoiceOutputChannel(CollectingOutputChannel):
    @classmethod
    def name(cls) -> str:
        return VOICE.name


class VoiceInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return VOICE.name

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(
            f"custom_webhook_{type(self).__name__}", inspect.getmodule(self).__name__
        )

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            collector = VoiceOutputChannel()
            message = UserMessage(
                self._extract_message(request),
                collector,
                await self._extract_sender(request),
                input_channel=self.name(),
                metadata=self.get_metadata(request),
            )
            try:
                await on_new_message(message)
            except Exception:  # noqa: BLE001 - answer what was collected; no text in logs
                log.exception("voice channel: handling a message failed")
            return response.json(collector.messages)

        return webhook
