"""Reads a person's answer to one eligibility question as the value of its fact.

People answer in their own words: "没有", "对", "六十八岁", "一千二左右",
"两千五百块", "二级", "重度", "我是受害人". The words for choices and yes/no
live in policy/answers.yml and policy/vocabulary.yml; numbers go through
legal_aid.numbers, the one reader of Chinese numerals. None means "not
understood", and the dialogue asks again.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from legal_aid.eligibility.facts import FACTS
from legal_aid.numbers import parse_chinese_number, parse_duration_days, parse_money
from legal_aid.policy_data import load_policy_file

# Facts whose number is an amount of money, a count of days, or of people/years.
MONEY_FACTS = frozenset(
    {"income_per_capita_monthly", "local_minimum_living_standard_monthly", "inheritance_amount"}
)
DAYS_FACTS = frozenset({"days_to_deadline"})
COUNT_FACTS = frozenset({"household_disabled_count"})
# The number inside a longer answer: "我今年六十八岁了" → "六十八".
# "第一次" is an order, not a count or an age.
_NUMBER_IN_TEXT = re.compile(r"(?<!第)[\d.,零〇一二两俩三四五六七八九十百千万亿]+(?:多|来)?")
_MONEY_IN_TEXT = re.compile(
    r"[\d.,零〇一二两俩三四五六七八九十百千万亿]+(?:多|来)?(?:块钱|元钱|块|元)?[一二两三四五六七八九]?"
)
_DURATION_IN_TEXT = re.compile(
    r"(?:[\d.零〇一二两俩三四五六七八九十百千几]+|半)[多来余]?个?[多半]?(?:工作日|星期|礼拜|年|月|周|天|日)[多半]?"
)
# "没有收入" is an income of 0, not a refusal.
_NO_INCOME = re.compile(r"没(?:有)?(?:收入|钱|工作|进项)|一分(?:钱)?都没")


@cache
def _answer_words() -> dict[str, Any]:
    return load_policy_file("answers.yml")


def longest_match(text: str, words_by_value: dict[Any, list[str]]) -> Any:
    """The value whose word is the longest one found in the text, or None."""
    best, best_length = None, 0
    for value, words in words_by_value.items():
        for word in words:
            if word in text and len(word) > best_length:
                best, best_length = value, len(word)
    return best


def is_decline(text: str) -> bool:
    """ "不想说", "不知道": the person gives no answer to this question."""
    return any(word in text for word in _answer_words()["declines"])


def parse_yes_no(text: str, intent: str | None = None) -> bool | None:
    """是/对/有 → True, 没有/不是/不 → False; else the intent (a button's /affirm, /deny).

    The words come first: a one-word "有" is easily taken for another intent,
    but its meaning is not in doubt.
    """
    if is_decline(text):
        return None
    words = _answer_words()["yes_no"]
    answer = longest_match(text, {False: words["negative"], True: words["affirmative"]})
    if answer is not None:
        return answer
    return {"affirm": True, "deny": False}.get(intent or "")


def parse_disability_categories(text: str) -> list[str] | None:
    """Every category named ("盲人" → visual); 没有/不是 → [] (not disabled)."""
    vocabulary = load_policy_file("vocabulary.yml")["disability_categories"]
    named = [c for c, words in vocabulary.items() if any(w in text for w in words)]
    if named:
        return named
    return [] if parse_yes_no(text) is False else None


def parse_disability_grade(text: str) -> int | None:
    grades = {int(k): v for k, v in _answer_words()["disability_grades"].items()}
    return longest_match(text, grades)


def parse_number(fact: str, text: str) -> float | None:
    """The amount, count or number of days the answer names."""
    text = "".join(text.split())
    if fact in DAYS_FACTS:
        found = _DURATION_IN_TEXT.search(text)
        return parse_duration_days(found.group(0)) if found else None
    if fact in MONEY_FACTS:
        if _NO_INCOME.search(text):
            return 0.0
        found = _MONEY_IN_TEXT.search(text)
        return parse_money(found.group(0)) if found else None
    found = _NUMBER_IN_TEXT.search(text)
    if found:
        return parse_chinese_number(found.group(0))
    # "家里还有别的残疾人吗？" "没有" is a count of none; "没有" is no age.
    if fact in COUNT_FACTS and parse_yes_no(text) is False:
        return 0.0
    return None


def parse_answer(fact: str, text: str, intent: str | None = None) -> Any:
    """The fact's value in the contract's type, or None when not understood."""
    kind = FACTS[fact].kind
    text = text.strip()
    if fact == "disability_categories":
        return parse_disability_categories(text)
    if fact == "disability_grade":
        return parse_disability_grade(text)
    if kind == "bool":
        return parse_yes_no(text, intent)
    if kind in ("int", "number"):
        value = parse_number(fact, text)
        if value is None:
            return None
        return int(value) if kind == "int" else float(value)
    choices = _answer_words()["choices"].get(fact, {})
    return longest_match(text, choices)
