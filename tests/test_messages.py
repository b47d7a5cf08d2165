"""The gateway's sentences are all in bot/messages.py: the other modules of the
gateway hold Chinese only in what they listen for (words a person says, which
are compared, not said), never in what they say."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot import messages

BOT = Path(__file__).resolve().parent.parent / "bot"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# What the gateway listens for: the words a person may say, and how they are written.
HEARD = {
    "CANCEL_WORDS",
    "CALLBACK_WORDS",
    "OTHER_LAWYER_WORDS",
    "CODE_REQUEST_WORDS",
    "CODE_MESSAGE",
    "CONFIRM_MESSAGE",
    "DIGITS",
    "DIGIT_OF",
    "ALWAYS_EXPECTED",
    "SPOKEN_NUMBERS",
    "SPOKEN_DIGITS",
}
# Functions that write a number the way it is read out (幺 for 1).
READ_OUT = {"spoken_digits"}


def gateway_modules() -> list[Path]:
    return [
        path
        for path in sorted(BOT.rglob("*.py"))
        if path != Path(messages.__file__) and "console" not in path.parts
    ]


def said(tree: ast.Module) -> list[str]:
    """Chinese string constants that are neither docstrings nor words listened for."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        docstring = (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        listened = (
            isinstance(node, ast.Compare)
            or (isinstance(node, ast.Call) and ast.unparse(node.func).endswith(".startswith"))
            or (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id in HEARD for t in node.targets)
            )
            or (isinstance(node, ast.FunctionDef) and node.name in READ_OUT)
        )
        if docstring or listened:
            allowed |= {id(inner) for inner in ast.walk(node)}
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and CHINESE.search(node.value)
        and id(node) not in allowed
    ]


@pytest.mark.parametrize("path", gateway_modules(), ids=lambda p: str(p.relative_to(BOT.parent)))
def test_a_gateway_module_says_nothing_of_its_own(path):
    assert said(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_the_finder_finds_a_sentence():
    tree = ast.parse(
        'REPLY = "您好"\n'
        'CANCEL_WORDS = ("不等了",)\n'
        'ok = "回电" in heard\n'
        'reply(sender, f"已选择：{title}")\n'
    )
    assert said(tree) == ["您好", "已选择："]


def test_every_message_is_a_non_empty_text():
    texts = {name: value for name, value in vars(messages).items() if name.isupper()}
    assert texts
    for name, value in texts.items():
        values = value.values() if isinstance(value, dict) else [value]
        assert all(isinstance(v, str) and v.strip() for v in values), name
