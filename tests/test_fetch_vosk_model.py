"""`python -m scripts.fetch_vosk_model` against a local web server standing in for alphacephei.com."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.fetch_vosk_model import MODEL_NAME
from voice.vosk_recogniser import model_problem

PROJECT_DIR = Path(__file__).resolve().parent.parent


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served_zip(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A small zip laid out like a Vosk model, served over HTTP: (url, its sha256)."""
    site = tmp_path / "site"
    site.mkdir()
    archive = site / f"{MODEL_NAME}.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"{MODEL_NAME}/am/final.mdl", b"acoustic model")
        zipped.writestr(f"{MODEL_NAME}/conf/mfcc.conf", "--use-energy=false\n")
        zipped.writestr(f"{MODEL_NAME}/README", "Chinese small model\n")
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{archive.name}"
        yield url, hashlib.sha256(archive.read_bytes()).hexdigest()
    finally:
        server.shutdown()
        server.server_close()


def fetch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.fetch_vosk_model", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_without_network_it_says_so_and_fails(tmp_path):
    result = fetch("--dest", str(tmp_path), "--url", f"http://127.0.0.1:{closed_port()}/m.zip")
    assert result.returncode == 1
    assert "could not download" in result.stderr
    assert "set VOSK_MODEL" in result.stderr
    assert "VOSK_MODEL=" not in result.stdout
    assert list(tmp_path.iterdir()) == [], "no partial download left behind"


def test_a_download_with_the_wrong_hash_is_refused_and_deleted(tmp_path, served_zip):
    url, _ = served_zip
    dest = tmp_path / "dest"
    result = fetch("--dest", str(dest), "--url", url, "--sha256", "0" * 64)
    assert result.returncode == 1
    assert "refused" in result.stderr
    assert list(dest.iterdir()) == []


def test_without_a_known_hash_it_prints_the_hash_then_unpacks_once_given_it(tmp_path, served_zip):
    url, sha256 = served_zip
    dest = tmp_path / "dest"
    first = fetch("--dest", str(dest), "--url", url)
    assert first.returncode == 1
    assert sha256 in first.stderr and "--sha256" in first.stderr
    assert not (dest / MODEL_NAME).exists()

    # The kept zip is checked again; no download needed (the URL now fails).
    gone = f"http://127.0.0.1:{closed_port()}/gone.zip"
    second = fetch("--dest", str(dest), "--url", gone, "--sha256", sha256)
    assert second.returncode == 0, second.stderr
    model_dir = dest / MODEL_NAME
    assert f"VOSK_MODEL={model_dir}" in second.stdout.splitlines()
    assert model_problem(model_dir) is None
    assert [p.name for p in dest.iterdir()] == [MODEL_NAME], "zip and scratch folders removed"
