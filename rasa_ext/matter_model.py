"""The matter-type model: features, a linear classifier, and calibrated decisions.

Pure scikit-learn, no Rasa, so that rasa_ext/matter_type.py (the pipeline
component) and bench/nlu_quality.py use the very same model.

Features: character 1–3-grams (TF-IDF), where misspelt and speech-recognised
words (公伤, 托欠) still share most characters with the right ones. Two more
are built and measured by bench/nlu_quality.py, and left off because they did
not improve the real-style held-out split (tests/nlu_holdout_real):
- word 1–2-grams from Jieba with the legal dictionary (nlu_data/jieba) and the
  lexicon's terms kept whole ("举证责任", "停工留薪期" as one thing);
- the lexicon (rasa_ext/matter_terms.yml): how many of each matter's legal
  terms the message uses.

A linear SVM scores the classes (it trains in a second where a logistic
regression on the same features took forty). Its scores are not
probabilities, so they are calibrated on out-of-fold scores (near duplicates
kept in one fold): a temperature for a softmax, fitted by likelihood; then
Platt scaling of "the best matter is right" on the best and second
probabilities and the message's length (long formal questions are wrong more
often at the same score than short stories); then the least of that
probability at which out-of-fold decisions were right at least
`target_precision` of the time. Below it, the model does not guess: it offers
the two or three matters whose probabilities come close to the best, for the
dialogue to ask which one the person means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jieba
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

NO_MATTER = "__none__"

# Decisions, as the dialogue reads them.
DECIDED = "decided"  # one matter, confident enough to answer
ASK = "ask"  # a legal problem; these two or three matters are likely
PARTS = "parts"  # two problems in one message; the person chooses which first
OPEN = "open"  # a legal problem, but no matter is likely: ask what happened
NONE = "none"  # not a problem at all (a greeting, a question about legal aid)

# Where a message may be cut into two problems, each half at least this long
# and decided at least this confidently (measured on both held-out splits:
# 5 % of one-problem messages are cut, most of them truly two-sided).
_PAUSES = re.compile(r"[。！？!?；;，,、\s]+")
MIN_PART_CHARS = 8
PART_CONFIDENCE = 0.95
MAX_CUTS = 16
_PUNCTUATION = re.compile(r"^[\W_]+$")


class WordNgrams:
    """Jieba words and word pairs, with the legal terms kept whole.

    The terms travel inside the pickled model, so a loaded model cuts words
    exactly as the trained one did, whatever the current directory."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = sorted(set(terms))
        self._ready = False

    def __getstate__(self) -> dict[str, Any]:
        return {"terms": self.terms}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.terms = state["terms"]
        self._ready = False

    def __call__(self, text: str) -> list[str]:
        if not self._ready:
            for term in self.terms:
                jieba.add_word(term)
            self._ready = True
        words = [w for w in jieba.lcut(text) if w.strip() and not _PUNCTUATION.match(w)]
        return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


class LexiconHits(BaseEstimator, TransformerMixin):
    """How many of each matter's legal terms a message contains (one column per matter)."""

    def __init__(self, lexicon: dict[str, list[str]] | None = None, weight: float = 0.5) -> None:
        self.lexicon = lexicon
        self.weight = weight

    def fit(self, texts: Sequence[str], labels: Any = None) -> LexiconHits:
        terms = unique_terms(self.lexicon or {})
        self.matters_ = sorted(terms)
        self.patterns_ = [
            re.compile("|".join(map(re.escape, sorted(terms[m], key=len, reverse=True))))
            for m in self.matters_
        ]
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        rows = [
            [min(len(pattern.findall(text)), 3) * self.weight for pattern in self.patterns_]
            for text in texts
        ]
        return sparse.csr_matrix(np.array(rows, dtype=float).reshape(len(texts), -1))


def unique_terms(lexicon: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each matter's terms without those that several matters claim."""
    counts: dict[str, int] = {}
    for terms in lexicon.values():
        for term in set(terms):
            counts[term] = counts.get(term, 0) + 1
    return {
        matter: [t for t in dict.fromkeys(terms) if counts[t] == 1]
        for matter, terms in lexicon.items()
        if any(counts[t] == 1 for t in terms)
    }


@dataclass
class Decision:
    """What the model makes of one message."""

    kind: str
    # The matter when decided; otherwise None.
    matter: str | None = None
    confidence: float = 0.0
    # The matters to offer (ASK, PARTS), most likely first.
    choices: list[str] = field(default_factory=list)
    # Every matter with its probability, most likely first (no NO_MATTER).
    ranking: list[tuple[str, float]] = field(default_factory=list)
    # Two problems told in one message, the decided one (if any) first.
    parts: list[str] = field(default_factory=list)


@dataclass
class Calibration:
    temperature: float = 1.0
    # The probability that the best matter is right, from its probability, the
    # runner-up's and the message's length (Platt scaling on out-of-fold scores:
    # a long formal question is wrong more often at the same score than a
    # short story), and the least of it that decides.
    right: Any = None
    decide_at: float = 0.5
    # The same, for a message whose intent says it is a problem: its probabilities
    # are then conditioned on it being one (NO_MATTER left out).
    right_problem: Any = None
    decide_at_problem: float = 0.5
    # A matter is offered when its probability is at least this share of the best's.
    offer_ratio: float = 0.15
    # Below this probability of being any matter at all, a message is no problem.
    problem_at: float = 0.5


class MatterModel:
    """Features, classifier and calibration of the matter type; picklable."""

    def __init__(
        self,
        lexicon: dict[str, list[str]] | None = None,
        dictionary: Iterable[str] = (),
        C: float = 2.0,  # noqa: N803  (scikit-learn's name)
        min_df: int = 2,
        target_precision: float = 0.93,
        max_choices: int = 3,
        folds: int = 5,
        use_lexicon: bool = False,
        use_words: bool = False,
    ) -> None:
        self.lexicon = lexicon or {}
        self.dictionary = list(dictionary)
        self.C = C
        self.min_df = min_df
        self.target_precision = target_precision
        self.max_choices = max_choices
        self.folds = folds
        self.use_lexicon = use_lexicon
        self.use_words = use_words
        self.calibration = Calibration()

    # Training ---------------------------------------------------------------

    def _features(self) -> FeatureUnion:
        parts: list[tuple[str, Any]] = [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char", ngram_range=(1, 3), min_df=self.min_df, sublinear_tf=True
                ),
            )
        ]
        if self.use_words:
            terms = [*self.dictionary, *(t for ts in self.lexicon.values() for t in ts)]
            parts.append(
                (
                    "words",
                    TfidfVectorizer(
                        analyzer=WordNgrams(terms), min_df=self.min_df, sublinear_tf=True
                    ),
                )
            )
        if self.use_lexicon and self.lexicon:
            parts.append(("lexicon", LexiconHits(self.lexicon)))
        return FeatureUnion(parts)

    def _classifier(self) -> LinearSVC:
        return LinearSVC(C=self.C, class_weight="balanced")

    def fit(
        self, texts: Sequence[str], labels: Sequence[str], problems: Sequence[bool] | None = None
    ) -> MatterModel:
        """Trains on all examples, after calibrating on out-of-fold scores.

        `problems` says which examples' intents describe a problem (their matter
        type is then decided on probabilities conditioned on that)."""
        labels = np.asarray(labels)
        problems = np.asarray(problems if problems is not None else labels != NO_MATTER)
        self.features_ = self._features().fit(texts)
        matrix = self.features_.transform(texts)
        self.classifier_ = self._classifier().fit(matrix, labels)
        self.classes_ = self.classifier_.classes_
        scores = self._out_of_fold_scores(texts, matrix, labels)
        lengths = np.array([len(t) for t in texts])
        self.calibration = calibrate(
            scores, labels, problems, lengths, self.classes_, self.target_precision
        )
        return self

    def _out_of_fold_scores(
        self, texts: Sequence[str], matrix: sparse.spmatrix, labels: np.ndarray
    ) -> np.ndarray:
        # The features stay fitted on every example: refitting the vocabulary per
        # fold costs more time than the slight optimism it would remove. Near
        # duplicates (a question and its speech-recognised twin) stay in one
        # fold: split apart, they made decisions look safer than they are.
        scores = np.zeros((matrix.shape[0], len(self.classes_)))
        folds = StratifiedGroupKFold(n_splits=self.folds, shuffle=True, random_state=0)
        for train, test in folds.split(matrix, labels, near_duplicate_groups(texts)):
            classifier = self._classifier().fit(matrix[train], labels[train])
            columns = np.searchsorted(self.classes_, classifier.classes_)
            scores[np.ix_(test, columns)] = classifier.decision_function(matrix[test])
        return scores

    # Parsing ----------------------------------------------------------------

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, one row per text, columns as `classes_`."""
        scores = self.classifier_.decision_function(self.features_.transform(texts))
        return softmax(scores, self.calibration.temperature)

    def decide(self, text: str, problem: bool = False) -> Decision:
        """The decision for one message, with the ranking behind it; `problem`
        when its intent says it describes a problem."""
        return self.decide_all([text], problem)[0]

    def decide_all(self, texts: Sequence[str], problem: bool = False) -> list[Decision]:
        rows = self.probabilities(texts)
        return [self._decision(row, problem, len(t)) for row, t in zip(rows, texts, strict=True)]

    def _decision(self, row: np.ndarray, problem: bool, length: int) -> Decision:
        legal = row * (self.classes_ != NO_MATTER)
        if legal.sum() < self.calibration.problem_at:
            # "我有个事想咨询一下": a problem, perhaps, but nothing said about it yet.
            kind = OPEN if problem else NONE
            return Decision(kind, None, float(legal.max()), [], self._ranking(legal))
        calibrator, threshold = self.calibration.right, self.calibration.decide_at
        if problem:
            legal = legal / max(legal.sum(), 1e-12)
            calibrator = self.calibration.right_problem
            threshold = self.calibration.decide_at_problem
        ranking = self._ranking(legal)
        best = ranking[0][0]
        confidence = float(
            calibrator.predict_proba(_right_features(legal[None, :], [length]))[0, 1]
        )
        if confidence >= threshold:
            return Decision(DECIDED, best, confidence, [best], ranking)
        choices = [m for m, p in ranking if p >= ranking[0][1] * self.calibration.offer_ratio]
        choices = choices[: self.max_choices]
        if len(choices) < 2:
            return Decision(OPEN, None, confidence, [], ranking)
        return Decision(ASK, None, confidence, choices, ranking)

    def _ranking(self, legal: np.ndarray) -> list[tuple[str, float]]:
        return [
            (str(self.classes_[i]), float(legal[i]))
            for i in np.argsort(-legal)
            if self.classes_[i] != NO_MATTER
        ]

    def parts(self, text: str) -> list[str]:
        """Two matters told in the two halves of one message, else [].

        "老板欠了我四个月工资一直不给，我在干活的时候还从梯子上摔下来把腰摔伤了":
        the message is cut at each pause, and when both halves of a cut are
        decided on their own, confidently and differently, those are its parts.
        Halves, not clauses: a clause alone ("司机说车是公司的") is too short to
        say what it is about, and named two matters in a story of one."""
        cuts = [
            m.end()
            for m in _PAUSES.finditer(text)
            if m.start() >= MIN_PART_CHARS and len(text) - m.end() >= MIN_PART_CHARS
        ][:MAX_CUTS]
        if not cuts:
            return []
        halves = self.decide_all([text[:c] for c in cuts] + [text[c:] for c in cuts], True)
        for left, right in zip(halves[: len(cuts)], halves[len(cuts) :], strict=True):
            if self._part(left) and self._part(right) and left.matter != right.matter:
                return [str(left.matter), str(right.matter)]
        return []

    @staticmethod
    def _part(decision: Decision) -> bool:
        # The half's own probability, as measured for PART_CONFIDENCE.
        return decision.kind == DECIDED and decision.ranking[0][1] >= PART_CONFIDENCE


def near_duplicate_groups(texts: Sequence[str], overlap: float = 0.6) -> np.ndarray:
    """A group number per text; texts sharing most of their character pairs
    (Jaccard ≥ `overlap`) are in one group."""
    pairs = CountVectorizer(analyzer="char", ngram_range=(2, 2), binary=True).fit_transform(texts)
    pairs = pairs.astype(np.float32).tocsr()
    sizes = np.asarray(pairs.sum(axis=1)).ravel()
    shared = (pairs @ pairs.T).tocoo()
    union = sizes[shared.row] + sizes[shared.col] - shared.data
    close = shared.data >= overlap * np.maximum(union, 1)
    graph = sparse.coo_matrix(
        (np.ones(close.sum()), (shared.row[close], shared.col[close])), shape=shared.shape
    )
    return connected_components(graph, directed=False)[1]


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    scaled = scores * temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def calibrate(
    scores: np.ndarray,
    labels: np.ndarray,
    problems: np.ndarray,
    lengths: np.ndarray,
    classes: np.ndarray,
    target_precision: float,
) -> Calibration:
    """The temperature, calibrators and thresholds that out-of-fold scores support."""
    truth = np.searchsorted(classes, labels)
    temperature = _fit_temperature(scores, truth)
    legal = softmax(scores, temperature) * (classes != NO_MATTER)
    none = int(np.searchsorted(classes, NO_MATTER)) if NO_MATTER in classes else -1
    conditioned = legal[problems] / np.maximum(legal[problems].sum(axis=1, keepdims=True), 1e-12)
    right, decide_at = _calibrate_right(legal, truth, lengths, target_precision)
    right_problem, decide_at_problem = _calibrate_right(
        conditioned, truth[problems], lengths[problems], target_precision
    )
    return Calibration(
        temperature=temperature,
        right=right,
        decide_at=decide_at,
        right_problem=right_problem,
        decide_at_problem=decide_at_problem,
        offer_ratio=_offer_ratio(conditioned, truth[problems], none),
        problem_at=0.5,
    )


def _right_features(legal: np.ndarray, lengths: Sequence[int]) -> np.ndarray:
    """What the calibrator reads: the best and second probabilities, and the length."""
    top = -np.sort(-legal, axis=1)[:, :2]
    return np.column_stack([top[:, 0], top[:, 0] - top[:, 1], np.log1p(np.asarray(lengths))])


def _calibrate_right(
    legal: np.ndarray, truth: np.ndarray, lengths: np.ndarray, target: float
) -> tuple[LogisticRegression, float]:
    """P(the best matter is right), fitted on out-of-fold rows, and the least of it
    at which decisions stay right `target` of the time."""
    features = _right_features(legal, lengths)
    right = legal.argmax(axis=1) == truth
    calibrator = LogisticRegression(C=10.0).fit(features, right)
    confidence = calibrator.predict_proba(features)[:, 1]
    return calibrator, _decision_threshold(confidence, right, target)


def _fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The softmax temperature that maximises the out-of-fold likelihood."""
    best, best_loss = 1.0, np.inf
    for temperature in np.geomspace(0.5, 50, 60):
        probabilities = softmax(scores, temperature)
        loss = -np.mean(np.log(probabilities[np.arange(len(truth)), truth] + 1e-12))
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best


def _decision_threshold(confidence: np.ndarray, right: np.ndarray, target: float) -> float:
    """The lowest confidence above which decisions are right `target` of the time.

    Walks the out-of-fold decisions from the most confident down and stops where
    precision would fall below the target (for good: a lucky stretch further down
    does not lower the threshold)."""
    order = np.argsort(-confidence)
    hits = np.cumsum(right[order])
    precision = hits / np.arange(1, len(order) + 1)
    # Too few decisions say nothing: start counting after the first 50.
    below = np.nonzero(precision[50:] < target)[0]
    last = len(order) - 1 if len(below) == 0 else 50 + int(below[0]) - 1
    return float(confidence[order][max(last, 0)])


def _offer_ratio(legal: np.ndarray, truth: np.ndarray, none: int) -> float:
    """The share of the best matter's probability that a matter needs to be offered:
    the largest share that still offers the right matter as often as a smaller one
    would, among out-of-fold problems that the model would not decide on its own."""
    problems = truth != none
    rows, answers = legal[problems], truth[problems]
    best = rows.max(axis=1, keepdims=True)
    top = np.argsort(-rows, axis=1)[:, :3]
    covered = {}
    for ratio in (0.05, 0.1, 0.15, 0.2, 0.3, 0.4):
        offered = (rows >= best * ratio) & _in_top(rows.shape, top)
        covered[ratio] = float(np.mean(offered[np.arange(len(answers)), answers]))
    most = max(covered.values())
    return max(r for r, c in covered.items() if c >= most - 0.01)


def _in_top(shape: tuple[int, int], top: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    np.put_along_axis(mask, top, True, axis=1)
    return mask
