"""The eligibility command (`python -m actions.eligibility`): facts (an object or a list) on stdin, assessments on stdout.

Exit status 2 for input that breaks the contract (bad JSON, unknown key, wrong
type), 1 for a broken rule file, so a caller can tell its own mistake from ours.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from legal_aid.eligibility.engine import assess
from legal_aid.eligibility.facts import FactError
from legal_aid.policy_data import PolicyDataError

BAD_INPUT = 2
BAD_DATA = 1


def run(stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Assess what stdin holds; the exit status."""
    try:
        facts = json.loads(stdin.read())
    except json.JSONDecodeError as error:
        print(f"输入不是合法的 JSON：{error}", file=stderr)
        return BAD_INPUT
    try:
        result = _assess_all(facts)
    except FactError as error:
        print(str(error), file=stderr)
        return BAD_INPUT
    except PolicyDataError as error:
        print(f"规则数据有误：{error}", file=stderr)
        return BAD_DATA
    json.dump(result, stdout, ensure_ascii=False, indent=2)
    stdout.write("\n")
    return 0


def _assess_all(facts: object) -> dict[str, Any] | list[dict[str, Any]]:
    if not isinstance(facts, list):
        return assess(facts)  # type: ignore[arg-type]  # check_facts rejects non-objects
    results = []
    for index, item in enumerate(facts):
        try:
            results.append(assess(item))
        except FactError as error:
            raise FactError(f"第 {index + 1} 项：{error}") from error
    return results


def main() -> int:
    """Entry point for the command."""
    return run(sys.stdin, sys.stdout, sys.stderr)
