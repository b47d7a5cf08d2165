"""Second opinion on the intent: blends DIET's ranking with character n-grams.

DIET alone is biased towards describe_problem, which has more than a thousand
examples (nlu_data/problems/) against 45–80 for every other intent: a short
closing with a few extra words ("好的谢谢那我先挂了啊") or a detained relative
told as a story can drift into it. A logistic regression over the raw text's
character n-grams (TF-IDF, balanced class weights) makes different mistakes: it
knows nothing of word order, but misspelt or speech-recognised words (发援,
人公) still share most characters with the right ones, and every intent counts
the same. Averaging the two probability rankings, with most weight on the
n-gram model, beats either alone on tests/nlu_holdout (bench/nlu_quality.py).

Courtesy does not outweigh the question (issue 21): people on consultation
sites open with 请问/律师您好 and close with 谢谢/请问, and a long question
that ends in 谢谢 was taken for `thank`. The n-gram model reads the message
without those words when enough of it is left to be a question of its own;
"好的谢谢" stays a thanks.

The component runs after DIETClassifier and rewrites `intent` and
`intent_ranking`; rasa_ext.danger.DangerDetector and the FallbackClassifier
come after it, so a danger pattern still forces report_danger and an unsure
blend still becomes nlu_fallback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_ext.char_ngrams import CharNgramClassifierComponent

log = logging.getLogger(__name__)

_SEPARATORS = r"[\s，,。.！!？?：:~～、…]*"
_OPENING = re.compile(
    rf"^{_SEPARATORS}(?:(?:律师|老师|法官)?(?:您好|你好)|请问(?:一下)?|打扰(?:一下|了)|"
    rf"麻烦(?:问一下|您|你)?|想问(?:一下)?){_SEPARATORS}"
)
_CLOSING = re.compile(
    rf"{_SEPARATORS}(?:(?:非常|十分)?(?:谢谢|感谢)(?:您|你|律师|老师|了|啦)*|多谢|麻烦(?:您|你)?了|"
    rf"请问|在线等|急急急|急){_SEPARATORS}$"
)
# What must be left of a message, in characters, for it to be read without
# its courtesy: "好的谢谢" leaves "好的", which is no question.
MIN_QUESTION_CHARS = 8


def without_courtesy(text: str) -> str:
    """The message without the greetings and thanks around it, when enough is left."""
    stripped, previous = text, None
    while stripped != previous:
        previous = stripped
        stripped = _CLOSING.sub("", _OPENING.sub("", stripped))
    return stripped if len(stripped) >= MIN_QUESTION_CHARS else text


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentEnsemble(CharNgramClassifierComponent):
    """Replaces the intent ranking by a weighted average of DIET's and its own."""

    model_file = "intent_ensemble_classifier.joblib"
    missing_model_warning = "No trained intent ensemble found; DIET's intents are used alone."

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **CharNgramClassifierComponent.get_default_config(),
            # Share of the n-gram model in the blend; the rest is DIET's.
            "weight": 0.7,
            # N-grams seen in a single example are mostly noise (names, sums);
            # dropping them is also what keeps training to a few seconds.
            "min_df": 2,
            # Intents kept in `intent_ranking`, as DIET's ranking_length.
            "ranking_length": 10,
        }

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        labels = [str(m.get(INTENT)) for m in examples]
        if len(set(labels)) < 2:
            log.warning("Fewer than two intents to learn; DIET's intents are used alone.")
            return self._resource
        return self.fit([m.get(TEXT) for m in examples], labels)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            ranking = self.blend(message)
            if ranking:
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def blend(self, message: Message) -> list[dict[str, Any]]:
        """The blended ranking, best first; empty when there is nothing to blend."""
        text = message.get(TEXT) or ""
        if self._classifier is None or not text.strip():
            return []
        diet_ranking = message.get(INTENT_RANKING_KEY) or []
        # Without DIET's ranking (no DIET in the pipeline) the n-grams decide alone.
        weight = float(self._config["weight"]) if diet_ranking else 1.0
        probabilities = self._classifier.predict_proba([without_courtesy(text)])[0]
        scores = {
            str(name): weight * float(p)
            for name, p in zip(self._classifier.classes_, probabilities, strict=True)
        }
        for entry in diet_ranking:
            name = entry.get(INTENT_NAME_KEY)
            if name:
                confidence = float(entry.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
                scores[name] = scores.get(name, 0.0) + (1 - weight) * confidence
        best = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        return [
            {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
            for name, confidence in best[: self._config["ranking_length"]]
        ]
