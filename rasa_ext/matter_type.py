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
DESIGN.md — covering the whole message, whenever the message describes a
problem (issue 21: never silence on a legal question):

- decided: the value is the matter, when the calibrated confidence is at or
  above the threshold that kept out-of-fold decisions right ≥ 93 % of the time
  (rasa_ext/matter_model.py);
- not decided: the value is `other` (其他或无法判断), with `choices` — the two
  or three likely matters for the dialogue to offer ("您问的是劳动报酬，还是合同
  欠款？"), none when nothing is likely;
- two problems told in one message (wages AND an injury): `parts: true` and
  both as `choices` (the decided one first, when one is decided), for the
  person to choose which comes first.

The parse result also carries `matter_type_ranking` (every matter with its
probability, best first), for actions and for the bench.

The model (rasa_ext/matter_model.py) reads the raw text with its own character
n-grams, not the pipeline's features: those are capped to keep DIET fast, and
misspelt or speech-recognised words (托欠, 工商) still share most characters
with the right ones.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, METADATA, METADATA_EXAMPLE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_ext.char_ngrams import CharNgramClassifierComponent
from rasa_ext.matter_model import ASK, DECIDED, NO_MATTER, NONE, PARTS, Decision, MatterModel

log = logging.getLogger(__name__)

ENTITY = "matter_type"
# The matter_types.yml key for "其他或无法判断": a problem whose matter is not decided.
UNDECIDED = "other"
RANKING = "matter_type_ranking"
RANKING_LENGTH = 5
LEXICON = Path(__file__).with_name("matter_terms.yml")


def training_label(message: Message, intent_matter_types: dict[str, str]) -> str:
    """The matter an example teaches: its metadata's, its intent's, or none."""
    example_metadata = (message.get(METADATA) or {}).get(METADATA_EXAMPLE) or {}
    if example_metadata.get(ENTITY):
        return str(example_metadata[ENTITY])
    return intent_matter_types.get(message.get(INTENT), NO_MATTER)


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
            # The SVM's regularisation (rasa_ext/matter_model.py).
            "C": 2.0,
            # Out-of-fold decisions must be right this often; below the confidence
            # that achieves it, the dialogue asks instead of guessing.
            "target_precision": 0.93,
            # Word n-grams (Jieba and this dictionary) and the legal-term lexicon
            # (rasa_ext/matter_terms.yml): measured by bench/nlu_quality.py, they
            # did not improve the real-style held-out split, so they are off.
            "use_words": False,
            "use_lexicon": False,
            "dictionary_path": "nlu_data/jieba",
            # Intents whose message describes a problem: its matter type is decided
            # on probabilities conditioned on that, and when none is decided the
            # message still gets `other` and the choices to offer.
            "problem_intents": ["describe_problem", "criminal_defense", "protection_order"],
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
                "choose_option",
            ],
        }

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        labels = [self._label(m) for m in examples]
        if len(set(labels)) < 2:
            log.warning("Training data has no matter_type metadata; the extractor stays empty.")
            return self._resource
        problems = [m.get(INTENT) in self._config["problem_intents"] for m in examples]
        model = MatterModel(
            lexicon=yaml.safe_load(LEXICON.read_text(encoding="utf-8")),
            dictionary=self._dictionary_words(),
            C=self._config["C"],
            target_precision=self._config["target_precision"],
            use_words=self._config["use_words"],
            use_lexicon=self._config["use_lexicon"],
        )
        model.fit([m.get(TEXT) for m in examples], labels, problems)
        log.info("Matter type calibration: %s", model.calibration)
        return self.store(model)

    def _dictionary_words(self) -> list[str]:
        if not self._config["use_words"]:
            return []
        folder = Path(self._config["dictionary_path"])
        lines = (line for path in sorted(folder.glob("*.txt")) for line in path.open())
        return [line.split()[0] for line in lines if line.strip()]

    def _label(self, message: Message) -> str:
        return training_label(message, self._config["intent_matter_types"])

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._process_one(message)
        return messages

    def _process_one(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        intent = (message.get(INTENT) or {}).get("name")
        if self._classifier is None or not text.strip():
            return
        if intent in self._config["no_matter_intents"]:
            return
        decision = self.decide(text, intent in self._config["problem_intents"])
        if decision.ranking:
            ranking = [
                {"name": name, "confidence": round(p, 4)}
                for name, p in decision.ranking[:RANKING_LENGTH]
            ]
            message.set(RANKING, ranking, add_to_output=True)
        entity = self._entity(decision, text)
        if entity is not None:
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)

    def decide(self, text: str, problem: bool) -> Decision:
        """The model's decision, with two problems told in one message as its parts.

        A message with parts keeps its decision (when there is one) for the
        slot, and the dialogue asks which part comes first."""
        model: MatterModel = self._classifier
        decision = model.decide(text, problem)
        if decision.kind == NONE:
            return decision
        parts = model.parts(text)
        if not parts:
            return decision
        if decision.kind == DECIDED:
            ordered = [str(decision.matter), *(p for p in parts if p != decision.matter)]
            return replace(decision, parts=ordered)
        return Decision(PARTS, None, decision.confidence, parts, decision.ranking, parts)

    def _entity(self, decision: Decision, text: str) -> dict[str, Any] | None:
        if decision.kind == NONE:
            return None
        entity: dict[str, Any] = {
            "entity": ENTITY,
            "value": decision.matter if decision.kind == DECIDED else UNDECIDED,
            "start": 0,
            "end": len(text),
            "confidence": round(decision.confidence, 4),
        }
        if decision.parts:
            entity.update(choices=decision.parts, parts=True)
        elif decision.kind != DECIDED:
            entity.update(choices=decision.choices if decision.kind == ASK else [], parts=False)
        return self.add_extractor_name([entity])[0]
