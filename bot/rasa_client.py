"""Client for the Rasa server's REST channel and status API.

Rasa's HTTP API (/status, /conversations/…/tracker and its events) runs with
`--auth-token` and answers only requests carrying `?token=` (RASA_TOKEN); the
channels' webhooks (/webhooks/rest/webhook, /webhooks/voice/webhook) have no
such check in Rasa, so the token is not sent there.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import aiohttp


class RasaUnavailable(Exception):
    """Rasa did not receive the message (down, refusing, or failing)."""


class RasaTimeout(Exception):
    """Rasa received the message but did not answer in time."""


class RasaClient:
    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, timeout: float, token: str = ""
    ) -> None:
        self._session = session
        self._base_url = base_url
        # Empty: a Rasa without --auth-token (the token would be ignored anyway).
        self._auth = {"token": token} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(3.0, timeout))

    async def send(
        self,
        sender: str,
        message: str,
        metadata: dict[str, Any] | None = None,
        webhook: str = "rest",
    ) -> list[dict[str, Any]]:
        """Send one user message; retried once if Rasa never got it.

        `webhook` is the Rasa input channel: "rest" for reading, "voice" for a
        person who listens (responses then use their `channel: voice` variants).

        A connection failure or a 5xx answer means the message was not
        processed, so a second try is safe. A time-out is not retried: Rasa may
        still be working on the message, and a retry would answer it twice.
        """
        try:
            return await self._post_once(sender, message, metadata, webhook)
        except RasaUnavailable:
            await asyncio.sleep(0.5)
            return await self._post_once(sender, message, metadata, webhook)

    async def _post_once(
        self, sender: str, message: str, metadata: dict[str, Any] | None, webhook: str
    ) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"sender": sender, "message": message}
        if metadata:
            payload["metadata"] = metadata
        url = f"{self._base_url}/webhooks/{webhook}/webhook"
        try:
            async with self._session.post(url, json=payload, timeout=self._timeout) as response:
                if response.status >= 500:
                    raise RasaUnavailable(f"HTTP {response.status}")
                response.raise_for_status()
                body = await response.json(content_type=None)
        except asyncio.TimeoutError as error:
            raise RasaTimeout() from error
        except aiohttp.ClientConnectionError as error:
            raise RasaUnavailable(type(error).__name__) from error
        except (aiohttp.ClientResponseError, ValueError) as error:
            raise RasaUnavailable(type(error).__name__) from error
        if not isinstance(body, list):
            raise RasaUnavailable("unexpected response shape")
        return body

    async def status(self) -> dict[str, Any]:
        """Rasa's /status (the loaded model), raising if Rasa cannot be reached."""
        timeout = aiohttp.ClientTimeout(total=3)
        async with self._session.get(
            f"{self._base_url}/status", params=self._auth, timeout=timeout
        ) as response:
            response.raise_for_status()
            return await response.json()

    async def resume(self, sender: str) -> None:
        """Appends `resume` (ConversationResumed) and a listen to the tracker, so the
        assistant answers again after a lawyer had the conversation, and the next
        message is predicted as after any question it asked."""
        url = f"{self._tracker_url(sender)}/events"
        events = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
        try:
            async with self._session.post(
                url, json=events, params=self._auth, timeout=self._timeout
            ) as response:
                response.raise_for_status()
        except asyncio.TimeoutError as error:
            raise RasaTimeout() from error
        except aiohttp.ClientError as error:
            raise RasaUnavailable(type(error).__name__) from error

    async def events(self, sender: str) -> list[dict[str, Any]]:
        """The conversation's events since its last restart, from Rasa's tracker.

        The page without JavaScript shows the conversation so far from here,
        so the gateway never keeps what people said.
        """
        try:
            async with self._session.get(
                self._tracker_url(sender), params=self._auth, timeout=self._timeout
            ) as response:
                response.raise_for_status()
                tracker = await response.json(content_type=None)
        except asyncio.TimeoutError as error:
            raise RasaTimeout() from error
        except (aiohttp.ClientError, ValueError) as error:
            raise RasaUnavailable(type(error).__name__) from error
        events = tracker.get("events") if isinstance(tracker, dict) else None
        return events if isinstance(events, list) else []

    def _tracker_url(self, sender: str) -> str:
        return f"{self._base_url}/conversations/{quote(sender, safe='')}/tracker"
