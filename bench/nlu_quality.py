"""NLU quality of 法援助手 on the held-out splits, against Rasa's default pipeline.

    .venv/bin/python -m bench.nlu_quality [--only-project] [--no-compare-matter] [--no-features]

Trains NLU-only models in temporary directories (the project's files, its model
cache and Rasa's component cache under ~/.cache are never touched) and
evaluates each on two held-out splits, never trained on:

- colloquial (tests/nlu_holdout/): every intent, problems told as people tell
  them to a neighbour;
- real-style (tests/nlu_holdout_real/): legal problems asked the way people
  ask on consultation sites (formal and procedural questions, long stories,
  the other side's questions, typos; issue 21).

Pipelines:

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

Metrics: intent macro-F1 over each split's intents (nlu_fallback is always
wrong); for the matter type, over the examples with matter_type metadata:

- right: the matter decided alone and right (a missing entity, `other` or a
  wrong matter count as wrong);
- decided: how often a matter is decided at all, and precision: how often a
  decision is right;
- right or offered: decided and right, or not decided (`other`) with the right
  matter among the choices the dialogue offers;

parse latency p50/p95 of the held-out parses (after one unmeasured warm-up
parse), and the wall-clock time of `rasa train nlu` (each training gets an
empty component cache, so no run profits from an earlier one). The figures
measured before issue 21 are printed beside the new ones. With --features (on
by default) the matter-type model's features are compared on their own,
without Rasa: character n-grams, word n-grams from the legal dictionary, the
legal-term lexicon. The machine is shared: compare within one run.
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

HOLDOUT_DIRS = {
    "colloquial": PROJECT_DIR / "tests" / "nlu_holdout",
    "real-style": PROJECT_DIR / "tests" / "nlu_holdout_real",
}
NLU_DIR = PROJECT_DIR / "nlu_data"
PROJECT_CONFIG = PROJECT_DIR / "config.yml"
MATTER_EXTRACTOR = "rasa_ext.matter_type.MatterTypeExtractor"
FALLBACK_INTENT = "nlu_fallback"
MATTER_INTENT_PREFIX = "matter_"
NO_ENTITY = "(none)"
UNDECIDED = "other"
GOAL_F1 = 0.92
GOAL_MATTER = 0.90
# On the real-style split (issue 21).
GOAL_REAL_OFFERED = 0.90
GOAL_REAL_RIGHT = 0.75
GOAL_REAL_PRECISION = 0.90
GOAL_P95_MS = 30.0
# The project's pipeline measured by this bench at 74fd857, before issue 21
# (its training data, its MatterTypeExtractor: a logistic regression over
# character n-grams with a 0.25 threshold), on the same held-out splits, on
# this shared machine: the figures printed beside the new ones.
BEFORE = {
    "colloquial": {
        "intent_f1": 0.916,
        "right": 0.911,
        "decided": 0.974,
        "precision": 0.936,
        "offered": 0.911,
        "p95_ms": 37.2,
    },
    "real-style": {
        "intent_f1": 0.910,
        "right": 0.796,
        "decided": 0.913,
        "precision": 0.871,
        "offered": 0.796,
        "p95_ms": 55.9,
    },
}
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
    # Share of matter examples with a matter decided; of those, share right.
    decided: float | None = None
    precision: float | None = None
    # Decided and right, or offered among the choices of the question back.
    offered: float | None = None


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


def load_holdout(folder: Path) -> list[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(folder))
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


def _matter_entity(result: dict) -> dict[str, Any] | None:
    for entity in result.get("entities") or []:
        if entity.get("entity") == "matter_type":
            return entity
    return None


def _matter_of(result: dict) -> str:
    entity = _matter_entity(result)
    return NO_ENTITY if entity is None else str(entity.get("value"))


def _offered(result: dict) -> list[str]:
    """The matters a question back offers for this parse (none when decided)."""
    entity = _matter_entity(result)
    if entity is None or entity.get("value") != UNDECIDED:
        return []
    return [str(c) for c in entity.get("choices") or []]


def _intent_of(result: dict) -> str:
    return str((result.get("intent") or {}).get("name") or NO_ENTITY)


def _pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str, int]]:
    counts = Counter((t, p) for t, p in pairs if t != p)
    return [(t, p, n) for (t, p), n in counts.most_common(MAX_PAIRS)]


def evaluate(model: Path, examples: list[Example], matter_from_intent: bool = False) -> Evaluation:
    """Intent macro-F1, matter-type figures, confusions and latency of one model."""
    from sklearn.metrics import f1_score

    results, latencies = asyncio.run(parse_all(model, examples))
    predicted = [_intent_of(r) for r in results]
    truth = [e.intent for e in examples]
    matter_pairs, offered = [], []
    for example, result, intent in zip(examples, results, predicted, strict=True):
        if example.matter_type is None:
            continue
        if matter_from_intent:
            guess = intent.removeprefix(MATTER_INTENT_PREFIX)
            guess = guess if intent.startswith(MATTER_INTENT_PREFIX) else f"intent {intent}"
        else:
            guess = _matter_of(result)
        matter_pairs.append((example.matter_type, guess))
        offered.append(guess == example.matter_type or example.matter_type in _offered(result))
    f1 = None
    if not matter_from_intent:
        labels = sorted(set(truth))
        f1 = float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))
    return Evaluation(
        intent_f1=f1,
        p50_ms=float(np.percentile(latencies, 50)),
        p95_ms=float(np.percentile(latencies, 95)),
        intent_pairs=[] if matter_from_intent else _pairs(list(zip(truth, predicted, strict=True))),
        matter_pairs=_pairs(matter_pairs),
        **matter_figures(matter_pairs, offered),
    )


def matter_figures(pairs: list[tuple[str, str]], offered: list[bool]) -> dict[str, float | None]:
    """Right, decided, precision and right-or-offered over (truth, guess) pairs."""
    if not pairs:
        return {"matter_accuracy": None, "decided": None, "precision": None, "offered": None}
    decided = [(t, g) for t, g in pairs if g not in (NO_ENTITY, UNDECIDED)]
    right = sum(t == g for t, g in decided)
    return {
        "matter_accuracy": right / len(pairs),
        "decided": len(decided) / len(pairs),
        "precision": right / len(decided) if decided else None,
        "offered": sum(offered) / len(offered),
    }


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _print_pairs(title: str, pairs: list[tuple[str, str, int]]) -> None:
    print(f"  {title}:")
    for true, predicted, count in pairs or [("-", "-", 0)]:
        print(f"    {true} → {predicted}  {count}")


Rows = list[tuple[Training, dict[str, Evaluation] | None]]


def _table(table: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def print_split(split: str, rows: Rows, baseline: Evaluation | None) -> None:
    """One split's table: every pipeline's intent and matter-type figures."""
    print(f"\n{split} split ({HOLDOUT_DIRS[split].relative_to(PROJECT_DIR)}):")
    header = (
        "pipeline", "intent macro-F1", "matter right", "decided", "precision",
        "right or offered", "p50 ms", "p95 ms", "train s",
    )  # fmt: skip
    table: list[tuple[str, ...]] = [header]
    for training, results in rows:
        result = results and results[split]
        if result is None:
            table.append((training.name, "failed", *["-"] * 6, f"{training.seconds:.0f}"))
            continue
        table.append(
            (
                training.name,
                _num(result.intent_f1),
                _num(result.matter_accuracy),
                _num(result.decided),
                _num(result.precision),
                _num(result.offered),
                _num(result.p50_ms, 1),
                _num(result.p95_ms, 1),
                f"{training.seconds:.0f}",
            )
        )
    if baseline is not None:
        table.append(
            ("DIET intents as matter types", "n/a", _num(baseline.matter_accuracy), *[""] * 6)
        )
    _table(table)
    for training, results in rows:
        if results is None:
            print(f"  {training.name}: training failed: {training.error}")


def goals(project: dict[str, Evaluation]) -> list[tuple[str, str, float | None, float, bool]]:
    """(name, split, value now, goal, higher is better) for every goal of the bench."""
    colloquial, real = project["colloquial"], project["real-style"]
    p95 = max(e.p95_ms or 0.0 for e in project.values())
    return [
        ("intent macro-F1", "colloquial", colloquial.intent_f1, GOAL_F1, True),
        ("matter right", "colloquial", colloquial.matter_accuracy, GOAL_MATTER, True),
        ("matter right or offered", "real-style", real.offered, GOAL_REAL_OFFERED, True),
        ("matter decided and right", "real-style", real.matter_accuracy, GOAL_REAL_RIGHT, True),
        ("precision when deciding", "real-style", real.precision, GOAL_REAL_PRECISION, True),
        ("matter decided (how often)", "real-style", real.decided, 0.0, True),
        ("matter decided (how often)", "colloquial", colloquial.decided, 0.0, True),
        ("parse p95 ms", "both", p95, GOAL_P95_MS, False),
    ]


_BEFORE_KEYS = {
    "intent macro-F1": "intent_f1",
    "matter right": "right",
    "matter decided and right": "right",
    "matter right or offered": "offered",
    "precision when deciding": "precision",
    "matter decided (how often)": "decided",
    "parse p95 ms": "p95_ms",
}


def _before(name: str, split: str) -> float | None:
    if split == "both":
        values = [v["p95_ms"] for v in BEFORE.values() if v["p95_ms"] is not None]
        return max(values) if values else None
    return BEFORE[split][_BEFORE_KEYS[name]]


def print_goals(project: dict[str, Evaluation]) -> None:
    """The goals of issue 21, each with the figure before it and now."""
    print("\ngoals (Chinese config.yml; before = 74fd857, before issue 21):")
    table: list[tuple[str, ...]] = [("measure", "split", "before", "now", "goal", "")]
    for name, split, value, goal, higher in goals(project):
        if goal == 0.0:
            verdict, goal_text = "", "-"
        else:
            met = value is not None and (value >= goal if higher else value < goal)
            verdict = "met" if met else "not met"
            goal_text = f"{'≥' if higher else '<'} {_num(goal, 2 if higher else 0)}"
        digits = 1 if name.endswith("ms") else 3
        table.append(
            (
                name,
                split,
                _num(_before(name, split), digits),
                _num(value, digits),
                goal_text,
                verdict,
            )
        )
    _table(table)


def print_confusions(
    project: dict[str, Evaluation], baseline: dict[str, Evaluation] | None
) -> None:
    for split, result in project.items():
        print(f"confusions of the Chinese pipeline on the {split} split (true → predicted, count):")
        _print_pairs("intent", result.intent_pairs)
        _print_pairs("matter_type", result.matter_pairs)
    for split, result in (baseline or {}).items():
        print(f"confusions of DIET intents as matter types on the {split} split:")
        _print_pairs("matter_type", result.matter_pairs)


def print_report(rows: Rows, baseline: dict[str, Evaluation] | None) -> None:
    for split in HOLDOUT_DIRS:
        print_split(split, rows, baseline and baseline[split])
    project = rows[0][1]
    if project is not None:
        print_goals(project)
        print_confusions(project, baseline)


# The matter-type model's features, compared without Rasa ------------------------

FEATURE_VARIANTS = {
    "character n-grams (config.yml)": {},
    "+ word n-grams (Jieba, legal dictionary)": {"use_words": True},
    "+ legal-term lexicon": {"use_lexicon": True},
    "+ both": {"use_words": True, "use_lexicon": True},
}
PROBLEM_INTENTS = ("describe_problem", "criminal_defense", "protection_order")


def compare_features(splits: dict[str, list[Example]]) -> None:
    """Trains the matter-type model with each set of features on the training data
    and prints its figures on each split, as for a message whose intent is a problem."""
    from rasa.shared.nlu.training_data.loading import load_data

    from rasa_ext.matter_model import ASK, DECIDED, PARTS, MatterModel
    from rasa_ext.matter_type import LEXICON, training_label

    data = load_data(str(NLU_DIR / "nlu")).merge(load_data(str(NLU_DIR / "problems")))
    examples = [m for m in data.intent_examples if m.get("text")]
    config = _matter_entry(_load_yaml(PROJECT_CONFIG))
    labels = [training_label(m, config.get("intent_matter_types") or {}) for m in examples]
    problems = [m.get("intent") in PROBLEM_INTENTS for m in examples]
    lexicon = _load_yaml(LEXICON)
    dictionary = [
        line.split()[0]
        for line in (NLU_DIR / "jieba" / "legal_terms.txt").read_text().splitlines()
        if line.strip()
    ]
    print("\nmatter-type features (no Rasa; right / decided / precision / right or offered):")
    table: list[tuple[str, ...]] = [("features", "train s", *HOLDOUT_DIRS)]
    for name, options in FEATURE_VARIANTS.items():
        started = time.monotonic()
        model = MatterModel(lexicon, dictionary, C=config.get("C", 2.0), **options)
        model.fit([m.get("text") for m in examples], labels, problems)
        seconds = time.monotonic() - started
        cells = []
        for held_out in splits.values():
            matters = [e for e in held_out if e.matter_type]
            decisions = model.decide_all([e.text for e in matters], problem=True)
            pairs = [
                (e.matter_type, d.matter if d.kind == DECIDED else UNDECIDED)
                for e, d in zip(matters, decisions, strict=True)
            ]
            offered = [
                d.matter == e.matter_type or (d.kind in (ASK, PARTS) and e.matter_type in d.choices)
                for e, d in zip(matters, decisions, strict=True)
            ]
            figures = matter_figures(pairs, offered)
            keys = ("matter_accuracy", "decided", "precision", "offered")
            cells.append(" / ".join(_num(figures[k]) for k in keys))
        table.append((name, f"{seconds:.0f}", *cells))
    _table(table)


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
    parser.add_argument(
        "--features",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also compare the matter-type model's features without Rasa (default on)",
    )
    args = parser.parse_args(argv)
    # Rasa also runs in this process (loading and parsing): no phoning home.
    os.environ.update({k: v for k, v in rasa_env().items() if k != "RASA_CACHE_DIRECTORY"})
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _quiet_rasa()

    with tempfile.TemporaryDirectory(prefix="nlu_quality-") as tmp:
        work = Path(tmp)
        splits = {name: load_holdout(folder) for name, folder in HOLDOUT_DIRS.items()}
        for name, examples in splits.items():
            matters = sum(e.matter_type is not None for e in examples)
            _log(f"{name} split: {len(examples)} examples, {matters} with matter_type")
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

        rows: Rows = []
        for training in trainings:
            results = None
            if training.model is not None:
                _log(f"evaluating {training.name}")
                results = {n: evaluate(training.model, e) for n, e in splits.items()}
            rows.append((training, results))
        baseline = None
        if baseline_training is not None:
            if baseline_training.model is None:
                print(f"DIET intents as matter types: training failed: {baseline_training.error}")
            else:
                _log("evaluating DIET intents as matter types")
                baseline = {
                    n: evaluate(baseline_training.model, e, matter_from_intent=True)
                    for n, e in splits.items()
                }
        print_report(rows, baseline)
        if args.features:
            compare_features(splits)
    return 0 if rows[0][1] is not None else 1


if __name__ == "__main__":
    sys.exit(main())
