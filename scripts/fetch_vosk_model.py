"""Fetch, verify and unpack the Chinese speech model for voice input.

    python -m scripts.fetch_vosk_model [--dest DIR] [--sha256 HEX] [--url URL]

Downloads vosk-model-small-cn-0.22 (a zip of about 42 MB, from alphacephei.com,
the Vosk authors' site), checks its SHA-256, unpacks it into DIR (default
~/.cache/fayuan-zhushou/vosk, beside the Rasa model cache; FAYUAN_CACHE moves
it) and prints the `VOSK_MODEL=…` line to put in `.env`. Running it again
reuses what is already there.

The hash: this script was written on machines that cannot reach
alphacephei.com, so `MODEL_SHA256` is still None: fill it in from the official
listing or a download you trust (never a guess). Until then the script requires
`--sha256`; without it, it downloads, prints the hash it computed, keeps the
zip and unpacks nothing, so that a second run with `--sha256` checks the
same file without downloading it again. A file whose hash differs is deleted
and refused.

Without internet: copy an unpacked model folder onto the machine and set
VOSK_MODEL to it. Exit status: 0 when the model is ready, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from scripts.model_cache import cache_dir
from voice.vosk_recogniser import MODEL_ENV_VAR, model_problem

MODEL_NAME = "vosk-model-small-cn-0.22"
MODEL_URL = f"https://alphacephei.com/vosk/models/{MODEL_NAME}.zip"
# The SHA-256 of MODEL_URL's zip: unknown until someone with internet fills it
# in from a trusted download (never a guess); None makes --sha256 required.
MODEL_SHA256: str | None = None
DOWNLOAD_TIMEOUT_SECONDS = 30


class FetchError(Exception):
    """A failure explained in one line for the person running the command."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        model_dir = fetch_model(args.dest, args.url, args.sha256 or MODEL_SHA256)
    except FetchError as error:
        print(f"fetch_vosk_model: {error}", file=sys.stderr)
        return 1
    print(f"The speech model is ready. Put this line in .env:\n{MODEL_ENV_VAR}={model_dir}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=default_dest(), help="where to unpack")
    parser.add_argument("--sha256", help="the expected SHA-256 of the zip (hex)")
    parser.add_argument("--url", default=MODEL_URL, help="a mirror of the model zip")
    return parser.parse_args(argv)


def default_dest() -> Path:
    return cache_dir().parent / "vosk"


def fetch_model(dest: Path, url: str, expected_sha256: str | None) -> Path:
    """The unpacked, checked model folder in `dest`, fetching what is missing."""
    dest = dest.expanduser().resolve()
    dest.mkdir(parents=True, exist_ok=True)
    ready = dest / MODEL_NAME
    if ready.is_dir() and model_problem(ready) is None:
        return ready
    archive = dest / f"{MODEL_NAME}.zip"
    if not archive.is_file():
        download(url, archive)
    check_hash(archive, expected_sha256)
    return unpack(archive, dest)


def download(url: str, archive: Path) -> None:
    """Save `url` to `archive`, through a partial file so an interruption leaves nothing."""
    partial = archive.with_suffix(".part")
    print(f"Downloading {url} (about 42 MB)…", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            with partial.open("wb") as file:
                shutil.copyfileobj(response, file)
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise FetchError(
            f"could not download {url} ({reason}). Without internet, copy an unpacked "
            f"model folder onto this machine and set {MODEL_ENV_VAR} to it."
        ) from error
    partial.replace(archive)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_hash(archive: Path, expected: str | None) -> None:
    """Refuse an archive whose hash is not the expected one, or when none is known."""
    actual = sha256_of(archive)
    if expected is None:
        raise FetchError(
            f"no SHA-256 is known for {archive.name}; its hash is {actual}. Compare it "
            f"with a trusted source, then run again with --sha256 {actual} "
            "(the zip is kept, so it is not downloaded again)."
        )
    if actual != expected.strip().lower():
        archive.unlink()
        raise FetchError(
            f"{archive.name} has SHA-256 {actual}, not the expected {expected}: "
            "refused and deleted (a damaged or altered download)."
        )


def unpack(archive: Path, dest: Path) -> Path:
    """Unpack into `dest`/<the zip's folder>, then check it is a usable model."""
    with tempfile.TemporaryDirectory(dir=dest, prefix=".unpacking-") as scratch:
        into = Path(scratch) / "zip"
        try:
            with zipfile.ZipFile(archive) as zipped:
                refuse_unsafe_paths(zipped, into)
                zipped.extractall(into)
        except zipfile.BadZipFile as error:
            raise FetchError(f"{archive.name} is not a zip file: {error}") from error
        unpacked = single_folder(into)
        problem = model_problem(unpacked)
        if problem is not None:
            raise FetchError(f"the archive does not hold a Vosk model: {problem}")
        target = dest / MODEL_NAME
        shutil.rmtree(target, ignore_errors=True)
        unpacked.rename(target)
    archive.unlink()
    return target


def refuse_unsafe_paths(zipped: zipfile.ZipFile, into: Path) -> None:
    """A name like ../../.bashrc must not write outside the destination."""
    for name in zipped.namelist():
        if not (into / name).resolve().is_relative_to(into.resolve()):
            raise FetchError(f"the archive holds an unsafe path: {name}")


def single_folder(unpacked: Path) -> Path:
    """The model folder: the zip's one top folder, or everything it holds."""
    entries = list(unpacked.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else unpacked


if __name__ == "__main__":
    sys.exit(main())
