"""Calling DIET's and TED's traced TensorFlow graphs directly.

Rasa predicts with a `tf.function` traced once with a dynamic input signature.
Calling it goes through TensorFlow's generic dispatch on every call: the
inputs are matched against the signature, their trace types built and the
traced graph looked up again. For these small models that dispatch costs as
much as the graph itself: 1.2-1.8 of the 2.4-3.1 ms a call takes, and a turn
calls TED once per prediction (two or three times) and DIET once (measured on
the trained model, about 5 ms of a 40 ms turn).

Here, once Rasa has traced its function, its one concrete graph is called with
the batch's arrays as tensors; a batch that does not fit the traced signature
(another dtype or rank) goes through Rasa's own call, as before. The outputs
are Rasa's own, converted as Rasa converts them.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import tensorflow as tf
from keras.utils import tf_utils
from rasa.shared.constants import DIAGNOSTIC_DATA
from rasa.utils.tensorflow.models import RasaModel

_RASA_PREDICT = RasaModel._rasa_predict


class _Graph:
    """A model's traced prediction graph and the inputs it was traced for."""

    def __init__(self, function: Any) -> None:
        self.concrete = function.get_concrete_function()
        specs = self.concrete.structured_input_signature[0][0]
        self.inputs = [
            (spec.dtype.as_numpy_dtype, spec.shape.rank, spec.shape[-1]) for spec in specs
        ]

    def fits(self, batch_in: tuple[np.ndarray, ...]) -> bool:
        if len(batch_in) != len(self.inputs):
            return False
        for array, (dtype, rank, last) in zip(batch_in, self.inputs, strict=True):
            shape = np.shape(array)
            if np.asarray(array).dtype != dtype or len(shape) != rank:
                return False
            if rank > 1 and last is not None and shape[-1] != last:
                return False
        return True

    def __call__(self, batch_in: tuple[np.ndarray, ...]) -> Any:
        tensors = [tf.constant(array) for array in batch_in]
        return self.concrete._call_flat(tensors, self.concrete.captured_inputs)


_GRAPHS: weakref.WeakKeyDictionary[RasaModel, _Graph] = weakref.WeakKeyDictionary()


def rasa_predict(self: RasaModel, batch_in: tuple[np.ndarray, ...]) -> dict[str, Any]:
    """RasaModel._rasa_predict, calling the traced graph without tf.function's dispatch."""
    if self._run_eagerly or self._tf_predict_step is None or not self.prepared_for_prediction:
        return _RASA_PREDICT(self, batch_in)  # the first call traces the graph
    graph = _GRAPHS.get(self)
    if graph is None:
        graph = _GRAPHS[self] = _Graph(self._tf_predict_step)
    if not graph.fits(batch_in):
        return _RASA_PREDICT(self, batch_in)
    self._training = False
    outputs = tf_utils.sync_to_numpy_or_python_type(graph(batch_in))
    if DIAGNOSTIC_DATA in outputs:
        outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[DIAGNOSTIC_DATA])
    return outputs


def install() -> None:
    RasaModel._rasa_predict = rasa_predict  # type: ignore[method-assign]
