"""legal_aid/intake/validation.py: answers given while applying, typed or recognised from speech."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from legal_aid.intake.validation import (
    age_on,
    birth_date_from_id,
    certificate_category_and_grade,
    certificate_problem,
    id_check_character,
    id_number_problem,
    parse_accessibility_needs,
    parse_contact_preference,
    parse_disability_certificate,
    parse_id_number,
    parse_name,
    parse_phone,
    phone_for_readback,
    phone_grouped,
)

TODAY = date(2025, 6, 1)
# A well-known published example of a valid number (GB 11643 check character X).
VALID_ID = "11010519491231002X"


def make_id(area: str, birth: date, sequence: str) -> str:
    first_17 = f"{area}{birth:%Y%m%d}{sequence}"
    return first_17 + id_check_character(first_17)


valid_ids = st.builds(
    make_id,
    st.from_regex(r"[1-8][0-9]{5}", fullmatch=True),
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    st.from_regex(r"[0-9]{3}", fullmatch=True),
)


# ---- phone numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+86-13812345678",
        "008613812345678",
        "一三八一二三四五六七八",
        "幺三八幺二三四五六七八",
        "幺三八 一二三四 5678",
        "我的手机是138 一二三四 伍陆柒捌，谢谢",
        "１３８１２３４５６７８",
        "一 三 八 一 二 三 四 五 六 七 八",
    ],
)
def test_mobile_numbers_in_every_spoken_and_written_form(text):
    assert parse_phone(text) == "13812345678"


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("0351-1234567", "03511234567"),
        ("零三五一杠一二三四五六七", "03511234567"),
        ("(0472) 1234 5678", "047212345678"),
        ("010 1234 5678", "01012345678"),
        ("+86 351 1234567", "03511234567"),
        ("洞三五幺，幺二三四五六七", "03511234567"),
    ],
)
def test_landlines_with_their_area_code(text, digits):
    assert parse_phone(text) == digits


@pytest.mark.parametrize(
    "text",
    [
        "1381234567",  # ten digits: one missing
        "23812345678",  # a mobile starts with 1
        "12812345678",  # and then 3–9
        "12348",  # the hotline, not the person's number
        "我没有电话",
        "一百三十八",  # an amount, not digits read out
        "",
    ],
)
def test_what_is_not_a_phone_number(text):
    assert parse_phone(text) is None


def test_mobile_readback_in_three_four_four_groups():
    assert phone_for_readback("13812345678") == "幺三八，幺二三四，五六七八"
    assert phone_for_readback("13812345678", one="一") == "一三八，一二三四，五六七八"


def test_landline_readback_is_area_code_then_groups():
    assert phone_for_readback("01012345678") == "零幺零，幺二三四，五六七八"
    assert phone_for_readback("03517654321") == "零三五幺，七六五，四三二幺"
    assert phone_for_readback("047212345678") == "零四七二，幺二三四，五六七八"


def test_readback_survives_the_speech_normaliser():
    from voice.normalise import normalise

    spoken = phone_for_readback("13912345678")
    assert normalise(spoken) == spoken


def test_grouped_for_the_eye():
    assert phone_grouped("13812345678") == "138 1234 5678"
    assert phone_grouped("03511234567") == "0351 123 4567"


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_any_mobile_read_back_is_parsed_to_itself(digits):
    assert parse_phone(phone_for_readback(digits)) == digits
    assert parse_phone(phone_grouped(digits)) == digits


# ---- ID numbers ------------------------------------------------------------------


def test_a_valid_id_number_has_no_problem():
    assert id_number_problem(VALID_ID, TODAY) is None
    assert birth_date_from_id(VALID_ID) == date(1949, 12, 31)


@pytest.mark.parametrize(
    "text",
    [
        "11010519491231002X",
        "11010519491231002x",
        "110105 19491231 002X",
        "一一零一零五一九四九一二三一零零二叉",
        "幺幺洞幺洞五 一九四九 幺二三幺 洞洞二 艾克斯",
        "我的身份证号是110105一九四九1231002埃克斯。",
    ],
)
def test_id_number_spoken_or_typed(text):
    assert parse_id_number(text) == VALID_ID


def test_nothing_like_an_id_number():
    assert parse_id_number("我今年三十五岁") is None
    assert parse_id_number("不知道") is None


def test_wrong_length_is_explained():
    problem = id_number_problem("1101051949123100", TODAY)
    assert "18位" in problem and "16位" in problem


def test_old_fifteen_digit_number_is_recognised():
    assert "15位" in id_number_problem("110105491231002", TODAY)


def test_impossible_birth_date_is_explained():
    first_17 = "11010519490231002"  # 31 February
    problem = id_number_problem(first_17 + id_check_character(first_17), TODAY)
    assert "出生日期" in problem


def test_future_birth_date_is_explained():
    first_17 = "11010520300101002"
    assert "出生日期" in id_number_problem(first_17 + id_check_character(first_17), TODAY)


def test_wrong_check_character_is_explained():
    problem = id_number_problem("110105194912310021", TODAY)
    assert "最后一位" in problem and "校验码" in problem


def test_x_in_the_middle_is_explained():
    assert "X" in id_number_problem("1101051949X231002X", TODAY)


@given(valid_ids)
def test_every_generated_valid_id_passes(id_number):
    assert id_number_problem(id_number, TODAY) is None
    assert parse_id_number(id_number.lower()) == id_number


@given(valid_ids, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_changing_any_one_character_is_caught(id_number, position, replacement):
    if id_number[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    changed = id_number[:position] + replacement + id_number[position + 1 :]
    assert id_number_problem(changed, TODAY) is not None


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(2000, 6, 1), date(2025, 6, 1), 25),
        (date(2000, 6, 2), date(2025, 6, 1), 24),
        (date(2007, 6, 2), date(2025, 6, 1), 17),
        (date(2004, 2, 29), date(2025, 2, 28), 20),
        (date(2004, 2, 29), date(2025, 3, 1), 21),
    ],
)
def test_age_in_whole_years(birth, today, age):
    assert age_on(birth, today) == age


# ---- disability certificates -----------------------------------------------------


def test_valid_certificate():
    certificate = VALID_ID + "12"
    assert parse_disability_certificate("一一零一零五一九四九一二三一零零二叉 一 二") == certificate
    assert certificate_problem(certificate, today=TODAY) is None
    assert certificate_problem(certificate, holder_id=VALID_ID, today=TODAY) is None
    assert certificate_category_and_grade(certificate) == ("visual", 2)


@pytest.mark.parametrize(
    ("certificate", "words"),
    [
        (VALID_ID, ["20位", "身份证"]),
        (VALID_ID + "1", ["20位", "19位"]),
        ("110105194912310021" + "12", ["前18位", "校验码"]),
        (VALID_ID + "82", ["残疾类别", "1到7"]),
        (VALID_ID + "15", ["残疾等级", "1到4"]),
        (VALID_ID + "70", ["残疾等级"]),
    ],
)
def test_certificate_problems_are_explained(certificate, words):
    problem = certificate_problem(certificate, today=TODAY)
    assert problem is not None
    for word in words:
        assert word in problem


def test_certificate_of_someone_else():
    other = make_id("140105", date(1980, 1, 1), "123")
    assert "对不上" in certificate_problem(VALID_ID + "41", holder_id=other, today=TODAY)


# ---- names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("王小明", "王小明"),
        ("我叫王小明", "王小明"),
        ("我的名字是王小明。", "王小明"),
        ("叫我王小明就行", "王小明"),
        ("名字是 李想", "李想"),
        ("嗯，我叫张伟啊", "张伟"),
        ("我 叫 王 小明", "王小明"),  # a speech recogniser's spaces
        ("我姓王，叫王有才", "王有才"),
        ("我儿子的名字叫王小明", "王小明"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("我叫阿卜杜热合曼.麦麦提敏", "阿卜杜热合曼·麦麦提敏"),
        ("My name is John Smith", "John Smith"),
        ("我叫 Maria García-López", "Maria García-López"),
    ],
)
def test_names(text, name):
    assert parse_name(text) == name


@pytest.mark.parametrize(
    "text",
    [
        "王",  # a surname alone
        "免贵姓张",
        "王小明123",
        "13812345678",
        "是的",
        "对",
        "不想说",
        "不知道",
        "我想问一下工资的事怎么办",
        "你好请问律师在吗",
        "这个名字实在是太长了超过了二十个字的一句话不是名字",
        "",
    ],
)
def test_not_names(text):
    assert parse_name(text) is None


# ---- accessibility and contact --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needs"),
    [
        ("不需要", ()),
        ("都不用", ()),
        ("没有", ()),
        ("大字", ("large_print",)),
        ("要手语翻译", ("sign_language",)),
        ("盲文和语音电话", ("voice_call", "braille")),
        ("我走路不方便，希望上门", ("home_visit",)),
        ("不要上门，要大字", ("large_print",)),
        ("念给我听就行，也不用手语", ("voice_call",)),
    ],
)
def test_accessibility_needs(text, needs):
    assert parse_accessibility_needs(text) == needs


@pytest.mark.parametrize("text", ["随便", "不知道", "要"])
def test_accessibility_needs_not_understood(text):
    assert parse_accessibility_needs(text) is None


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        ("打电话", "phone"),
        ("打我手机吧", "phone"),
        ("微信", "wechat"),
        ("加微信联系", "wechat"),
        ("WeChat", "wechat"),
        ("威信", "wechat"),  # as a recogniser may write it
        ("别打电话，发微信", "wechat"),
        ("Telegram", "telegram"),
        ("纸飞机", "telegram"),
        ("用电报", "telegram"),
    ],
)
def test_contact_preference(text, choice):
    assert parse_contact_preference(text) == choice


def test_contact_preference_not_understood():
    assert parse_contact_preference("随便吧") is None
