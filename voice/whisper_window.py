"""Whisper's encoder on a window as short as the utterance allows.

Whisper learned on 30-second windows, and faster-whisper pads every clip's
features to one (3,000 frames of zeros after the speech). The encoder's cost
grows with the window, and it is most of a short utterance's decoding: on
these two cores a 3-second answer took 0.7 s in a 30-second window and 0.25 s
in a 10-second one. The people here say a few seconds at a time, so the
encoder is given the shortest window, in steps of WINDOW_STEP_SECONDS, that
holds the clip; the decoder attends to what the encoder saw. What this costs
in accuracy is measured on the speech set (`bench.voice --speech-set
--whisper-variants`) and written in docs/voice.md.

Imported only when Whisper is the engine: it imports CTranslate2.
"""

from __future__ import annotations

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

# The window grows in these steps up to Whisper's 30 seconds (3,000 frames).
WINDOW_STEP_SECONDS = 10
FRAMES_PER_SECOND = 100


class WindowedWhisperModel(WhisperModel):
    """A WhisperModel whose encoder sees only the window that holds the speech."""

    def __init__(
        self, *args: object, window_step_seconds: int = WINDOW_STEP_SECONDS, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.window_step_frames = window_step_seconds * FRAMES_PER_SECOND

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        return super().encode(features[..., : self.window_frames(features)])

    def window_frames(self, features: np.ndarray) -> int:
        """The frames up to the end of the speech's features, rounded up to a step.
        The padding faster-whisper adds is exact zeros; a spoken frame never is."""
        full = features.shape[-1]
        if self.window_step_frames >= full:
            return full
        spoken = np.flatnonzero(np.any(features.reshape(-1, full) != 0, axis=0))
        used = int(spoken[-1]) + 1 if spoken.size else 1
        steps = -(-used // self.window_step_frames)
        return min(full, steps * self.window_step_frames)
