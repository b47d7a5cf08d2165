"""Masking what identifies a person in a message, before anyone else reads it.

Used for the messages the assistant did not understand, which coordinators
label to teach it (store/training.py, issue 21). Rules, not a model: what they
miss, the coordinator sees only after masking and can discard.

- numbers of a phone's or an ID card's length: 7 digits or more (ASCII,
  full-width or said in Chinese, 一三九…, spaces and dashes inside), with an ID
  card's final X → 〔号码〕. Shorter numbers (amounts, dates, ages) stay: they
  are what the message is about ("欠我9000元");
- a name after 我叫 / 名叫 / 姓名是… (up to three characters), a surname after
  我姓 / 他姓…, and a surname before 先生 / 女士 / 小姐 / 师傅 → 〔人名〕;
- every place of policy/places.yml, by its names and short forms
  (legal_aid/places.py) → 〔地点〕;
- an e-mail address → 〔邮箱〕.

The masks use the brackets 〔〕, never [ ], which Rasa's training data reads as
an entity annotation.
"""

from __future__ import annotations

import re
from functools import cache

from legal_aid.numbers import DIGITS
from legal_aid.places import default_places

NUMBER_MASK = "〔号码〕"
NAME_MASK = "〔人名〕"
PLACE_MASK = "〔地点〕"
EMAIL_MASK = "〔邮箱〕"
MASKS = (NUMBER_MASK, NAME_MASK, PLACE_MASK, EMAIL_MASK)

# A digit in any way people type or say it (幺 is "one" in a spoken number).
_DIGIT = "[0-9０-９" + "".join(k for k in DIGITS if DIGITS[k] < 10) + "幺]"
# Seven digits or more, separators between them, an ID card's check character last.
_LONG_NUMBER = re.compile(rf"{_DIGIT}(?:[\s\-－—]*{_DIGIT}){{6,}}[xXｘＸ]?")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_HAN = r"[\u4e00-\u9fff]"
# "我叫张三", "名字是李小明", "姓名：王五": the name that follows (up to three characters).
_NAME_AFTER = re.compile(
    rf"(?P<cue>(?:我|他|她|孩子|儿子|女儿|老板|对方)?(?:叫做|名叫|名字叫|名字是|姓名是|姓名[:：]?|叫)"
    rf")(?P<name>{_HAN}{{2,3}})"
)
# Words after 叫 that are no name: "叫人", "叫我怎么办", "叫什么".
_NOT_A_NAME = ("什么", "我", "你", "他", "她", "人", "了", "来", "去", "不", "过", "着", "做")
# "我姓王", "她姓欧阳": the surname.
_SURNAME_AFTER = re.compile(
    rf"(?P<cue>(?:我|他|她|对方|老板|本人)姓(?!名))(?P<name>{_HAN}{{1,2}})(?={_HAN}|\W|$)"
)
# "王先生", "李女士", "张师傅": the surname before a title.
_SURNAME_BEFORE = re.compile(rf"{_HAN}(?=先生|女士|小姐|师傅)")


def mask(text: str) -> str:
    """`text` with phone and ID numbers, names and places replaced by 〔…〕."""
    masked = _EMAIL.sub(EMAIL_MASK, text)
    masked = _LONG_NUMBER.sub(NUMBER_MASK, masked)
    masked = _mask_places(masked)
    masked = _NAME_AFTER.sub(_name, masked)
    masked = _SURNAME_AFTER.sub(lambda m: m.group("cue") + NAME_MASK, masked)
    return _SURNAME_BEFORE.sub(NAME_MASK, masked)


def _name(match: re.Match[str]) -> str:
    name = match.group("name")
    if match.group("cue").endswith("叫") and name.startswith(_NOT_A_NAME):
        return match.group(0)
    return match.group("cue") + NAME_MASK


def _mask_places(text: str) -> str:
    """Every place name and short form, the longest first (包头市 before 包头)."""
    return _place_pattern().sub(PLACE_MASK, text)


@cache
def _place_pattern() -> re.Pattern[str]:
    words = sorted(default_places().by_word, key=len, reverse=True)
    return re.compile("|".join(re.escape(word) for word in words) or r"(?!)")
