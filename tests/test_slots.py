"""Slot names in one module (issue 18).

actions/slots.py names every slot the actions read or set, each one a slot of
domain.yml, and the actions write no slot name out themselves: a mistyped
name would otherwise read None, or set a slot Rasa ignores, without an error.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from actions import slots
from legal_aid.eligibility.facts import FACTS
from legal_aid.intake.fields import fields

PROJECT = Path(__file__).resolve().parent.parent
DOMAIN_SLOTS = frozenset(
    yaml.safe_load((PROJECT / "domain.yml").read_text(encoding="utf-8"))["slots"]
)
# Slots Rasa declares itself (for forms), not written in domain.yml.
RASA_SLOTS = frozenset({"requested_slot"})
# Slots of domain.yml no action reads or sets: filled from an entity of the same
# name, which is what the actions read (`get_latest_entity_values`).
ENTITY_ONLY_SLOTS = frozenset({"danger", "relation"})
ACTION_SOURCES = sorted(p for p in (PROJECT / "actions").glob("*.py") if p.name != "slots.py")
# Calls that read or set a slot by name (`slot = tracker.get_slot` is a common alias).
SLOT_CALLS = frozenset({"get_slot", "slot", "SlotSet"})


def named_constants() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(slots).items()
        if name.isupper() and isinstance(value, str)
    }


def named_slots() -> frozenset[str]:
    return frozenset(named_constants().values()) | frozenset(slots.FACT_SLOTS)


def test_every_name_is_a_slot_of_the_domain():
    assert named_slots() - DOMAIN_SLOTS - RASA_SLOTS == set()


def test_every_slot_of_the_domain_the_actions_use_is_named():
    assert DOMAIN_SLOTS - named_slots() == ENTITY_ONLY_SLOTS


def test_the_fact_slots_are_the_contract_facts_the_dialogue_asks():
    assert set(slots.FACT_SLOTS) == set(FACTS) - slots.FACTS_WITHOUT_A_SLOT
    assert not slots.FACTS_WITHOUT_A_SLOT & DOMAIN_SLOTS


def test_each_constant_is_its_slot_name_in_capitals():
    assert all(name == value.upper() for name, value in named_constants().items())


def test_every_named_slot_is_used_by_an_action():
    source = "\n".join(path.read_text(encoding="utf-8") for path in ACTION_SOURCES)
    unused = [name for name in named_constants() if f"slots.{name}" not in source]
    assert unused == []


def test_the_application_fields_name_slots_the_actions_know():
    for field in fields():
        assert set(field.slots) <= named_slots(), field.key


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _written_out(tree: ast.AST) -> list[tuple[int, str]]:
    """Slot names as string literals where a slot is read or set: the argument of
    get_slot/SlotSet, a key of a dict of slot updates, an item of a list or tuple
    of slots. (A literal compared with, like a field key `f.key == "phone"`, an
    entity name, or a key of a message to the gateway (`json_message`, its own
    protocol) is not a slot and may stay.)"""
    compared = {
        id(item)
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        for item in node.comparators
    }
    to_the_gateway = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword) and node.arg == "json_message"
    }
    found: list[ast.expr | None] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called_name(node) in SLOT_CALLS and node.args:
            found.append(node.args[0])
        elif isinstance(node, ast.Dict) and id(node) not in to_the_gateway:
            found.extend(node.keys)
        elif isinstance(node, ast.List | ast.Tuple | ast.Set) and id(node) not in compared:
            found.extend(node.elts)
    return [
        (node.lineno, node.value)
        for node in found
        if isinstance(node, ast.Constant) and node.value in named_slots()
    ]


@pytest.mark.parametrize("path", ACTION_SOURCES, ids=lambda path: path.name)
def test_no_action_writes_a_slot_name_out(path):
    assert _written_out(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_the_check_finds_a_slot_name_written_out():
    code = 'tracker.get_slot("age")\nSlotSet("phone", None)\nx = {"county": 1}\ny = ("region",)'
    assert [name for _, name in _written_out(ast.parse(code))] == [
        "age",
        "phone",
        "county",
        "region",
    ]
    allowed = 'f.key == "phone" or f.key in ("id_number",)\nsay(json_message={"speech_rate": 1})'
    assert _written_out(ast.parse(allowed)) == []
