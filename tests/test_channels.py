"""The one list of channel names (legal_aid/channels.py), and that nobody spells
a channel name of their own: the gateway, the actions, the store and Rasa's
extensions take every name from the list."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from legal_aid import channels
from legal_aid.channels import (
    CHANNELS,
    HOTLINE,
    KIOSK,
    NAMES,
    RECORDED,
    REST,
    SPOKEN,
    TELEGRAM,
    VOICE,
    WEB,
    WECHAT,
    rasa_input_of,
)
from store.figures import OTHER_CHANNEL, UNKNOWN_CHANNEL

PROJECT = Path(__file__).resolve().parent.parent
# Every package that hands channel names around.
USERS = ("bot", "actions", "store", "rasa_ext")
# The figures' buckets for a turn without a channel, or with a name not in the list.
NOT_CHANNELS = {UNKNOWN_CHANNEL, OTHER_CHANNEL}


def sources() -> Iterator[Path]:
    for package in USERS:
        yield from sorted((PROJECT / package).rglob("*.py"))


def mentions_channel(node: ast.AST) -> bool:
    return "channel" in ast.unparse(node).lower()


def strings_in(node: ast.AST) -> set[str]:
    """A string constant, or the strings of a literal set, tuple, list or frozenset(...)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Set | ast.Tuple | ast.List):
        return set().union(*(strings_in(item) for item in node.elts)) if node.elts else set()
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "frozenset" and node.args:
        return strings_in(node.args[0])
    return set()


def spelled_channels(tree: ast.AST) -> set[str]:
    """Strings a module uses as channel names: passed as `channel=`, put under a
    "channel" key, compared with a channel, a `channel` parameter's default, or
    assigned to a name that says CHANNEL."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "channel":
            found |= strings_in(node.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "channel":
                    found |= strings_in(value)
        elif isinstance(node, ast.Compare) and mentions_channel(node.left):
            for right in node.comparators:
                found |= strings_in(right)
        elif isinstance(node, ast.BoolOp) and mentions_channel(node):
            for value in node.values[1:]:
                found |= strings_in(value)
        elif isinstance(node, ast.arguments):
            named = [*node.posonlyargs, *node.args]
            defaults = dict(
                zip(named[len(named) - len(node.defaults) :], node.defaults, strict=True)
            )
            defaults |= {a: d for a, d in zip(node.kwonlyargs, node.kw_defaults, strict=True) if d}
            for argument, default in defaults.items():
                if argument.arg == "channel":
                    found |= strings_in(default)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and any("CHANNEL" in ast.unparse(t) for t in targets):
                found |= strings_in(node.value)
    return found


@pytest.mark.parametrize("path", list(sources()), ids=lambda p: str(p.relative_to(PROJECT)))
def test_every_channel_a_module_uses_is_in_the_list(path):
    spelled = spelled_channels(ast.parse(path.read_text(encoding="utf-8"))) - NOT_CHANNELS
    assert spelled <= NAMES, f"not channels of legal_aid/channels.py: {spelled - NAMES}"
    assert not spelled, f"spelled here instead of taken from legal_aid/channels.py: {spelled}"


def test_the_finder_finds_a_spelled_channel():
    tree = ast.parse(
        'turns.handle(s, m, channel="fax")\n'
        'meta = {"channel": "pager"}\n'
        'ok = channel in {"telex"}\n'
        "def f(channel='smoke'): ...\n"
        'MY_CHANNELS = frozenset({"pigeon"})\n'
    )
    assert spelled_channels(tree) == {"fax", "pager", "telex", "smoke", "pigeon"}


def test_the_names_are_unique_and_the_constants_are_the_list():
    assert len(NAMES) == len(CHANNELS)
    constants = {v for v in vars(channels).values() if isinstance(v, channels.Channel)}
    assert constants == set(CHANNELS)


def test_spoken_channels_are_answered_on_rasas_voice_channel():
    assert SPOKEN == {VOICE.name, KIOSK.name, HOTLINE.name}
    assert {rasa_input_of(c.name) for c in CHANNELS if c.spoken} == {VOICE.name}
    assert {rasa_input_of(c.name) for c in CHANNELS if not c.spoken} == {REST.name}


def test_what_is_recorded_is_rasas_input_channel_or_the_channel_named():
    assert RECORDED == {"rest", "voice", "telegram", "wechat", "hotline"}
    assert WEB.name not in RECORDED and KIOSK.name not in RECORDED


def test_sender_ids_carry_the_channel():
    assert TELEGRAM.sender("4242") == "telegram:4242"
    assert TELEGRAM.local_id("telegram:4242") == "4242"
    assert TELEGRAM.local_id(WECHAT.sender("o4242")) is None
    assert WEB.local_id("web-77ab01") is None  # the page chooses its own ids
    prefixes = [c.sender_prefix for c in CHANNELS if c.sender_prefix]
    assert len(set(prefixes)) == len(prefixes)


def test_pushed_channels_are_the_messengers_and_polling_ones_the_pages():
    assert {c.name for c in CHANNELS if c.push} == {TELEGRAM.name, WECHAT.name}
    assert {c.name for c in CHANNELS if c.polling} == {WEB.name, REST.name}
    assert not any(c.push and c.polling for c in CHANNELS)
