"""Reads a person's answer to one eligibility question as the value of its fact.

People answer in their own words: "没有", "对", "六十八岁", "一千二左右",
"两千五百块", "二级", "重度", "我是受害人", "一九五四年三月五号", "在北京".
The words for choices and yes/no live in policy/answers.yml and
policy/vocabulary.yml; numbers go through legal_aid.numbers, the one reader of
Chinese numerals; places through legal_aid.places. None means "not
understood", and the dialogue asks again.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import Any

from legal_aid.eligibility.facts import FACTS
from legal_aid.numbers import DIGITS, parse_chinese_number, parse_duration_days, parse_money
from legal_aid.places import most_specific_place
from legal_aid.policy_data import load_policy_file
from legal_aid.times import china_today

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
_NUMERAL = r"[\d零〇一二两三四五六七八九十]+"
# "1954年3月5日", "一九五四年三月五号", "54年3月", "1954-03-05", "1954.3.5".
_BIRTH_DATE = re.compile(
    rf"(?P<year>{_NUMERAL})\s*[年\-./]\s*(?P<month>{_NUMERAL})\s*[月\-./]?\s*"
    rf"(?:(?P<day>{_NUMERAL})\s*[日号]?)?"
)
# "一个也没有", "一个都没有", "没有一个": none at all, though a 一 is in it.
_NOT_ONE = re.compile(r"[一1]个?(?:也|都)(?:没|不)|没有?一个")
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


def parse_birth_date(text: str, today: date | None = None) -> str | None:
    """The date of birth said ("一九五四年三月五号") as YYYY-MM-DD, or None.

    Without the day ("1954年3月") the first of the month is taken, unless the
    month is this month: only then can the day decide whether a birthday has
    passed, and the answer is not understood (the question comes again).
    """
    found = _BIRTH_DATE.search("".join(text.split()))
    if not found:
        return None
    today = today or china_today()
    year = _year(found.group("year"), today)
    month = _whole_number(found.group("month"))
    day = _whole_number(found.group("day")) if found.group("day") else None
    if year is None or month is None or (day is None and month == today.month):
        return None
    try:
        born = date(year, month, day or 1)
    except ValueError:
        return None
    return born.isoformat() if born <= today else None


def _year(said: str, today: date) -> int | None:
    """A year said in full ("一九五四", "1954") or by its last two digits ("五四年", "54年")."""
    digits = "".join(str(DIGITS[c]) if c in DIGITS else c for c in said)
    if not digits.isdigit():
        return None
    if len(digits) == 2:
        century = today.year // 100 * 100
        year = century + int(digits)
        return year if year <= today.year else year - 100
    return int(digits) if len(digits) == 4 else None


def _whole_number(said: str) -> int | None:
    value = parse_chinese_number(said)
    return int(value) if value is not None and value == int(value) else None


def is_own_claim(story: str) -> bool:
    """Whether an elderly person's story of support payments, told with their own
    age, is their own claim ("我七十五了，女儿不管我"): unless it names someone
    else's (policy/answers.yml own_claim_unless: 抚养, 孙, 替…)."""
    return not any(word in story for word in _answer_words()["own_claim_unless"])


def parse_case_location(text: str, home: str | None) -> str | None:
    """Where the case is: a place named, or `home` (the person's own place or
    region) when they say it is there ("本地"); None when not understood."""
    place = most_specific_place(text)
    if place is not None:
        return place.name
    if home is not None and any(word in text for word in _answer_words()["same_place"]):
        return home
    return None


def grouped_facts(fact: str) -> tuple[str, ...]:
    """The facts asked together with `fact` (policy/answers.yml grouped_questions), or ()."""
    return tuple(_answer_words()["grouped_questions"].get(fact, {}))


def parse_grouped_answer(fact: str, text: str, intent: str | None = None) -> dict[str, bool] | None:
    """The answer to a question that asks several facts at once: the one named
    is true (and, where they exclude each other, the others false); "都不是",
    or one named in the negative ("不是低保户"), makes them all false. A bare
    "是" is the first, where the question asks whether any applies
    (policy/answers.yml grouped_not_exclusive)."""
    words = _answer_words()["grouped_questions"][fact]
    exclusive = fact not in _answer_words()["grouped_not_exclusive"]
    affirmed, denied = _without_denied(text, words)
    named = longest_match(affirmed, words)
    if named is not None:
        return {name: name == named for name in words} if exclusive else {named: True}
    yes = parse_yes_no(text, intent)
    if denied or yes is False:
        return dict.fromkeys(words, False)
    if yes and not exclusive:
        return {next(iter(words)): True}
    return None


def _without_denied(text: str, words_by_value: dict[str, list[str]]) -> tuple[str, bool]:
    """The text without what it denies ("不是低保户，是特困" → "，户，是特困"),
    and whether it denied any of the words."""
    words = sorted({w for ws in words_by_value.values() for w in ws}, key=len, reverse=True)
    denial = re.compile(
        r"(?:不是|没有|没|不|非)[^，。,；;？?]{0,2}?(?:" + "|".join(map(re.escape, words)) + ")"
    )
    affirmed, count = denial.subn("，", text)
    return affirmed, count > 0


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
    if fact in COUNT_FACTS and _NOT_ONE.search(text):
        return 0.0
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
    if fact == "birth_date":
        return parse_birth_date(text)
    if kind == "bool":
        return parse_yes_no(text, intent)
    if kind in ("int", "number"):
        value = parse_number(fact, text)
        if value is None:
            return None
        return int(value) if kind == "int" else float(value)
    choices = _answer_words()["choices"].get(fact, {})
    return longest_match(text, choices)
