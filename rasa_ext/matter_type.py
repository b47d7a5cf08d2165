"""Recognises the matter type (案件事项) of a message that describes a legal problem.

People describe one problem in endless ways ("包工头跑了工钱没拿到", "老板拖了
三个月工资"): there is no span to annotate, the whole message is the evidence.
So the matter type is learned as a property of the message, from example-level
metadata in the training data:

    - text: 老板拖了我三个月工资不给
      metadata:
        matter_type: labor_wages

Every other training example (greetings, FAQ questions) teaches "no matter".
At parse time the component adds the entity `matter_type` — the contract of
DESIGN.md — covering the whole message, when the best matter is likely enough.

It reads the raw text with its own character n-grams (TF-IDF), not the
pipeline's features: those are capped to keep DIET fast, and misspelt or
speech-recognised words (托欠, 工商) still share most characters with the
right ones. Measured on tests/nlu_holdout (bench/nlu_quality.py), this beats
the capped pipeline features and DIET intents per matter type.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, METADATA, METADATA_EXAMPLE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_ext.char_ngrams import CharNgramClassifierComponent

log = logging.getLogger(__name__)

ENTITY = "matter_type"
NO_MATTER = "__none__"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class MatterTypeExtractor(CharNgramClassifierComponent, EntityExtractorMixin):
    """Adds the `matter_type` entity from a classifier over the message's characters."""

    model_file = "matter_type_classifier.joblib"
    missing_model_warning = (
        "No trained matter-type classifier found; no matter types will be added."
    )

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **CharNgramClassifierComponent.get_default_config(),
            # Below this probability the message gets no matter type, and the
            # dialogue asks instead of guessing.
            "threshold": 0.25,
            # Intents whose examples all concern one matter without saying so in
            # metadata (a detained relative is always a criminal matter).
            "intent_matter_types": {},
            # Messages of these intents never carry a matter: a short answer
            # ("没有", "是的") must not be read as one, or it would replace the
            # matter the person described earlier.
            "no_matter_intents": [
                "affirm",
                "deny",
                "greet",
                "goodbye",
                "thank",
                "bot_challenge",
                "repeat",
                "speak_slower",
                "speak_faster",
                "start_over",
                "ask_why",
                "decline_answer",
            ],
        }

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        labels = [self._label(m) for m in examples]
        if len(set(labels)) < 2:
            log.warning("Training data has no matter_type metadata; the extractor stays empty.")
            return self._resource
        return self.fit([m.get(TEXT) for m in examples], labels)

    def _label(self, message: Message) -> str:
        example_metadata = (message.get(METADATA) or {}).get(METADATA_EXAMPLE) or {}
        if example_metadata.get(ENTITY):
            return str(example_metadata[ENTITY])
        return self._config["intent_matter_types"].get(message.get(INTENT), NO_MATTER)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entity = self._predict(message)
            if entity is not None:
                message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages

    def _predict(self, message: Message) -> dict[str, Any] | None:
        text = message.get(TEXT) or ""
        if self._classifier is None or not text.strip():
            return None
        intent = (message.get(INTENT) or {}).get("name")
        if intent in self._config["no_matter_intents"]:
            return None
        probabilities = self._classifier.predict_proba([text])[0]
        best = int(np.argmax(probabilities))
        label, confidence = str(self._classifier.classes_[best]), float(probabilities[best])
        if label == NO_MATTER or confidence < self._config["threshold"]:
            return None
        return self.add_extractor_name(
            [
                {
                    "entity": ENTITY,
                    "value": label,
                    "start": 0,
                    "end": len(text),
                    "confidence": round(confidence, 4),
                }
            ]
        )[0]
