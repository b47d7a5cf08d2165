"""The base of the project's own NLU classifiers: character n-grams, logistic regression.

Both the matter-type extractor and the intent ensemble read the raw message as
TF-IDF character n-grams (misspelt or speech-recognised words still share most
characters with the right ones) and classify with a balanced logistic
regression, persisted with joblib in the component's model storage. This
class holds that plumbing once; subclasses say what to learn and what to add
to a parsed message. The matter-type extractor stores a model of its own
(rasa_ext/matter_model.py) through the same plumbing.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

log = logging.getLogger(__name__)


class CharNgramClassifierComponent(GraphComponent):
    """A trainable graph component around one char n-gram classifier."""

    # The file the classifier is stored in, and what is said when it is missing.
    model_file: ClassVar[str]
    missing_model_warning: ClassVar[str]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Inverse regularisation strength of the logistic regression.
            "C": 50.0,
            "min_ngram": 1,
            "max_ngram": 3,
            # Ignore n-grams seen in fewer examples than this.
            "min_df": 1,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        classifier: Any = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._classifier = with_column_major_weights(classifier)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CharNgramClassifierComponent:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CharNgramClassifierComponent:
        try:
            with model_storage.read_from(resource) as directory:
                classifier = joblib.load(directory / cls.model_file)
        except (ValueError, FileNotFoundError):
            log.warning(cls.missing_model_warning)
            classifier = None
        return cls(config, model_storage, resource, classifier)

    def fit(self, texts: list[str], labels: list[str]) -> Resource:
        """Trains and stores the classifier."""
        classifier = make_pipeline(
            TfidfVectorizer(
                analyzer="char",
                ngram_range=(self._config["min_ngram"], self._config["max_ngram"]),
                min_df=self._config["min_df"],
                sublinear_tf=True,
            ),
            LogisticRegression(C=self._config["C"], max_iter=3000, class_weight="balanced"),
        )
        classifier.fit(texts, labels)
        return self.store(classifier)

    def store(self, classifier: Any) -> Resource:
        """Keeps a trained classifier, in memory and in the model storage."""
        self._classifier = with_column_major_weights(classifier)
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(classifier, directory / self.model_file)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def with_column_major_weights(model: Any) -> Any:
    """The model, its linear classifiers' weights laid out column by column.

    scikit-learn scores a sparse message as `X @ coef_.T`; scipy copies a
    right-hand matrix that is not row-major first, and `coef_.T` of the usual
    row-major `coef_` is not: every message copied all the weights (37 intents
    x 19,000 n-grams), 2.5 of the intent model's 2.9 ms. Column-major weights
    make that transpose row-major; the scores are the same.
    """
    parts = [step for _, step in getattr(model, "steps", [])]
    for estimator in [model, *parts, getattr(model, "classifier_", None)]:
        weights = getattr(estimator, "coef_", None)
        if isinstance(weights, np.ndarray) and weights.ndim == 2:
            estimator.coef_ = np.asfortranarray(weights)
    return model
