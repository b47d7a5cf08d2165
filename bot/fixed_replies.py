"""The replies that are the same for everyone, as the voice channels speak them.

A voice channel hears a response's `channel: voice` variants where it has
them, and its plain variants otherwise (Rasa's choice); a response with a
slot in it ({name}, {reference} …) is different for each person and is left
out. These texts are what the gateway prepares at start-up
(voice.prepared_speech): the questions, the options and the explanations of
the law then play at once, and never hold anything personal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from legal_aid.channels import VOICE
from voice.normalise import reply_for_ear

DOMAIN_FILE = Path(__file__).resolve().parent.parent / "domain.yml"


def fixed_voice_replies(domain_file: Path = DOMAIN_FILE) -> list[str]:
    """Every fixed response's spoken text, buttons read out, in the domain's order."""
    responses = yaml.safe_load(domain_file.read_text(encoding="utf-8")).get("responses") or {}
    spoken = (reply_for_ear(variant) for variants in responses.values()
              for variant in _heard_on_voice(variants))  # fmt: skip
    return list(dict.fromkeys(spoken))


def _heard_on_voice(variants: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    voice = [v for v in variants if v.get("channel") == VOICE.name]
    plain = [v for v in variants if not v.get("channel")]
    for variant in voice or plain:
        if "{" not in (variant.get("text") or "") and variant.get("text"):
            yield variant
