"""Trains the Rasa model only when its inputs change.

The cache key is a hash of every file the model is built from (config.yml,
domain.yml, nlu_data/, the Rasa extensions it loads) and of the versions of
the packages that train and load it, so a fresh clone with the same inputs reuses the cached model and
any edit retrains. The cache lives outside the clone (FAYUAN_CACHE, default
~/.cache/fayuan-zhushou) so that CI's fresh clones share it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODEL_INPUTS = ("config.yml", "domain.yml", "nlu_data", "rasa_ext")
# Parts of rasa_ext the server runs but training never sees (stores, channels,
# the event broker, the turn timings): changing them must not retrain the model.
RUNTIME_ONLY = (
    "rasa_ext/channels.py",
    "rasa_ext/tracker_store.py",
    "rasa_ext/figures_broker.py",
    "rasa_ext/timings.py",
    "rasa_ext/action_calls.py",
    "rasa_ext/event_types.py",
    "rasa_ext/graph_calls.py",
    "rasa_ext/slot_copies.py",
    "rasa_ext/server.py",
    "rasa_ext/private_logs.py",
    "rasa_ext/lock_store.py",
)
# A model is only loadable by the versions that trained it; other locked
# dependencies (a messaging library, say) do not change it.
MODEL_PACKAGES = ("rasa", "tensorflow", "jieba")


def cache_dir() -> Path:
    """Where trained models are kept, keyed by the hash of their inputs."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fayuan-zhushou"
    return Path(os.environ.get("FAYUAN_CACHE", default)) / "models"


def rasa_env() -> dict[str, str]:
    """Environment for every Rasa process the project starts."""
    return {
        # Rasa phones home (telemetry, error reports) unless told not to:
        # personal data must not leave the machine.
        "RASA_TELEMETRY_ENABLED": "false",
        # Rasa's per-component training cache, beside the models, so that a
        # fresh clone retrains only the components whose inputs changed.
        "RASA_CACHE_DIRECTORY": str(cache_dir().parent / "rasa-components"),
        # Rasa's SQLAlchemy 1.4 nags about 2.0 on every start.
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }


def input_files(project_dir: Path = PROJECT_DIR) -> list[Path]:
    """Every file that goes into the model, in a stable order."""
    files: list[Path] = []
    for name in MODEL_INPUTS:
        path = project_dir / name
        if path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        elif path.is_file():
            files.append(path)
    runtime_only = {project_dir / name for name in RUNTIME_ONLY}
    return sorted(f for f in files if f not in runtime_only)


def inputs_hash(project_dir: Path = PROJECT_DIR) -> str:
    """A short hash over the names and contents of the model's inputs."""
    digest = hashlib.sha256()
    for package in MODEL_PACKAGES:
        digest.update(f"{package}=={version(package)}\0".encode())
    for path in input_files(project_dir):
        digest.update(path.relative_to(project_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(project_dir: Path = PROJECT_DIR) -> Path:
    """The cached model archive for the current inputs (may not exist yet)."""
    return cache_dir() / f"{inputs_hash(project_dir)}.tar.gz"


def ensure_model(project_dir: Path = PROJECT_DIR) -> tuple[Path, bool]:
    """The model for the current inputs, trained if missing; and whether it was trained."""
    target = model_path(project_dir)
    if target.is_file():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as out:
        command = [
            str(Path(sys.executable).parent / "rasa"),
            "train",
            "--config", "config.yml",
            "--domain", "domain.yml",
            "--data", "nlu_data",
            "--out", out,
            "--fixed-model-name", target.name.removesuffix(".tar.gz"),
        ]  # fmt: skip
        subprocess.run(command, cwd=project_dir, check=True, env={**os.environ, **rasa_env()})
        # Move into place only when training finished: an interrupted run
        # never leaves a half-written model under the real name.
        os.replace(Path(out) / target.name, target)
    return target, True


def main() -> int:
    started = time.monotonic()
    print(f"[setup] Rasa model inputs hash {inputs_hash()}", flush=True)
    try:
        path, trained = ensure_model()
    except subprocess.CalledProcessError:
        print(
            "[setup] ERROR: training the Rasa model failed (see the output above)", file=sys.stderr
        )
        return 1
    if trained:
        print(f"[setup] trained {path} in {time.monotonic() - started:.0f} s")
    else:
        print(f"[setup] inputs unchanged: using the cached model {path}")
    _prune_old_models(keep=path)
    return 0


def _prune_old_models(keep: Path, max_models: int = 5) -> None:
    """Keep the cache from growing without bound: the newest few models stay."""
    models = sorted(cache_dir().glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [m for m in models if m != keep][max_models - 1 :]:
        old.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
