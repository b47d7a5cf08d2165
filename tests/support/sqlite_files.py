"""What a SQLite database holds on disk: the file and its write-ahead log.

The store runs SQLite in WAL mode (store.create_engine), so a recent write may
still be in `<file>-wal` rather than the file: a test of what is on disk reads
both, or it could pass without looking at the data at all.
"""

from __future__ import annotations

from pathlib import Path


def bytes_on_disk(database_url_or_path: str | Path) -> bytes:
    path = Path(str(database_url_or_path).removeprefix("sqlite:///"))
    parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    return b"".join(part.read_bytes() for part in parts if part.exists())
