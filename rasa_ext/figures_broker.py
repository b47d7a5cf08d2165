"""A Rasa event broker that keeps the centre's figures, and nothing personal.

Configured in endpoints.yml (`event_broker: type: rasa_ext.figures_broker.
FiguresEventBroker`; the database is DATABASE_URL, as for the rest of the
store, unless the entry gives a `url`), Rasa hands it every new event of
every conversation. `publish` runs on Rasa's event loop, inside the turn, so it
only reduces the event to a name or a flag (store.figures.reduce_event), hashes
the conversation id with a key of its own purpose and queues the result; a
writer thread folds the queue into `conversation_figures` in batches. A slow or
unavailable database therefore never holds a turn up: when the queue is full,
events are dropped and counted in the log (figures are not records).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from asyncio import AbstractEventLoop
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

import store
from store import settings
from store.crypto import KeyRing
from store.figures import FIGURES_LOOKUP, FigureEvent, event_time, record, reduce_event
from store.models import ConversationFigure

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_BATCH_SECONDS = 1.0
_STOP = object()


class FiguresEventBroker(EventBroker):
    """Reduces events to figures in Rasa's turn and writes them in a thread."""

    def __init__(
        self,
        url: str | None = None,
        keys: KeyRing | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        batch_seconds: float = DEFAULT_BATCH_SECONDS,
    ) -> None:
        environ = settings.environment()
        self.keys = keys or KeyRing.from_env(environ)
        self.engine = store.create_engine(url or settings.database_url(environ))
        self.batch_seconds = float(batch_seconds)
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=int(queue_size))
        self.dropped = 0
        # A database that was never migrated (`rasa test`, a Rasa started by
        # hand): say so once and count nothing, rather than fail every batch.
        try:
            self.enabled = sa.inspect(self.engine).has_table(ConversationFigure.__tablename__)
        except sa.exc.SQLAlchemyError:
            # Down for now: count anyway; failed batches are logged and dropped.
            logger.warning("figures: the store's database does not answer yet")
            self.enabled = True
        if not self.enabled:
            logger.warning(
                "figures: the store has no %s table (run the migrations); not counting",
                ConversationFigure.__tablename__,
            )
        self.writer = threading.Thread(target=self._write_loop, name="figures-writer", daemon=True)
        self.writer.start()

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig | None,
        event_loop: AbstractEventLoop | None = None,
    ) -> FiguresEventBroker | None:
        if broker_config is None:
            return None
        return cls(url=broker_config.url or None, **broker_config.kwargs)

    def publish(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        reduced = reduce_event(event)
        sender = event.get("sender_id")
        if reduced is None or not isinstance(sender, str):
            return
        kind, value = reduced
        lookups = tuple(self.keys.lookup_hashes(sender, FIGURES_LOOKUP))
        try:
            self.queue.put_nowait(
                FigureEvent(lookups, event_time(event.get("timestamp")), kind, value)
            )
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning("figures: queue full, %d events dropped so far", self.dropped)

    def is_ready(self) -> bool:
        return self.writer.is_alive()

    async def close(self) -> None:
        """Writes what is queued (a few seconds at most), then stops the writer."""
        try:
            self.queue.put(_STOP, timeout=5)
        except queue.Full:
            pass
        self.writer.join(timeout=10)
        self.engine.dispose()

    def flush(self, timeout: float = 10.0) -> None:
        """Waits until everything published so far is written (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)

    # The writer thread ---------------------------------------------------------------

    def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            first = self.queue.get()
            batch, stopping = self._take_batch(first)
            try:
                record(self.engine, [e for e in batch if e is not _STOP])
            except Exception:  # noqa: BLE001 - figures must never stop the assistant
                # Its parameters are hashes, times and slot names: nothing personal.
                logger.exception("figures: could not write %d events; dropped", len(batch))
            finally:
                for _ in batch:
                    self.queue.task_done()

    def _take_batch(self, first: Any) -> tuple[list[Any], bool]:
        """What arrives within `batch_seconds` of the first event, in order."""
        batch = [first]
        stopping = first is _STOP
        deadline = time.monotonic() + self.batch_seconds
        while not stopping and len(batch) < 500:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                item = self.queue.get(timeout=remaining)
            except queue.Empty:
                break
            batch.append(item)
            stopping = item is _STOP
        return batch, stopping
