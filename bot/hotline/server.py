"""The AudioSocket server: one `Call` per connection, many at once.

Asterisk's dialplan sends the calls the operators cannot take here, e.g.

    exten => overflow,1,Answer()
     same => n,AudioSocket(${UUID()},127.0.0.1:9092)

A connection that does not speak AudioSocket is logged (what was wrong, never
what it carried) and hung up; nothing a peer sends stops the server or the
other calls. The finished call's record goes to the store off the event loop.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.engine import Engine

from bot.hotline.busy import BusyLine
from bot.hotline.call import Call, CallRecord, CallServices, CallSettings
from store.hotline import record_call

log = logging.getLogger("bot.hotline")


# Calls at once by default: the twenty bench.hotline measures on two cores.
MAX_CALLS = 20


class HotlineServer:
    def __init__(
        self,
        services: CallServices,
        settings: CallSettings,
        engine: Engine | None = None,
        max_calls: int = MAX_CALLS,
    ) -> None:
        self.services = services
        self.settings = settings
        self.engine = engine
        self.max_calls = max_calls
        self.busy = BusyLine(services.speech, max_calls)
        self.calls: set[asyncio.Task[None]] = set()
        self._server: asyncio.AbstractServer | None = None
        services.active_calls = lambda: len(self.calls)

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host, port)
        log.info("hotline (AudioSocket) listening on %s:%d", host, port)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.calls) >= self.max_calls:
            log.warning("hotline full (%d calls): a call was told to call again", len(self.calls))
            await self.busy.turn_away(reader, writer)
            return
        task = asyncio.current_task()
        assert task is not None
        self.calls.add(task)
        try:
            record = await Call(reader, writer, self.services, self.settings).run()
            if record.ended_at is not None:
                await self._keep(record)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one broken call must never stop the others
            log.exception("hotline call failed")
            writer.close()
        finally:
            self.calls.discard(task)

    async def _keep(self, record: CallRecord) -> None:
        if self.engine is None or record.ended_at is None:
            return
        try:
            await asyncio.to_thread(
                record_call,
                self.engine,
                record.started_at,
                record.ended_at,
                record.outcome,
                record.turns,
            )
        except Exception:  # noqa: BLE001 - the store being down must not break calls
            log.exception("hotline call record not stored")

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self.calls):
            task.cancel()
        if self.calls:
            await asyncio.wait(list(self.calls), timeout=5)
        if self._server is not None:
            await self._server.wait_closed()
