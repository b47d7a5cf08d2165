"""The Whisper model that setup joins from the locked packages, and how a model is found."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scripts.whisper_model import AssemblyError, assemble, mismatches
from voice.whisper_model import BASE, WhisperWeights, installed_dir, resolve_model_dir

PARTS = {1: b"first half of the weights|", 2: b"second half"}
CONFIG = b'{"lang_ids": []}'


def test_setup_joined_whisper_base_and_every_file_matches_its_pinned_hash():
    assert mismatches(installed_dir("base"), BASE) == []
    model_dir, problem = resolve_model_dir(None)
    assert problem is None and model_dir == installed_dir("base")


@pytest.fixture
def packaged_model(tmp_path, monkeypatch) -> WhisperWeights:
    """Two importable packages that carry a tiny model in parts, laid out like the real ones."""
    for number, part in PARTS.items():
        data = tmp_path / "site" / f"tiny_whisper_part{number}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        (data / f"model.bin.part{number}").write_bytes(part)
    (tmp_path / "site" / "tiny_whisper_part1" / "data" / "config.json").write_bytes(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    joined = b"".join(PARTS[number] for number in sorted(PARTS))
    return WhisperWeights(
        name="tiny",
        packages=("tiny_whisper_part2", "tiny_whisper_part1"),  # listed out of order on purpose
        files={
            "model.bin": (hashlib.sha256(joined).hexdigest(), len(joined)),
            "config.json": (hashlib.sha256(CONFIG).hexdigest(), len(CONFIG)),
        },
    )


def test_the_parts_are_joined_in_their_numbered_order_and_checked(packaged_model, tmp_path):
    model_dir = assemble(packaged_model, tmp_path / "models" / "whisper-tiny")
    assert (model_dir / "model.bin").read_bytes() == PARTS[1] + PARTS[2]
    assert (model_dir / "config.json").read_bytes() == CONFIG
    assert assemble(packaged_model, model_dir) == model_dir  # again: kept as it is


def test_weights_that_differ_from_the_pinned_hash_are_refused_and_nothing_is_left(
    packaged_model, tmp_path
):
    tampered = WhisperWeights(
        name="tiny",
        packages=packaged_model.packages,
        files={**packaged_model.files, "model.bin": ("0" * 64, len(PARTS[1] + PARTS[2]))},
    )
    models = tmp_path / "models"
    with pytest.raises(AssemblyError, match="did not match the pinned SHA-256"):
        assemble(tampered, models / "whisper-tiny")
    assert list(models.iterdir()) == []  # no half-made folder, no staging left behind


def test_a_missing_part_is_refused(packaged_model, tmp_path):
    (tmp_path / "site" / "tiny_whisper_part2" / "data" / "model.bin.part2").unlink()
    (tmp_path / "site" / "tiny_whisper_part1" / "data" / "model.bin.part3").write_bytes(b"x")
    with pytest.raises(AssemblyError, match="parts are incomplete"):
        assemble(packaged_model, tmp_path / "models" / "whisper-tiny")


def test_a_package_that_is_not_installed_says_how_setup_installs_it(tmp_path):
    absent = WhisperWeights(name="absent", packages=("no_such_whisper_package",), files={})
    with pytest.raises(AssemblyError, match="not installed.*uv sync --frozen"):
        assemble(absent, tmp_path / "whisper-absent")


def test_whisper_small_is_explained_not_attempted():
    model_dir, problem = resolve_model_dir("small")
    assert model_dir is None
    assert "not published whole" in problem and "WHISPER_MODEL" in problem


def test_a_folder_of_ones_own_is_used_when_it_holds_a_model(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"weights")
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model_dir(str(tmp_path)) == (Path(tmp_path).resolve(), None)
    model_dir, problem = resolve_model_dir(str(tmp_path / "missing"))
    assert model_dir is None and "is not a folder" in problem
