"""WeChat's server APIs the channel calls: customer-service messages and media.

wechatpy's `WeChatClient` does the wire work (the access token cached until
shortly before it expires, fetched again and the call retried when WeChat says
40001/42001, errcode checks). It speaks `requests`, so every call runs in a
worker thread and the event loop keeps serving callbacks. Its API base is
WECHAT_API_BASE, the token endpoint included (wechatpy hard-codes that one).
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

# Longest wait for one call to WeChat: a stuck call must not hold a worker for ever.
TIMEOUT_SECONDS = 10
# WeChat refuses voice media over 2 MB; an AMR minute is about 100 kB.
MAX_MEDIA_BYTES = 2 * 1024 * 1024


class WeChatApiError(RuntimeError):
    """WeChat refused a call, or could not be reached (the reason has no personal data)."""


class _Client(WeChatClient):
    """wechatpy's client with every URL, the token's too, under `api_base`."""

    def __init__(self, app_id: str, secret: str, api_base: str) -> None:
        super().__init__(app_id, secret, timeout=TIMEOUT_SECONDS)
        self.API_BASE_URL = api_base

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class WeChatApi:
    """The official account's outgoing calls, awaitable."""

    def __init__(self, app_id: str, secret: str, api_base: str) -> None:
        self._client = _Client(app_id, secret, api_base)

    async def send_text(self, openid: str, text: str) -> None:
        await self._call(self._client.message.send_text, openid, text)

    async def send_voice(self, openid: str, amr: bytes) -> None:
        """Uploads the AMR file as temporary media and sends it as a voice message."""
        uploaded = await self._call(
            self._client.post,
            "media/upload",
            params={"type": "voice"},
            files={"media": ("reply.amr", io.BytesIO(amr), "audio/amr")},
        )
        await self._call(self._client.message.send_voice, openid, uploaded["media_id"])

    async def download(self, media_id: str) -> bytes:
        """A voice message's audio, fetched by its MediaId."""
        response = await self._call(self._client.get, "media/get", params={"media_id": media_id})
        if isinstance(response, dict):  # JSON instead of audio: WeChat said no
            raise WeChatApiError(f"media/get answered errcode={response.get('errcode')}")
        if len(response.content) > MAX_MEDIA_BYTES:
            raise WeChatApiError(f"media/get answered {len(response.content)} bytes")
        return response.content

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except WeChatClientException as error:
            # errcode and errmsg describe the call, never the person.
            raise WeChatApiError(f"errcode={error.errcode} errmsg={error.errmsg}") from error
        except requests.RequestException as error:
            raise WeChatApiError(type(error).__name__) from error
