"""Text for the ear: the one normaliser every spoken reply goes through.

A reply written for the eye carries things a listener cannot hear or that a
synthesiser reads wrongly: Arabic numbers ("3500元"), hotlines ("12348"),
dates, document numbers ("晋司通〔2022〕35号"), brackets, quotes, emoji, URLs,
bullet lists and buttons. `normalise` turns all of that into plain Mandarin:

    normalise("每月3500元以下，请拨打12348。")  →  "每月三千五百元以下，请拨打一二三四八。"
    normalise("您是农民工吗？", [{"title": "是"}, {"title": "不是"}])
        →  "您是农民工吗？说一，或者按一：是；说二，或者按二：不是。"

The output holds only Chinese characters, Latin letters of reference codes and
the pauses ，、；：。？！, so running it twice changes nothing. Numbers are
spoken with legal_aid/numbers.py, the project's one writer of Chinese numerals.
Service numbers are read with 一, not 幺: that is how 12348 is announced.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from legal_aid.numbers import digits_to_chinese, number_to_chinese

# Hotlines and emergency numbers read digit by digit wherever they appear
# without a unit after them ("拨打110", "12348热线"), so that "120" the
# ambulance is never "一百二十". policy/safety.yml and the contacts use these.
SERVICE_NUMBERS = frozenset(
    {
        "110",
        "119",
        "120",
        "122",
        "114",
        "12110",
        "12309",
        "12315",
        "12320",
        "12333",
        "12338",
        "12345",
        "12348",
        "12351",
        "12355",
        "12356",
        "12368",
        "96110",
    }
)
# Words before a number that make it something to dial, not an amount.
_DIAL_WORDS = ("拨打", "打", "电话", "热线", "致电", "呼叫", "拨", "号码", "手机", "联系")
# Characters after a number that make it an amount: "120元", "110天", "12348人".
_UNIT_AFTER = "元块角万亿千百岁周年月日天个人次件种位名条款项号倍小分秒级斤公米克户间套张份本"
# Measure words after which 2 is 两: "2个月" → 两个月, "2年" → 两年, but "2月" is February.
_LIANG_BEFORE = ("个", "种", "位", "人", "次", "天", "年", "件", "项", "条", "张", "份", "周")

PAUSES = "，、；：。？！"
_STRONG_PAUSES = "。？！"
_PAUSE_RANK = {"、": 0, "，": 1, "：": 2, "；": 3, "。": 4, "？": 5, "！": 5}

_URL = re.compile(r"(?:https?://|www\.)[^\s，。；！？、）)\]】》\u4e00-\u9fff]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_BULLET = re.compile(
    r"^\s*(?:[-*·•●○◦▪■□◆◇▶►→✓✔☑]+|(?P<number>\d{1,2})[.、．)）](?!\d)|[（(](?P<bracketed>\d{1,2})[）)]"
    r"|[①②③④⑤⑥⑦⑧⑨⑩])\s*"
)
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"


def normalise(text: str, buttons: Iterable[Mapping[str, Any] | str] | None = None) -> str:
    """The reply as it should be spoken: plain Mandarin, its buttons read as choices."""
    spoken = _text_for_ear(text or "")
    choices = _buttons_for_ear(buttons or ())
    if choices:
        spoken = _join_sentences(spoken, choices)
    return spoken


def reply_for_ear(message: Mapping[str, Any]) -> str:
    """A Rasa bot message ({"text": …, "buttons": […]}) as it should be spoken."""
    return normalise(message.get("text") or "", message.get("buttons"))


def _text_for_ear(text: str) -> str:
    text = text.translate(_FULLWIDTH_DIGITS)
    text = _URL.sub("", text)
    text = _EMAIL.sub("", text)
    text = _lines_for_ear(text)
    text = _TYPOGRAPHIC_SPACE.sub("", text)
    text = _citations_for_ear(text)
    text = _numbers_for_ear(text)
    text = _symbols_for_ear(text)
    return _tidy_pauses(text)


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９％", "0123456789%")
# A space between a Chinese word and a number or code is only typography.
_TYPOGRAPHIC_SPACE = re.compile(
    r"(?<=[\u4e00-\u9fff])[ \t\u3000]+(?=[\dA-Za-z¥￥])|(?<=[\dA-Za-z%])[ \t\u3000]+(?=[\u4e00-\u9fff])"
)


# Lists and line breaks -------------------------------------------------------


def _lines_for_ear(text: str) -> str:
    """Joins lines into sentences; list items lose their bullets, numbers become 第一, 第二."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    spoken: list[str] = []
    for index, line in enumerate(lines):
        line, is_item = _without_bullet(line)
        if line and line[-1] not in PAUSES and index + 1 < len(lines):
            # Items of one list are separated by a short pause, other lines end a sentence.
            next_is_item = _without_bullet(lines[index + 1])[1]
            line += "，" if is_item and next_is_item else "。"
        spoken.append(line)
    return "".join(spoken)


def _without_bullet(line: str) -> tuple[str, bool]:
    match = _BULLET.match(line)
    if not match or match.end() == len(line):
        return line, False
    number = match.group("number") or match.group("bracketed")
    if number is None and line[0] in _CIRCLED:
        number = str(_CIRCLED.index(line[0]) + 1)
    rest = line[match.end() :]
    if number is not None:
        return f"第{number_to_chinese(int(number))}，{rest}", True
    return rest, True


# Citations ---------------------------------------------------------------------

# 晋司通〔2022〕35号: the year in brackets, then the document's number.
_DOCUMENT_NUMBER = re.compile(r"[〔［\[【（(](\d{4})[〕］\]】）)]第?(\d+)号(文件)?")
_BRACKETED_YEAR = re.compile(r"[〔［\[【（(](\d{4})[〕］\]】）)]")
# 第（四）项, 第(4)项: the item number loses its brackets.
_BRACKETED_ITEM = re.compile(r"第[（(]([一二三四五六七八九十百\d]+)[）)]")


def _citations_for_ear(text: str) -> str:
    text = _DOCUMENT_NUMBER.sub(r"\1年第\2号文件", text)
    text = _BRACKETED_YEAR.sub(r"\1年", text)
    return _BRACKETED_ITEM.sub(r"第\1", text)


# Numbers -----------------------------------------------------------------------

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# A reference code: letters and digits joined by hyphens, e.g. FY-2026-000123.
_CODE = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])"
    r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+(?![A-Za-z0-9])"
)
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?=年)")
_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:：]([0-5]\d)(?!\d)")
_PHONE = re.compile(
    r"(?<![\d.])(?:\+?86[- ]?)?(?:1[3-9]\d[- ]?\d{4}[- ]?\d{4}|0\d{2,3}[- ]?\d{7,8}|400[- ]?\d{3}[- ]?\d{4})(?![\d.])"
)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
_PER_MILLE = re.compile(r"(\d+(?:\.\d+)?)\s*‰")
_FRACTION = re.compile(r"(?<![\d/])(\d+)/(\d+)(?![\d/])")
_MONEY_SIGN = re.compile(r"[¥￥]\s*(\d+(?:\.\d+)?)(\s*[万亿])?")
_RANGE = re.compile(r"(?<=\d)\s*[-~～—–]\s*(?=\d)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _numbers_for_ear(text: str) -> str:
    text = _THOUSANDS.sub("", text)
    text = _CODE.sub(_code_for_ear, text)
    text = _PHONE.sub(_phone_for_ear, text)
    text = _ISO_DATE.sub(lambda m: f"{m[1]}年{int(m[2])}月{int(m[3])}日", text)
    text = _YEAR.sub(lambda m: digits_to_chinese(m[1]).replace("零", "〇"), text)
    text = _RANGE.sub("到", text)
    text = _TIME.sub(_time_for_ear, text)
    text = _MONEY_SIGN.sub(lambda m: f"{m[1]}{(m[2] or '').strip()}元", text)
    text = _PERCENT.sub(lambda m: "百分之" + _decimal_for_ear(m[1]), text)
    text = _PER_MILLE.sub(lambda m: "千分之" + _decimal_for_ear(m[1]), text)
    text = _FRACTION.sub(lambda m: f"{_decimal_for_ear(m[2])}分之{_decimal_for_ear(m[1])}", text)
    return _NUMBER.sub(_number_for_ear, text)


def _code_for_ear(match: re.Match[str]) -> str:
    """FY-2026-000123 → "FY杠二零二六杠零零零一二三": letters kept, digits one by one."""
    parts = match.group().split("-")
    return "杠".join(_code_part_for_ear(part) for part in parts)


def _code_part_for_ear(part: str) -> str:
    spoken = re.sub(r"\d+", lambda m: digits_to_chinese(m.group()), part)
    # Letters are spelled one by one, digits read one by one.
    return re.sub(r"(?<=[A-Z])(?=[A-Z])", " ", spoken.upper())


def _phone_for_ear(match: re.Match[str]) -> str:
    """A phone number digit by digit, its groups separated by short pauses."""
    groups = [group for group in re.split(r"[- ]", match.group().lstrip("+")) if group]
    if len(groups) == 1 and len(groups[0]) == 11 and groups[0].startswith("1"):
        # A mobile number is said in the groups people write it in: 138 1234 5678.
        number = groups[0]
        groups = [number[:3], number[3:7], number[7:]]
    return "，".join(digits_to_chinese(group) for group in groups)


def _time_for_ear(match: re.Match[str]) -> str:
    hour, minute = int(match[1]), int(match[2])
    spoken = f"{number_to_chinese(hour)}点"
    if minute:
        spoken += f"{'零' if minute < 10 else ''}{number_to_chinese(minute)}分"
    return spoken


def _decimal_for_ear(number: str) -> str:
    """12.5 → 十二点五; the digits after the point are read one by one."""
    whole, _, fraction = number.partition(".")
    spoken = number_to_chinese(int(whole))
    return spoken + ("点" + digits_to_chinese(fraction) if fraction else "")


def _number_for_ear(match: re.Match[str]) -> str:
    number = match.group()
    text, start, end = match.string, match.start(), match.end()
    before, after = text[max(0, start - 2) : start], text[end : end + 1]
    ordinal = before.endswith("第")
    if "." in number:
        return _decimal_for_ear(number)
    if not ordinal and _is_dialled(number, before, after):
        return digits_to_chinese(number)
    if len(number) > 12:
        return digits_to_chinese(number)
    spoken = number_to_chinese(int(number))
    if not ordinal:
        spoken = _with_liang(spoken, after, text[end : end + 2])
    return spoken


def _is_dialled(number: str, before: str, after: str) -> bool:
    """Whether a number is said digit by digit: a hotline, an ID, a code with leading 0."""
    if after and after in _UNIT_AFTER:
        return False
    if number in SERVICE_NUMBERS or re.fullmatch(r"12\d{3}|9[56]\d{3}", number):
        return True
    if len(number) > 1 and number.startswith("0"):
        return True
    if len(number) >= 7:
        return True  # IDs, account and case numbers: nobody says them as amounts
    return len(number) >= 3 and any(before.endswith(word) for word in _DIAL_WORDS)


def _with_liang(spoken: str, after: str, after_two: str) -> str:
    """2 before a measure word, and 2000 or 20000, are said with 两."""
    if spoken == "二" and (after in _LIANG_BEFORE or after_two == "个月"):
        return "两"
    if spoken.startswith("二") and spoken[1:2] in ("千", "万", "亿"):
        return "两" + spoken[1:]
    return spoken


# Symbols, brackets, emoji ------------------------------------------------------

_SPOKEN_SYMBOLS = {
    "&": "和",
    "＆": "和",
    "+": "加",
    "=": "等于",
    "×": "乘",
    "÷": "除以",
    "℃": "摄氏度",
    "°": "度",
}
_PER_UNIT = re.compile(r"/(?=[月年天日周次人件小时])")
# Brackets around an aside, dashes, ellipses and middle dots become a short
# pause; quotes, book-title marks and markup vanish.
_TO_COMMA = "（(【[［〔〈「『{）)】]］〕〉」』}·•—–…,;"
_SILENT = "《》“”‘’\"'`#*_^|\\<>~～"
# Half-width and full-width pauses, as the synthesisers expect them.
_PAUSE_FOR = {".": "。", "．": "。", "!": "！", "?": "？", ":": "：", **{p: p for p in PAUSES}}
_SPOKEN_CATEGORIES = ("Lo", "Lu", "Ll", "Nd", "Nl")  # letters, digits, 〇; not ① ² ½


def _symbols_for_ear(text: str) -> str:
    text = _PER_UNIT.sub("每", text)
    text = text.replace("/", "或")
    return "".join(_char_for_ear(char) for char in text)


def _char_for_ear(char: str) -> str:
    if char in _SPOKEN_SYMBOLS:
        return _SPOKEN_SYMBOLS[char]
    if char in _PAUSE_FOR:
        return _PAUSE_FOR[char]
    if char in _TO_COMMA:
        return "，"
    if char in _SILENT:
        return ""
    if char.isspace():
        return " "
    if unicodedata.category(char) in _SPOKEN_CATEGORIES:
        return char
    # Emoji, arrows, dingbats, other punctuation, joiners and variation selectors.
    return ""


def _tidy_pauses(text: str) -> str:
    """One pause where several meet, the strongest kept; spaces only between Latin letters."""
    text = re.sub(r"(?<=[A-Za-z]) +(?=[A-Za-z])", "\0", text)
    text = re.sub(r" +", "，", text).replace("\0", " ")
    text = re.sub(f"[{PAUSES}]{{2,}}", lambda m: _strongest(m.group()), text)
    return text.lstrip(PAUSES + " ").rstrip("，、；： ")


def _strongest(pauses: str) -> str:
    return max(pauses, key=lambda p: _PAUSE_RANK[p])


# Buttons -----------------------------------------------------------------------


def _buttons_for_ear(buttons: Iterable[Mapping[str, Any] | str]) -> str:
    """ "说一，或者按一：是；说二，或者按二：不是。" — a number to say or press for each."""
    choices = []
    for position, button in enumerate(buttons, start=1):
        title = button if isinstance(button, str) else button.get("title") or ""
        title = _text_for_ear(title).rstrip(PAUSES)
        if not title:
            continue
        number = number_to_chinese(position)
        choices.append(f"说{number}，或者按{number}：{title}")
    return "；".join(choices) + "。" if choices else ""


def _join_sentences(first: str, second: str) -> str:
    if first and first[-1] not in _STRONG_PAUSES:
        first += "。"
    return first + second
