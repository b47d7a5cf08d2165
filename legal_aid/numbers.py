"""Chinese numerals both ways: amounts and durations people say, numbers to speak.

Reading: "三千五" → 3500, "一万二" → 12000, "八千多块" → 8000, "两年多" → 730 days.
An approximate amount ("八千多", "十来天") is read as its round lower bound.
Speaking: 3500 → "三千五百", and a phone number digit by digit, "12348" → "一二三四八".
"""

from __future__ import annotations

import math
import re

DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "壹": 1,
    "贰": 2,
    "叁": 3,
    "肆": 4,
    "伍": 5,
    "陆": 6,
    "柒": 7,
    "捌": 8,
    "玖": 9,
}
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def ascii_digits(text: str) -> str:
    """Full-width digits (a Chinese keyboard's "２") as ASCII ones."""
    return text.translate(_FULLWIDTH_DIGITS)


SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000}

# Said after a number to make it approximate; the number itself is kept.
_APPROXIMATE_SUFFIX = re.compile(r"(?:多|余|来|左右|上下|出头)+$")
_ARABIC = re.compile(r"\d+(?:\.\d+)?")


def _tokens(text: str) -> list[tuple[str, float]] | None:
    """Splits a numeral into ("num", value), ("zero", 0), ("small"|"big", unit) tokens."""
    tokens: list[tuple[str, float]] = []
    i = 0
    while i < len(text):
        arabic = _ARABIC.match(text, i)
        if arabic:
            tokens.append(("num", float(arabic.group())))
            i = arabic.end()
            continue
        char = text[i]
        if char in ("零", "〇"):
            tokens.append(("zero", 0))
        elif char in DIGITS:
            tokens.append(("num", DIGITS[char]))
        elif char in SMALL_UNITS:
            tokens.append(("small", SMALL_UNITS[char]))
        elif char in BIG_UNITS:
            tokens.append(("big", BIG_UNITS[char]))
        else:
            return None
        i += 1
    return tokens


def _positional(tokens: list[tuple[str, float]]) -> float | None:
    """Three or more digits read one by one ("二零二三" → 2023), or one digit, or None."""
    if any(kind not in ("num", "zero") for kind, _ in tokens):
        return None
    if len(tokens) == 1:
        return float(tokens[0][1])
    if len(tokens) < 3:
        return None  # "三五" is "three or five", not 35
    if any(kind == "num" and (value != int(value) or value > 9) for kind, value in tokens):
        return None
    return float(int("".join(str(int(value)) for _, value in tokens)))


def _integer_part(text: str) -> float | None:
    tokens = _tokens(text)
    if not tokens:
        return None
    if not any(kind in ("small", "big") for kind, _ in tokens):
        if "两" in text or "俩" in text:
            return _positional(tokens) if len(tokens) == 1 else None
        return _positional(tokens)

    total = 0.0  # everything before the last 万 or 亿
    section = 0.0  # the part below 万 being built
    digit: float | None = None  # a number not yet multiplied by a unit
    previous = ""  # kind of the previous token
    last_unit = 0.0
    biggest_small = math.inf  # small units within a section must decrease
    for kind, value in tokens:
        if kind == "num":
            if previous == "num":
                return None  # "三五千": a range, not one number
            digit = value
        elif kind == "zero":
            if previous not in ("small", "big", "zero"):
                return None  # "零" only fills a gap after a unit: 一百零五
            digit = None
        elif kind == "small":
            if value >= biggest_small or previous == "small":
                return None
            if digit is None:
                digit = 1  # "十二", "一千零十"
            section += digit * value
            biggest_small = value
            digit = None
            last_unit = value
        else:  # big unit
            if previous == "big" and value == BIG_UNITS["万"]:
                return None
            section += digit or 0
            if section == 0 and total == 0:
                return None  # "万" alone
            if value == BIG_UNITS["亿"]:
                total = (total + section) * value
            else:
                total += section * value
            section = 0.0
            digit = None
            biggest_small = math.inf
            last_unit = value
        previous = kind
    if digit is not None:
        if (
            previous == "num"
            and last_unit
            and _last_two_kinds(tokens)
            in (
                ("small", "num"),
                ("big", "num"),
            )
        ):
            # "三千五" = 3500, "一万二" = 12000: the digit counts in the next unit down.
            digit *= last_unit / 10
        section += digit
    return total + section


def _last_two_kinds(tokens: list[tuple[str, float]]) -> tuple[str, str]:
    return (tokens[-2][0], tokens[-1][0]) if len(tokens) >= 2 else ("", tokens[-1][0])


def parse_chinese_number(text: str) -> float | None:
    """The value of a number written in Chinese or Arabic digits, or None.

    "三千五" → 3500, "一万二" → 12000, "两万" → 20000, "八千多" → 8000,
    "1.5万" → 15000, "一百零五" → 105, "一点五" → 1.5, "半" → 0.5.
    """
    text = "".join(text.split()).replace(",", "").replace("，", "")
    text = _APPROXIMATE_SUFFIX.sub("", text)
    if not text:
        return None
    if text in ("半", "一半"):
        return 0.5
    if "点" in text:
        whole, _, rest = text.partition("点")
        fraction = re.fullmatch(r"([零〇一二三四五六七八九]+)([万亿]?)", rest)
        if not fraction:
            return None
        integer = _integer_part(whole)
        if integer is None:
            return None
        decimals = float("0." + "".join(str(DIGITS[c]) for c in fraction.group(1)))
        return (integer + decimals) * BIG_UNITS.get(fraction.group(2), 1)
    return _integer_part(text)


_MONEY_PREFIX = re.compile(r"^(?:人民币|[¥￥])")
_MONEY_UNIT = re.compile(r"(?:块钱|元钱|块|元|圆)(?:整)?$")
_YUAN_JIAO = re.compile(r"^(.+?)(?:块|元)([一二两三四五六七八九\d])(?:毛|角)?(?:钱)?$")


def parse_money(text: str) -> float | None:
    """An amount of money in yuan: "3500元", "八千多块", "2万", "一万二", "三块五", or None."""
    text = "".join(text.split()).replace(",", "").replace("，", "")
    text = _MONEY_PREFIX.sub("", text)
    with_jiao = _YUAN_JIAO.match(text)
    if with_jiao:
        yuan = parse_chinese_number(with_jiao.group(1))
        jiao = parse_chinese_number(with_jiao.group(2))
        if yuan is None or jiao is None:
            return None
        return yuan + jiao / 10
    text = _MONEY_UNIT.sub("", text)
    text = _APPROXIMATE_SUFFIX.sub("", text)
    if not text:
        return None
    return parse_chinese_number(text)


DAYS_PER_UNIT = {
    "年": 365,
    "月": 30,
    "星期": 7,
    "礼拜": 7,
    "周": 7,
    "天": 1,
    "日": 1,
    "工作日": 1,
}
_NUMBER = r"[\d.零〇一二两俩三四五六七八九十百千几]+|半"
_DURATION_PART = re.compile(
    rf"(?P<number>{_NUMBER})"
    r"(?P<more>多|来|余)?"
    r"(?P<ge>个)?"
    r"(?P<more2>多|半)?"
    r"(?P<unit>工作日|星期|礼拜|年|月|周|天|日)"
    r"(?P<tail>多|半)?"
)


def parse_duration_days(text: str) -> int | None:
    """A length of time in days: "三个月" → 90, "两年多" → 730, "半年" → 182, or None.

    A month is 30 days and a year 365; "多"/"来" are dropped, "半" adds half a unit,
    and the result is rounded down. Parts may be joined: "一年零三个月" → 455.
    """
    text = "".join(text.split())
    text = re.sub(r"(?:左右|上下)$", "", text)
    if not text:
        return None
    total = 0.0
    position = 0
    while position < len(text):
        if position and text[position] in "零又":
            position += 1
        part = _DURATION_PART.match(text, position)
        if not part:
            return None
        number_text, unit = part.group("number"), part.group("unit")
        if number_text == "俩":
            number = 2.0
        else:
            number = parse_chinese_number(number_text)
        if number is None:
            return None
        # "三月" is March, not three months.
        if unit == "月" and not part.group("ge") and number_text not in ("半", "俩"):
            return None
        if part.group("more2") == "半" or part.group("tail") == "半":
            number += 0.5
        total += number * DAYS_PER_UNIT[unit]
        position = part.end()
    return int(total)


CHINESE_DIGITS = "零一二三四五六七八九"


def _section_to_chinese(n: int) -> str:
    """1 ≤ n ≤ 9999 in full, e.g. 1050 → 一千零五十, 10 → 一十."""
    parts: list[str] = []
    zero_pending = False
    for unit_value, unit_name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // unit_value % 10
        if digit == 0:
            if parts:
                zero_pending = True
            continue
        if zero_pending:
            parts.append("零")
            zero_pending = False
        parts.append(CHINESE_DIGITS[digit] + unit_name)
    return "".join(parts)


def number_to_chinese(n: int) -> str:
    """How a whole number is said: 3500 → 三千五百, 105 → 一百零五, 100000 → 十万."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"number_to_chinese needs an int, not {n!r}")
    if n == 0:
        return "零"
    if n < 0:
        return "负" + number_to_chinese(-n)
    if n >= 10**12:
        raise ValueError(f"number_to_chinese: {n} 太大（上限 999999999999）")
    sections: list[int] = []
    while n:
        sections.append(n % 10_000)
        n //= 10_000
    names = ["", "万", "亿"]
    words: list[str] = []
    zero_pending = False
    for index in range(len(sections) - 1, -1, -1):
        section = sections[index]
        if section == 0:
            if words:
                zero_pending = True
            continue
        # A gap inside the number is read as one 零: 10500 → 一万零五百.
        if words and (zero_pending or section < 1000):
            words.append("零")
        zero_pending = False
        words.append(_section_to_chinese(section) + names[index])
    text = "".join(words)
    # 10–19 at the head of the number are said without 一: 十二, 十万, not 一十万.
    if text.startswith("一十"):
        text = text[1:]
    return text


def digits_to_chinese(s: str) -> str:
    """Reads digits one by one, as for a phone number: "12348" → "一二三四八".

    Any other character (a hyphen, a space) is kept as it is.
    """
    return "".join(CHINESE_DIGITS[int(c)] if c in "0123456789" else c for c in s)
