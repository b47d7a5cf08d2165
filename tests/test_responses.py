"""The domain's responses: cited where they state a rule, and speakable."""

from __future__ import annotations

import re

import pytest
import yaml

from scripts.model_cache import PROJECT_DIR

RESPONSES = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))["responses"]
# What a listener cannot hear: brackets, quotes, list numbering, line breaks.
# A colon or comma is a pause and stays.
UNSPEAKABLE = re.compile(r"[《》（）()\[\]【】“”\"\n*#/]|\d\.")


def variants(name: str, channel: str | None) -> list[str]:
    return [v["text"] for v in RESPONSES[name] if v.get("channel") == channel]


CITED = sorted(name for name in RESPONSES if any("来源：" in t for t in variants(name, None)))


def test_the_rule_answers_are_cited():
    assert len(CITED) >= 12, CITED


@pytest.mark.parametrize("name", CITED)
def test_every_cited_answer_has_a_voice_variant_with_its_source(name):
    spoken = variants(name, "voice")
    assert spoken, f"{name} has no voice variant"
    for text in spoken:
        # Either the source is said, or the answer asks to read on and the
        # "_more" part says the source.
        if text.endswith("要继续听吗？"):
            assert "来源是" in variants(f"{name}_more", None)[0], name
        else:
            assert "来源是" in text, name


@pytest.mark.parametrize(
    "name", sorted(n for n in RESPONSES if variants(n, "voice") or n.endswith("_more"))
)
def test_voice_variants_are_written_for_the_ear(name):
    for text in variants(name, "voice") or variants(name, None):
        assert not UNSPEAKABLE.search(text), (name, UNSPEAKABLE.search(text).group())
        # A list read aloud has at most three items before "要继续听吗？".
        assert text.count("，") <= 6, (name, text)


def test_read_on_parts_exist_for_every_read_on_question():
    for name in RESPONSES:
        if any(t.endswith("要继续听吗？") for t in variants(name, "voice")):
            assert f"{name}_more" in RESPONSES, name
