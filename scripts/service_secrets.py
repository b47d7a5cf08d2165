"""The secrets between the assistant's own processes, made once for one machine.

The Rasa server's HTTP API (trackers, /model/parse, /status) answers only with
RASA_TOKEN; the action server runs actions only for a caller with
ACTIONS_SECRET. In production both come from the environment. Unset, a random
one is made the first time and kept in the var folder (like the store's key
file), so `./dev run` works with no configuration and every start agrees.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

# Variable name -> the file that keeps its local default.
LOCAL_FILES = {"RASA_TOKEN": "rasa.token", "ACTIONS_SECRET": "actions.secret"}


def service_secret(name: str, environ: Mapping[str, str], var_dir: Path) -> str:
    """The variable's value, else the local file's, made now if there is none."""
    if environ.get(name):
        return environ[name]
    path = var_dir / LOCAL_FILES[name]
    if not path.is_file():
        var_dir.mkdir(parents=True, exist_ok=True)
        # Created readable by this user only, before a byte is written.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="ascii").strip()


def service_secrets(environ: Mapping[str, str], var_dir: Path) -> dict[str, str]:
    return {name: service_secret(name, environ, var_dir) for name in LOCAL_FILES}
