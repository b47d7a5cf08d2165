"""Safety net: a message that signals immediate danger is always report_danger.

The intent classifier learns report_danger from examples, but a classifier
can be unsure exactly when it matters most. Patterns named `danger_<category>`
in the training data (nlu_data/safety.yml) catch the plain cases for certain:
a match sets the intent to report_danger with full confidence and adds the
entity `danger` with the category, so the dialogue gives 110 and the right
hotline before anything else. A false alarm costs the person one extra
sentence; a missed one could cost far more.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

PATTERN_PREFIX = "danger_"
DANGER_INTENT = "report_danger"
PATTERNS_FILE = "danger_patterns.json"


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
        DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR,
    ],
    is_trainable=True,
)
class DangerDetector(GraphComponent, EntityExtractorMixin):
    def __init__(
        self,
        model_storage: ModelStorage,
        resource: Resource,
        patterns: dict[str, list[str]] | None = None,
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self._patterns = patterns or {}
        self._compiled = {
            category: [re.compile(p) for p in patterns_of_category]
            for category, patterns_of_category in self._patterns.items()
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DangerDetector:
        return cls(model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> DangerDetector:
        with model_storage.read_from(resource) as directory:
            patterns = read_json_file(directory / PATTERNS_FILE)
        return cls(model_storage, resource, patterns)

    def train(self, training_data: TrainingData) -> Resource:
        patterns: dict[str, list[str]] = {}
        for regex in training_data.regex_features:
            if regex["name"].startswith(PATTERN_PREFIX):
                category = regex["name"].removeprefix(PATTERN_PREFIX)
                patterns.setdefault(category, []).append(regex["pattern"])
        with self._model_storage.write_to(self._resource) as directory:
            dump_obj_as_json_to_file(directory / PATTERNS_FILE, patterns)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            category = self.category_of(message.get(TEXT) or "")
            if category is not None:
                _mark_dangerous(message, category, self.add_extractor_name)
        return messages

    def category_of(self, text: str) -> str | None:
        """The first danger category whose pattern occurs in the text."""
        for category, compiled in self._compiled.items():
            if any(pattern.search(text) for pattern in compiled):
                return category
        return None


def _mark_dangerous(message: Message, category: str, name_entities: Any) -> None:
    intent = {INTENT_NAME_KEY: DANGER_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
    # The ranking holds only this intent: a runner-up close to it would make
    # the FallbackClassifier call the message ambiguous.
    message.set(INTENT, intent, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
    text = message.get(TEXT) or ""
    entity = {"entity": "danger", "value": category, "start": 0, "end": len(text)}
    message.set(
        ENTITIES, [*message.get(ENTITIES, []), *name_entities([entity])], add_to_output=True
    )
