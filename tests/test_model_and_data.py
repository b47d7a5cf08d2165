"""The training data is valid and the model cache retrains exactly when needed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from scripts import model_cache
from scripts.model_cache import MODEL_INPUTS, PROJECT_DIR, rasa_env

RASA = str(Path(sys.executable).parent / "rasa")


def responses_uttered_by_actions() -> set[str]:
    """Responses that custom actions send: stories never name them."""
    source = "\n".join(p.read_text() for p in (PROJECT_DIR / "actions").glob("*.py"))
    named = set(re.findall(r'"(utter_\w+)"', source))
    domain = (PROJECT_DIR / "domain.yml").read_text()
    # action_take_offer reads on with "<response>_more".
    read_on = set(re.findall(r"^  (utter_\w+_more):", domain, re.MULTILINE))
    # A form asks for each of its slots with utter_ask_<slot>, and the eligibility
    # form answers "为什么问这个" with utter_why_<slot>.
    forms = yaml.safe_load(domain).get("forms") or {}
    form_slots = {slot for form in forms.values() for slot in form.get("required_slots", [])}
    questions = {f"utter_{kind}_{slot}" for slot in form_slots for kind in ("ask", "why")}
    # Rasa's own action_default_fallback (the core fallback) says utter_default.
    return named | read_on | questions | {"utter_default"}


def test_rasa_data_validate_is_clean():
    result = subprocess.run(
        [RASA, "data", "validate", "--data", "nlu_data"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, **rasa_env()},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    warnings = re.findall(r"UserWarning: (.*)", output)
    unused = {
        m.group(1)
        for w in warnings
        if (m := re.match(r"The utterance '(\w+)' is not used in any story or rule", w))
    }
    others = [w for w in warnings if "is not used in any story or rule" not in w]
    assert not others, others
    assert unused <= responses_uttered_by_actions(), unused - responses_uttered_by_actions()


@pytest.mark.stack  # the trained model
def test_the_model_for_the_current_inputs_is_trained_and_cached():
    path = model_cache.model_path()
    assert path.is_file(), "setup trains the model before the tests run"
    with tarfile.open(path) as archive:
        names = archive.getnames()
    assert any("DIETClassifier" in name for name in names)
    assert any("TEDPolicy" in name for name in names)
    # A second ensure_model finds it and does not train again.
    assert model_cache.ensure_model() == (path, False)


def copy_inputs(target: Path) -> Path:
    for name in MODEL_INPUTS:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target / name)
    return target


def test_the_cache_key_changes_with_each_input_and_only_with_them(tmp_path):
    project = copy_inputs(tmp_path)
    original = model_cache.inputs_hash(project)
    assert original == model_cache.inputs_hash(PROJECT_DIR)

    (project / "README.md").write_text("not a model input")
    assert model_cache.inputs_hash(project) == original

    for edit in ("config.yml", "domain.yml", "nlu_data/nlu/greet.yml", "rasa_ext/danger.py"):
        path = project / edit
        saved = path.read_bytes()
        path.write_bytes(saved + b"\n# edited\n")
        assert model_cache.inputs_hash(project) != original, edit
        path.write_bytes(saved)
    assert model_cache.inputs_hash(project) == original

    # What the server runs but training never sees does not retrain the model.
    for runtime_only in ("rasa_ext/tracker_store.py", "rasa_ext/channels.py", "rasa_ext/server.py"):
        path = project / runtime_only
        path.write_bytes(path.read_bytes() + b"\n# edited\n")
        assert model_cache.inputs_hash(project) == original, runtime_only

    (project / "nlu_data" / "nlu" / "new_intent.yml").write_text("version: '3.1'\n")
    assert model_cache.inputs_hash(project) != original


def nlu_examples(folder: Path) -> set[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    return {message.get("text") for message in load_data(str(folder)).intent_examples}


@pytest.mark.parametrize("split", ["nlu_holdout", "nlu_holdout_real"])
def test_the_holdout_splits_are_never_trained_on(split):
    trained = nlu_examples(PROJECT_DIR / "nlu_data" / "nlu") | nlu_examples(
        PROJECT_DIR / "nlu_data" / "problems"
    )
    assert not trained & nlu_examples(PROJECT_DIR / "tests" / split)


def test_the_real_style_split_is_large_and_covers_every_matter_type():
    from rasa.shared.nlu.training_data.loading import load_data

    examples = load_data(str(PROJECT_DIR / "tests" / "nlu_holdout_real")).intent_examples
    matters = [
        ((m.get("metadata") or {}).get("example") or {}).get("matter_type") for m in examples
    ]
    spec = yaml.safe_load((PROJECT_DIR / "policy" / "matter_types.yml").read_text())
    assert len(examples) >= 300
    assert set(matters) == set(spec) - {"other"}
