"""Updates of different chats at once, each chat's in the order they came.

python-telegram-bot either processes every update one after another (one
person's slow voice note would hold up everybody) or all at once (two quick
messages of one person could reach the dialogue in the wrong order). This
processor runs chats concurrently and each chat's updates one at a time; the
lock is the gateways' shared one (bot/shared_state.py), since with a webhook
behind a load balancer a chat's next update may reach another gateway.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.shared_state import SharedState, hashed

MAX_CONCURRENT_UPDATES = 64
# The longest one update may hold its chat: a gateway that dies holding it
# leaves the chat's next update waiting no longer than this.
UPDATE_LOCK_SECONDS = 120.0


class OneAtATimePerChat(BaseUpdateProcessor):
    def __init__(
        self, state: SharedState, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._state = state

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        async with self._state.lock(f"telegram:chat:{hashed(str(chat.id))}", UPDATE_LOCK_SECONDS):
            await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
