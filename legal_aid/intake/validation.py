"""Reads and checks the answers given while applying: phone, ID number, certificate, name.

People answer in words, typed or recognised from speech: "138 1234 5678",
"幺三八幺二三四五六七八", "我叫王小明", "一一零一零五……叉". Each `parse_*`
returns the value in one plain form (digits only; an ID number's X upper case),
or None when the answer holds nothing of the kind, so the dialogue asks again.
Each `*_problem` says politely, in Chinese, what is wrong with a value that was
heard, or None when it is right.

Digits come from legal_aid.numbers (the one reader of Chinese numerals); the
words only people use for numbers, names and choices live in
policy/intake_answers.yml; yes/no and "不想说" are legal_aid.eligibility.answers'.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import cache
from typing import Any

from legal_aid.eligibility.answers import is_decline, parse_yes_no
from legal_aid.numbers import CHINESE_DIGITS, DIGITS
from legal_aid.policy_data import load_policy_file

# ---- the words ---------------------------------------------------------------


@cache
def _words() -> dict[str, Any]:
    return load_policy_file("intake_answers.yml")


@cache
def _digit_of() -> dict[str, str]:
    """Every character that stands for one digit when a number is read out."""
    spoken = {char: str(value) for char, value in DIGITS.items()}
    spoken.update({char: str(value) for char, value in _words()["digits"]["extra"].items()})
    spoken.update({str(n): str(n) for n in range(10)})
    return spoken


# Marks people put between the groups of a number, written or recognised.
_SEPARATOR_CHARS = frozenset(" \t-—–_.,，、·/()（）+")


def _number_runs(text: str, allow_x: bool) -> list[str]:
    """The numbers read out in a text, digits only (and X), in the order said.

    Spaces, hyphens and spoken separators ("杠") inside a number are dropped;
    anything else ends it. "X" is kept only where an ID number may end in it.
    """
    text = unicodedata.normalize("NFKC", text)
    words = _words()["digits"]
    for separator in sorted(words["separators"], key=len, reverse=True):
        text = text.replace(separator, " ")
    if allow_x:
        for spoken_x in sorted(words["letter_x"], key=len, reverse=True):
            text = text.replace(spoken_x, "X")
        text = text.replace("x", "X")
    runs: list[str] = []
    current = ""
    for char in text:
        if char in _digit_of():
            current += _digit_of()[char]
        elif allow_x and char == "X":
            current += "X"
        elif char in _SEPARATOR_CHARS:
            continue
        else:
            if current:
                runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


# ---- phone numbers -----------------------------------------------------------

_MOBILE = re.compile(r"1[3-9]\d{9}")
# Area codes 010 and 020–029 have three digits and are followed by 8 digits;
# every other area code (0351, 0472 …) has four, followed by 7 or 8 digits.
_LANDLINE = re.compile(r"0[12]\d\d{8}|0[3-9]\d{2}\d{7,8}")
_COUNTRY_CODES = ("0086", "86")


def _without_country_code(digits: str) -> str:
    """'8613812345678' → '13812345678': +86 or 0086 said or typed in front of a number."""
    for code in _COUNTRY_CODES:
        if not digits.startswith(code):
            continue
        rest = digits[len(code) :]
        if is_mobile(rest) or is_landline(rest):
            return rest
        if is_landline("0" + rest):
            # From abroad a landline is dialled without its 0: +86 351 …
            return "0" + rest
    return digits


def is_mobile(digits: str) -> bool:
    return bool(_MOBILE.fullmatch(digits))


def is_landline(digits: str) -> bool:
    return bool(_LANDLINE.fullmatch(digits))


def parse_phone(text: str) -> str | None:
    """The first mainland mobile or landline number in the answer, digits only, or None.

    "138 1234 5678", "+86 138-1234-5678", "幺三八幺二三四五六七八",
    "零三五一 杠 一二三四五六七" and mixtures of these all work.
    """
    for run in _number_runs(text, allow_x=False):
        digits = _without_country_code(run)
        if is_mobile(digits) or is_landline(digits):
            return digits
    return None


def _area_code_length(digits: str) -> int:
    return 3 if digits[1] in "12" else 4


def phone_groups(digits: str) -> list[str]:
    """How the number is written and said in parts: 138|1234|5678, 0351|123|4567.

    A mobile is 3-4-4. A landline is its area code, then the local number in
    groups of four, a 7-digit local number as 3-4 (the way it is printed).
    """
    if is_mobile(digits):
        return [digits[:3], digits[3:7], digits[7:]]
    if is_landline(digits):
        split = _area_code_length(digits)
        area, local = digits[:split], digits[split:]
        first = len(local) - 4
        return [area, local[:first], local[first:]]
    return [digits]


def phone_grouped(digits: str) -> str:
    """For the eye: "138 1234 5678", "0351 123 4567"."""
    return " ".join(phone_groups(digits))


def phone_for_readback(digits: str, one: str = "幺") -> str:
    """For the ear: "幺三八，幺二三四，五六七八" — each digit, a pause between groups.

    1 is read 幺 by default. Read back to confirm a number, 一 (yī) and 七 (qī)
    differ only in their first sound and are easily confused on a phone line or
    through a synthesiser; 幺 is how people in China say 1 in phone numbers for
    exactly that reason (operators and 114 do), so a caller checking digit by
    digit can tell them apart. Service numbers that are announced (12348) keep
    一, as voice/normalise.py says. Pass one="一" where a text must read 一.
    """
    spoken_groups = []
    for group in phone_groups(digits):
        spoken = "".join(CHINESE_DIGITS[int(d)] for d in group)
        spoken_groups.append(spoken.replace("一", one))
    return "，".join(spoken_groups)


# ---- ID numbers (GB 11643-1999) -------------------------------------------------

ID_LENGTH = 18
# ISO 7064 MOD 11-2: weight of position i (from the left) is 2^(17-i) mod 11.
_ID_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))
_CHECK_CHARACTERS = "10X98765432"
# A run shorter than this is an age or an amount, not an attempt at a number.
_MIN_NUMBER_LENGTH = 10


def id_check_character(first_17: str) -> str:
    """The 18th character that GB 11643 computes from the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first_17, _ID_WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def _longest_run(text: str) -> str | None:
    runs = _number_runs(text, allow_x=True)
    longest = max(runs, key=len, default="")
    return longest if len(longest) >= _MIN_NUMBER_LENGTH else None


def parse_id_number(text: str) -> str | None:
    """The ID number said or typed, digits and an upper-case X, or None.

    Spoken forms count: "一一零一零五一九四九一零零一一二三叉". A number of the
    wrong length is still returned (10 characters or more), so that
    `id_number_problem` can say what is wrong with it instead of asking blindly.
    """
    return _longest_run(text)


def _birth_date_or_none(id_number: str) -> date | None:
    digits = id_number[6:14]
    if not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def id_number_problem(id_number: str, today: date | None = None) -> str | None:
    """What is wrong with an ID number, said politely in Chinese; None when it is valid."""
    today = today or date.today()
    if len(id_number) != ID_LENGTH:
        if len(id_number) == 15 and id_number.isdigit():
            return "这像是老的15位身份证号码。现在用的是18位的号码，麻烦您看一下身份证，再说一遍。"
        return (
            f"身份证号码应该是18位，我听到的是{len(id_number)}位，可能少听或多听了几位。"
            "麻烦您对着身份证，慢慢再说一遍。"
        )
    if not id_number[:17].isdigit() or not re.fullmatch(r"[0-9X]", id_number[17]):
        return "身份证号码前17位都是数字，只有最后一位可能是字母X。麻烦您再说一遍。"
    birth = _birth_date_or_none(id_number)
    if birth is None or birth.year < 1900 or birth > today:
        return (
            "身份证号码的第7到第14位是出生日期，我听到的这几位不是一个真实的日期，"
            "可能有一位听错了。麻烦您再说一遍。"
        )
    if id_check_character(id_number[:17]) != id_number[17]:
        return (
            "这个身份证号码的最后一位（校验码）和前面的数字对不上，"
            "可能有一位数字听错或记错了。麻烦您对着身份证，慢慢再说一遍。"
        )
    return None


def birth_date_from_id(id_number: str) -> date:
    """The holder's birth date, from characters 7–14 (YYYYMMDD)."""
    birth = _birth_date_or_none(id_number)
    if birth is None:
        raise ValueError("身份证号码里没有有效的出生日期")
    return birth


def age_on(birth: date, today: date) -> int:
    """Whole years of age (周岁) on a day: the birthday itself counts.

    Someone born on 29 February turns a year older on 1 March in other years.
    """
    before_birthday = (today.month, today.day) < (birth.month, birth.day)
    return today.year - birth.year - int(before_birthday)


# ---- disability certificates (第二代残疾人证) ---------------------------------

CERTIFICATE_LENGTH = 20
# The 19th digit: category of disability, as the eligibility facts name them.
CERTIFICATE_CATEGORIES = {
    "1": "visual",
    "2": "hearing",
    "3": "speech",
    "4": "physical",
    "5": "intellectual",
    "6": "mental",
    "7": "multiple",
}
_CATEGORY_NAMES = "1视力、2听力、3言语、4肢体、5智力、6精神、7多重"


def parse_disability_certificate(text: str) -> str | None:
    """The 残疾人证 number said or typed (ID number + category + grade), or None."""
    return _longest_run(text)


def certificate_problem(
    certificate: str, holder_id: str | None = None, today: date | None = None
) -> str | None:
    """What is wrong with a 残疾人证 number, in Chinese; None when it is valid.

    The second-generation certificate number is the holder's 18-character ID
    number, then one digit for the category (1–7) and one for the grade (1–4).
    Give `holder_id` to check that the certificate belongs to that person.
    """
    if len(certificate) != CERTIFICATE_LENGTH:
        if len(certificate) == ID_LENGTH:
            return (
                "您说的是18位，像是身份证号码。残疾证号是身份证号码后面再加两位数字"
                "（残疾类别和等级），一共20位。麻烦您看一下残疾证，再说一遍。"
            )
        return (
            f"残疾证号应该是20位，我听到的是{len(certificate)}位。麻烦您对着残疾证，慢慢再说一遍。"
        )
    id_problem = id_number_problem(certificate[:ID_LENGTH], today)
    if id_problem:
        return "残疾证号的前18位就是持证人的身份证号码，这部分有问题：" + id_problem
    category, grade = certificate[18], certificate[19]
    if category not in CERTIFICATE_CATEGORIES:
        return (
            f"残疾证号的第19位是残疾类别，应该是1到7（{_CATEGORY_NAMES}），"
            f"我听到的是{category}。麻烦您再说一遍。"
        )
    if grade not in "1234":
        return f"残疾证号的最后一位是残疾等级，应该是1到4，我听到的是{grade}。麻烦您再说一遍。"
    if holder_id and certificate[:ID_LENGTH] != holder_id:
        return "残疾证号的前18位应该和持证人的身份证号码一样，现在对不上。麻烦您核对一下。"
    return None


def certificate_category_and_grade(certificate: str) -> tuple[str, int]:
    """("visual", 1) from a valid certificate number: the facts the engine asks for."""
    return CERTIFICATE_CATEGORIES[certificate[18]], int(certificate[19])


# ---- names -----------------------------------------------------------------------

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff"
_HAN_NAME = re.compile(rf"[{_HAN}]+(?:·[{_HAN}]+)*")
# Latin letters, accented ones too (García, Nguyễn is Latin Extended Additional).
_LATIN_LETTER = r"A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_LATIN_NAME = re.compile(rf"[{_LATIN_LETTER}][{_LATIN_LETTER}.'\- ]*[{_LATIN_LETTER}.]")
# Dots people type between the parts of a minority name: 阿依古丽·买买提.
_NAME_DOTS = re.compile(rf"(?<=[{_HAN}])\s*[•・‧.．。·]\s*(?=[{_HAN}])")
_SPACES_BETWEEN_HAN = re.compile(rf"(?<=[{_HAN}])\s+(?=[{_HAN}])")
_EDGE_PUNCTUATION = " \t\n。.!！~～,，、；;：:？?\"'“”‘’"
# A marker is looked for only this far into the answer, not inside the name.
_MARKER_REACH = 8
MAX_NAME_LENGTH = 20
MAX_LATIN_NAME_LENGTH = 40


def _after_marker(text: str, markers: list[str]) -> str:
    """The text after the first naming phrase ("我叫", "名字是") near its start."""
    best: tuple[int, int] | None = None  # (start, -length): earliest, then longest
    for marker in markers:
        start = text.lower().find(marker.lower())
        if 0 <= start <= _MARKER_REACH and (best is None or (start, -len(marker)) < best):
            best = (start, -len(marker))
    if best is None:
        return text
    start, negative_length = best
    return text[start - negative_length :]


def _strip_edges(text: str, fillers: list[str], particles: list[str]) -> str:
    changed = True
    while changed:
        before = text
        text = text.strip(_EDGE_PUNCTUATION)
        for filler in fillers:
            if text.startswith(filler):
                text = text[len(filler) :]
        for particle in particles:
            if text.endswith(particle):
                text = text[: -len(particle)]
        changed = text != before
    return text


def _is_yes_no_word(text: str) -> bool:
    words = load_policy_file("answers.yml")["yes_no"]
    return text in words["affirmative"] or text in words["negative"]


def parse_name(text: str) -> str | None:
    """The person's name from "我叫王小明", "王 小明", "阿依古丽·买买提", "John Smith".

    2–20 characters of Han (with · between the parts of a minority name) or a
    Latin name; None for digits, questions and other sentences that are not a name.
    """
    words = _words()["names"]
    text = unicodedata.normalize("NFKC", text).strip()
    if not text or is_decline(text) or any(c.isdigit() for c in text):
        return None
    # Speech recognisers put spaces between words: "我 叫 王 小明".
    text = _SPACES_BETWEEN_HAN.sub("", text)
    text = _strip_edges(text, words["fillers"], words["particles"])
    text = _after_marker(text, words["markers"])
    text = _after_marker(text, words["latin_markers"])
    text = _strip_edges(text, words["fillers"], words["particles"])
    text = _NAME_DOTS.sub("·", text)
    if _is_yes_no_word(text) or any(w in text for w in words["not_name_words"]):
        return None
    if _HAN_NAME.fullmatch(text) and 2 <= len(text) <= MAX_NAME_LENGTH:
        return text
    text = " ".join(text.split())
    letters = sum(c.isalpha() for c in text)
    if _LATIN_NAME.fullmatch(text) and letters >= 2 and len(text) <= MAX_LATIN_NAME_LENGTH:
        return text
    return None


# ---- choices: accessibility needs, contact preference ---------------------------

ACCESSIBILITY_NEEDS = ("voice_call", "large_print", "sign_language", "braille", "home_visit")
CONTACT_PREFERENCES = ("phone", "wechat", "telegram")


def _mentions(text: str, words_by_value: dict[str, list[str]]) -> list[tuple[int, int, str]]:
    """(start, end, value) of each word found, longer words winning where they overlap."""
    found = []
    lowered = text.lower()
    for value, words in words_by_value.items():
        for word in words:
            start = lowered.find(word.lower())
            while start != -1:
                found.append((start, start + len(word), value))
                start = lowered.find(word.lower(), start + 1)
    found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
    taken = [False] * len(text)
    chosen = []
    for start, end, value in found:
        if not any(taken[start:end]):
            taken[start:end] = [True] * (end - start)
            chosen.append((start, end, value))
    return sorted(chosen)


def _is_negated(text: str, start: int) -> bool:
    """ "不要上门", "不用手语": a negation just before the word (a 都/也 may come between)."""
    before = re.sub(r"[都也还就]+$", "", text[:start])
    return any(before.endswith(word) for word in _words()["negations"])


def _chosen_values(text: str, words_by_value: dict[str, list[str]]) -> list[str]:
    """The values named and not refused, in the order they were said, once each."""
    values: list[str] = []
    for start, _, value in _mentions(text, words_by_value):
        if not _is_negated(text, start) and value not in values:
            values.append(value)
    return values


def parse_accessibility_needs(text: str) -> tuple[str, ...] | None:
    """The help the person needs, in a fixed order; () for "不需要"; None if not understood."""
    text = "".join(text.split())
    named = _chosen_values(text, _words()["accessibility_needs"])
    if named:
        return tuple(need for need in ACCESSIBILITY_NEEDS if need in named)
    # Only now: "走路不方便" names a need, though "不方便" alone declines to answer.
    if is_decline(text):
        return None
    if parse_yes_no(text) is False:
        return ()
    return None


def parse_contact_preference(text: str) -> str | None:
    """phone / wechat / telegram: the first way of contact named and not refused."""
    text = "".join(text.split())
    named = _chosen_values(text, _words()["contact_preferences"])
    return named[0] if named else None
