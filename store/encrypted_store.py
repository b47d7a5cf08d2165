"""What every store of personal data shares: an engine, the key ring, sessions,
the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

import store
from store import settings
from store.audit import audit_entries
from store.crypto import KeyRing
from store.models import AuditEntry
from store.rotation import RotationReport, rotate_keys

StoreT = TypeVar("StoreT", bound="EncryptedStore")


class EncryptedStore:
    """Tables whose personal fields are encrypted with the key ring (store/crypto.py).

    Synchronous: the action server and the gateway call it in a thread.
    """

    def __init__(self, engine: Engine, keys: KeyRing) -> None:
        self.engine = engine
        self.keys = keys
        self._sessions = sessionmaker(engine, future=True, expire_on_commit=False)

    @classmethod
    def from_env(cls: type[StoreT], environ: Mapping[str, str] | None = None) -> StoreT:
        """DATABASE_URL, and PII_KEY or the key file (PII_KEY_FILE); `.env` counts
        when `environ` is not given. Raises crypto.KeyMissingError without a key."""
        env = settings.environment(environ)
        keys = KeyRing.from_env(env)
        return cls(store.create_engine(settings.database_url(env)), keys)

    @classmethod
    def shared(cls: type[StoreT]) -> StoreT:
        """One store of this kind per process, opened from the environment on first
        use: the action server's and the gateway's, which serve every conversation."""
        return _shared(cls)  # type: ignore[return-value]

    def audit_log(self, reference: str | None = None) -> list[AuditEntry]:
        """Audit entries, oldest first; of one record when `reference` is given."""
        with self._sessions() as session:
            return audit_entries(session, reference)

    def rotate_keys(
        self, actor: str = "key-rotation", tracker_engine: Engine | None = None
    ) -> RotationReport:
        """Every encrypted column of every table (not only this store's), and the
        tracker store's conversations when given, under the current key
        (store/rotation.py); safe to run again."""
        return rotate_keys(self.engine, self.keys, actor, tracker_engine=tracker_engine)

    def close(self) -> None:
        self.engine.dispose()


@cache
def _shared(kind: type[EncryptedStore]) -> EncryptedStore:
    # Not cached when it raises (no key yet): the next use tries again.
    return kind.from_env()
