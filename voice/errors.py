"""Errors a voice user hears about: each carries a polite Chinese message.

A channel catches `VoiceInputError`, says (or shows) `user_message`, and the
conversation goes on; the technical detail goes to the log, never to the user.
"""

from __future__ import annotations


class VoiceInputError(Exception):
    """Audio the assistant cannot use, with what to tell the person about it."""

    def __init__(self, user_message: str, detail: str = "") -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message


class AudioTooLong(VoiceInputError):
    """More audio than one turn may hold (length or file size)."""


class UnreadableAudio(VoiceInputError):
    """Empty, broken or unknown audio, or a converter that failed on it."""
