"""NLU quality of 法援助手 on the held-out split, against Rasa's default pipeline.

    .venv/bin/python -m bench.nlu_quality [--only-project] [--no-compare-matter]

Trains NLU-only models in temporary directories (the project's files, its model
cache and Rasa's component cache under ~/.cache are never touched) and
evaluates each on tests/nlu_holdout/:

1. "Chinese (config.yml)": the project's pipeline, config.yml as it is.
2. "Rasa default": the pipeline of Rasa's own default config (the one
   `rasa init` trains with; rasa/engine/recipes/config_files/default_config.yml
   in the installed Rasa), with the language it ships with (`en`: its
   WhitespaceTokenizer refuses `zh`, and sees each unspaced Chinese sentence
   as one word) and the project's MatterTypeExtractor added so that the
   matter type can be measured at all.
3. "DIET intents as matter types" (--compare-matter, on by default): the other
   way of recognising the matter type. Every problems/ example's intent becomes
   `matter_<type>`, the model is config.yml without the MatterTypeExtractor,
   and a held-out example counts as right when the predicted intent is
   `matter_<its type>`.

Metrics: intent macro-F1 over the held-out intents (nlu_fallback is always
wrong), matter_type accuracy over the held-out examples with matter_type
metadata (a missing entity is wrong), parse latency p50/p95 of the held-out
parses (after one unmeasured warm-up parse), and the wall-clock time of
`rasa train nlu` (each training gets an empty component cache, so no run
profits from an earlier one). The machine is shared: compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from scripts.model_cache import PROJECT_DIR, rasa_env

HOLDOUT_DIR = PROJECT_DIR / "tests" / "nlu_holdout"
NLU_DIR = PROJECT_DIR / "nlu_data"
PROJECT_CONFIG = PROJECT_DIR / "config.yml"
MATTER_EXTRACTOR = "rasa_ext.matter_type.MatterTypeExtractor"
FALLBACK_INTENT = "nlu_fallback"
MATTER_INTENT_PREFIX = "matter_"
NO_ENTITY = "(none)"
GOAL_F1 = 0.92
GOAL_MATTER = 0.90
MAX_PAIRS = 8
WARM_UP_TEXT = "你好"


@dataclass
class Example:
    text: str
    intent: str
    matter_type: str | None


@dataclass
class Training:
    name: str
    model: Path | None
    seconds: float
    error: str | None = None


@dataclass
class Evaluation:
    intent_f1: float | None
    matter_accuracy: float | None
    p50_ms: float | None
    p95_ms: float | None
    intent_pairs: list[tuple[str, str, int]] = field(default_factory=list)
    matter_pairs: list[tuple[str, str, int]] = field(default_factory=list)


def _quiet_rasa() -> None:
    """Rasa in this process logs warnings only (its default prints every parse)."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import jieba
    import rasa.core.agent  # noqa: F401  (imports TensorFlow, which resets warning filters)
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    jieba.setLogLevel(logging.WARNING)
    # After Rasa's own warning filters, which would let its dependencies'
    # deprecation warnings through again.
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def _log(text: str) -> None:
    print(f"[nlu_quality] {text}", file=sys.stderr, flush=True)


def _env(cache: Path) -> dict[str, str]:
    env = {**os.environ, **rasa_env()}
    # Rasa's component cache goes to the temporary directory: the project's
    # cache stays untouched and no training is sped up by an earlier one.
    env["RASA_CACHE_DIRECTORY"] = str(cache)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def train(name: str, stem: str, config: Path, nlu: Path, work: Path) -> Training:
    """Runs `rasa train nlu` into `work`; the model, or why training failed."""
    out = work / "models"
    log_file = work / f"{stem}.log"
    command = [
        str(Path(sys.executable).parent / "rasa"),
        "train", "nlu",
        "--config", str(config),
        "--nlu", str(nlu),
        "--out", str(out),
        "--fixed-model-name", stem,
    ]  # fmt: skip
    _log(f"training {name} (log: {log_file})")
    started = time.monotonic()
    with log_file.open("w") as log:
        result = subprocess.run(
            command,
            cwd=PROJECT_DIR,
            env=_env(work / f"cache-{stem}"),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.monotonic() - started
    model = out / f"{stem}.tar.gz"
    if result.returncode == 0 and model.is_file():
        _log(f"trained {name} in {seconds:.0f} s")
        return Training(name, model, seconds)
    error = _failure_reason(log_file.read_text(errors="replace"), result.returncode)
    _log(f"training {name} failed: {error}")
    return Training(name, None, seconds, error)


def _failure_reason(log: str, returncode: int) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Exception" in line or "Error" in line:
            return line
    return lines[-1] if lines else f"exit status {returncode}"


def _load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _write_yaml(path: Path, data: dict[str, Any]) -> None:
    path.write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8"
    )


def _matter_entry(project: dict[str, Any]) -> dict[str, Any]:
    for entry in project["pipeline"]:
        if entry["name"] == MATTER_EXTRACTOR:
            return copy.deepcopy(entry)
    raise SystemExit(f"config.yml has no {MATTER_EXTRACTOR}")


def rasa_default_pipeline() -> list[dict[str, Any]]:
    """The NLU pipeline of the installed Rasa's default config (what `rasa init` uses)."""
    spec = find_spec("rasa")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "engine" / "recipes" / "config_files" / "default_config.yml"
    return _load_yaml(path)["pipeline"]


def write_default_config(path: Path) -> None:
    """Rasa's default pipeline for Chinese, plus the project's matter-type extractor."""
    pipeline = rasa_default_pipeline()
    after_diet = next(i for i, e in enumerate(pipeline) if e["name"] == "DIETClassifier") + 1
    pipeline.insert(after_diet, _matter_entry(_load_yaml(PROJECT_CONFIG)))
    _write_yaml(
        path,
        {
            "recipe": "default.v1",
            "assistant_id": "nlu-quality-default",
            # As `rasa init` writes it: WhitespaceTokenizer refuses "zh".
            "language": "en",
            "pipeline": pipeline,
        },
    )


def write_intent_baseline(config_path: Path, nlu_copy: Path) -> None:
    """config.yml without the matter-type extractor; problems/ examples relabelled by matter."""
    config = _load_yaml(PROJECT_CONFIG)
    config["pipeline"] = [e for e in config["pipeline"] if e["name"] != MATTER_EXTRACTOR]
    config.pop("policies", None)
    _write_yaml(config_path, config)

    shutil.copytree(NLU_DIR, nlu_copy)
    for path in sorted((nlu_copy / "problems").glob("*.yml")):
        data = _load_yaml(path)
        blocks: dict[str, list[Any]] = {}
        other: list[dict[str, Any]] = []
        for block in data.get("nlu", []):
            examples = block.get("examples")
            if "intent" not in block or not isinstance(examples, list):
                other.append(block)
                continue
            for example in examples:
                matter = ((example.get("metadata") or {}) if isinstance(example, dict) else {}).get(
                    "matter_type"
                )
                intent = f"{MATTER_INTENT_PREFIX}{matter}" if matter else block["intent"]
                blocks.setdefault(intent, []).append(example)
        data["nlu"] = other + [{"intent": i, "examples": ex} for i, ex in blocks.items()]
        _write_yaml(path, data)


def load_holdout() -> list[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(HOLDOUT_DIR))
    examples = []
    for message in data.intent_examples:
        metadata = (message.get("metadata") or {}).get("example") or {}
        matter = metadata.get("matter_type")
        examples.append(
            Example(message.get("text"), message.get("intent"), str(matter) if matter else None)
        )
    return examples


async def parse_all(model: Path, examples: list[Example]) -> tuple[list[dict], list[float]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    await agent.parse_message(WARM_UP_TEXT)
    results, latencies = [], []
    for example in examples:
        started = time.perf_counter()
        results.append(await agent.parse_message(example.text))
        latencies.append((time.perf_counter() - started) * 1000)
    return results, latencies


def _matter_of(result: dict) -> str:
    for entity in result.get("entities") or []:
        if entity.get("entity") == "matter_type":
            return str(entity.get("value"))
    return NO_ENTITY


def _intent_of(result: dict) -> str:
    return str((result.get("intent") or {}).get("name") or NO_ENTITY)


def _pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str, int]]:
    counts = Counter((t, p) for t, p in pairs if t != p)
    return [(t, p, n) for (t, p), n in counts.most_common(MAX_PAIRS)]


def evaluate(model: Path, examples: list[Example], matter_from_intent: bool = False) -> Evaluation:
    """Intent macro-F1, matter_type accuracy, confusions and latency of one model."""
    from sklearn.metrics import f1_score

    results, latencies = asyncio.run(parse_all(model, examples))
    predicted = [_intent_of(r) for r in results]
    truth = [e.intent for e in examples]
    matter_pairs = []
    for example, result, intent in zip(examples, results, predicted, strict=True):
        if example.matter_type is None:
            continue
        if matter_from_intent:
            guess = intent.removeprefix(MATTER_INTENT_PREFIX)
            guess = guess if intent.startswith(MATTER_INTENT_PREFIX) else f"intent {intent}"
        else:
            guess = _matter_of(result)
        matter_pairs.append((example.matter_type, guess))
    accuracy = sum(t == p for t, p in matter_pairs) / len(matter_pairs) if matter_pairs else None
    f1 = None
    if not matter_from_intent:
        labels = sorted(set(truth))
        f1 = float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))
    return Evaluation(
        intent_f1=f1,
        matter_accuracy=accuracy,
        p50_ms=float(np.percentile(latencies, 50)),
        p95_ms=float(np.percentile(latencies, 95)),
        intent_pairs=[] if matter_from_intent else _pairs(list(zip(truth, predicted, strict=True))),
        matter_pairs=_pairs(matter_pairs),
    )


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _goal(value: float | None, goal: float) -> str:
    if value is None:
        return "not measured"
    return "met" if value >= goal else "not met"


def _print_pairs(title: str, pairs: list[tuple[str, str, int]]) -> None:
    print(f"  {title}:")
    for true, predicted, count in pairs or [("-", "-", 0)]:
        print(f"    {true} → {predicted}  {count}")


def print_report(
    rows: list[tuple[Training, Evaluation | None]], baseline: Evaluation | None
) -> None:
    header = ("pipeline", "intent macro-F1", "matter_type acc", "parse p50 ms", "p95 ms", "train s")
    table: list[tuple[str, ...]] = [header]
    notes = []
    for training, result in rows:
        if result is None:
            table.append((training.name, "failed", "failed", "-", "-", f"{training.seconds:.0f}"))
            notes.append(f"  {training.name}: training failed: {training.error}")
            continue
        table.append(
            (
                training.name,
                _num(result.intent_f1),
                _num(result.matter_accuracy),
                _num(result.p50_ms, 1),
                _num(result.p95_ms, 1),
                f"{training.seconds:.0f}",
            )
        )
    project = rows[0][1]
    if len(rows) > 1:
        default = rows[1][1]

        def ratio(a: float | None, b: float | None) -> str:
            return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}"

        table.append(
            (
                "ratio Chinese/default",
                ratio(project and project.intent_f1, default and default.intent_f1),
                ratio(project and project.matter_accuracy, default and default.matter_accuracy),
                "",
                "",
                "",
            )
        )
    if baseline is not None:
        table.append(
            ("DIET intents as matter types", "n/a", _num(baseline.matter_accuracy), "", "", "")
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    for note in notes:
        print(note)
    f1 = project.intent_f1 if project else None
    accuracy = project.matter_accuracy if project else None
    print(
        f"goals: intent macro-F1 ≥ {GOAL_F1:.2f}, matter_type accuracy ≥ {GOAL_MATTER:.2f} "
        f"on the held-out split — intent F1 {_goal(f1, GOAL_F1)}, "
        f"matter_type {_goal(accuracy, GOAL_MATTER)}"
    )
    if project is not None:
        print("confusions of the Chinese pipeline (true → predicted, count):")
        _print_pairs("intent", project.intent_pairs)
        _print_pairs("matter_type", project.matter_pairs)
    if baseline is not None:
        print("confusions of DIET intents as matter types (true → predicted, count):")
        _print_pairs("matter_type", baseline.matter_pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only-project", action="store_true", help="skip Rasa's default pipeline (faster)"
    )
    parser.add_argument(
        "--compare-matter",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure DIET intents as matter types (default on)",
    )
    args = parser.parse_args(argv)
    # Rasa also runs in this process (loading and parsing): no phoning home.
    os.environ.update({k: v for k, v in rasa_env().items() if k != "RASA_CACHE_DIRECTORY"})
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _quiet_rasa()

    with tempfile.TemporaryDirectory(prefix="nlu_quality-") as tmp:
        work = Path(tmp)
        examples = load_holdout()
        _log(
            f"held-out split: {len(examples)} examples, "
            f"{sum(e.matter_type is not None for e in examples)} with matter_type"
        )
        trainings = [train("Chinese (config.yml)", "chinese", PROJECT_CONFIG, NLU_DIR, work)]
        if not args.only_project:
            default_config = work / "default_config.yml"
            write_default_config(default_config)
            trainings.append(
                train("Rasa default (rasa init)", "default", default_config, NLU_DIR, work)
            )
        baseline_training = None
        if args.compare_matter:
            baseline_config = work / "intent_baseline.yml"
            write_intent_baseline(baseline_config, work / "nlu_data_matter_intents")
            baseline_training = train(
                "DIET intents as matter types",
                "matter_intents",
                baseline_config,
                work / "nlu_data_matter_intents",
                work,
            )

        rows: list[tuple[Training, Evaluation | None]] = []
        for training in trainings:
            result = None
            if training.model is not None:
                _log(f"evaluating {training.name}")
                result = evaluate(training.model, examples)
            rows.append((training, result))
        baseline = None
        if baseline_training is not None:
            if baseline_training.model is None:
                print(f"DIET intents as matter types: training failed: {baseline_training.error}")
            else:
                _log("evaluating DIET intents as matter types")
                baseline = evaluate(baseline_training.model, examples, matter_from_intent=True)
        print_report(rows, baseline)
    return 0 if rows[0][1] is not None else 1


if __name__ == "__main__":
    sys.exit(main())
