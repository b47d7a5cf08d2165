"""legal_aid/numbers.py: Chinese numerals read from what people say, and said back."""

from __future__ import annotations

import random

import pytest

from legal_aid.numbers import (
    digits_to_chinese,
    number_to_chinese,
    parse_chinese_number,
    parse_duration_days,
    parse_money,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("三千五", 3500),
        ("一万二", 12000),
        ("两万", 20000),
        ("八千多", 8000),
        ("3500", 3500),
        ("1.5万", 15000),
        ("十二", 12),
        ("二十", 20),
        ("一百零五", 105),
        ("三千五百", 3500),
        ("半", 0.5),
        ("零", 0),
        ("十", 10),
        ("十五", 15),
        ("二十五", 25),
        ("一百", 100),
        ("一百一十", 110),
        ("一百一", 110),
        ("三百五", 350),
        ("两千三百五", 2350),
        ("一千零十", 1010),
        ("一千零五十", 1050),
        ("一万零五百", 10500),
        ("十万", 100000),
        ("十一万五千", 115000),
        ("五百万", 5_000_000),
        ("一亿二千万", 120_000_000),
        ("一亿零一万", 100_010_000),
        ("三万五", 35000),
        ("2万5", 25000),
        ("3千5", 3500),
        ("10万", 100000),
        ("一点五万", 15000),
        ("三点五", 3.5),
        ("二零二三", 2023),
        ("叁仟伍佰", 3500),
        ("壹万贰仟", 12000),
        ("一万多", 10000),
        ("五千左右", 5000),
        ("3,500", 3500),
        (" 三千 ", 3000),
        ("两", 2),
    ],
)
def test_parse_chinese_number(text: str, value: float) -> None:
    assert parse_chinese_number(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "多",
        "万",
        "千千",
        "三五",
        "两三千",
        "三五千",
        "五零",
        "百千",
        "三千万万",
        "一点",
        "abc",
        "三块",
    ],
)
def test_parse_chinese_number_refuses(text: str) -> None:
    assert parse_chinese_number(text) is None


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("3500元", 3500),
        ("三千五", 3500),
        ("八千多块", 8000),
        ("2万", 20000),
        ("一万二", 12000),
        ("1.5万元", 15000),
        ("两万块", 20000),
        ("三千块钱", 3000),
        ("两千多块钱", 2000),
        ("3000多元", 3000),
        ("5000 元", 5000),
        ("¥3,500", 3500),
        ("人民币3500元", 3500),
        ("三块五", 3.5),
        ("十万", 100000),
        ("两万多元", 20000),
    ],
)
def test_parse_money(text: str, yuan: float) -> None:
    assert parse_money(text) == yuan


@pytest.mark.parametrize("text", ["", "元", "块钱", "很多钱", "三个月"])
def test_parse_money_refuses(text: str) -> None:
    assert parse_money(text) is None


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("三个月", 90),
        ("两年多", 730),
        ("半年", 182),
        ("10天", 10),
        ("一个星期", 7),
        ("一周", 7),
        ("两周", 14),
        ("两个礼拜", 14),
        ("一年", 365),
        ("一年半", 547),
        ("三个半月", 105),
        ("三个多月", 90),
        ("两个多月", 60),
        ("半个月", 15),
        ("十来天", 10),
        ("三十天", 30),
        ("15个工作日", 15),
        ("俩月", 60),
        ("一年零三个月", 455),
        ("两年又六个月", 910),
        ("3个月", 90),
        ("十五日", 15),
        ("三天左右", 3),
    ],
)
def test_parse_duration_days(text: str, days: int) -> None:
    assert parse_duration_days(text) == days


@pytest.mark.parametrize("text", ["", "三月", "很久", "三", "天", "几天", "三个"])
def test_parse_duration_days_refuses(text: str) -> None:
    assert parse_duration_days(text) is None


@pytest.mark.parametrize(
    ("n", "said"),
    [
        (3500, "三千五百"),
        (12000, "一万二千"),
        (105, "一百零五"),
        (10, "十"),
        (20, "二十"),
        (0, "零"),
        (100000, "十万"),
        (230, "二百三十"),
        (1, "一"),
        (11, "十一"),
        (110, "一百一十"),
        (1010, "一千零一十"),
        (1001, "一千零一"),
        (10500, "一万零五百"),
        (10005, "一万零五"),
        (100005, "十万零五"),
        (115000, "十一万五千"),
        (1_000_000, "一百万"),
        (20_000_500, "二千万零五百"),
        (100_000_000, "一亿"),
        (100_010_000, "一亿零一万"),
        (100_001_000, "一亿零一千"),
        (1_000_000_000, "十亿"),
        (99_999_999, "九千九百九十九万九千九百九十九"),
        (-5, "负五"),
    ],
)
def test_number_to_chinese(n: int, said: str) -> None:
    assert number_to_chinese(n) == said


def test_number_to_chinese_refuses() -> None:
    with pytest.raises(TypeError):
        number_to_chinese(3.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        number_to_chinese(10**12)


def _spread() -> list[int]:
    rng = random.Random(12348)
    values = set(range(0, 1200))
    values.update(10**k for k in range(9))
    values.update(10**k + 1 for k in range(9))
    values.update(10**k * d for k in range(8) for d in range(1, 10))
    values.update(99_999_999 - i for i in range(50))
    values.update(rng.randint(0, 99_999_999) for _ in range(2000))
    values.update(rng.randint(0, 99_999) for _ in range(1000))
    # Numbers with zero gaps in every position: 10005, 1000100, 20003000 ...
    values.update(
        int("".join(rng.choice("0000123456789") for _ in range(rng.randint(2, 8))))
        for _ in range(1000)
    )
    return sorted(v for v in values if v <= 99_999_999)


def test_round_trip() -> None:
    values = _spread()
    assert len(values) > 4000
    for n in values:
        said = number_to_chinese(n)
        assert parse_chinese_number(said) == n, (n, said)


def test_round_trip_money_and_arabic() -> None:
    for n in _spread()[::7]:
        assert parse_money(f"{number_to_chinese(n)}元") == n
        assert parse_chinese_number(str(n)) == n


@pytest.mark.parametrize(
    ("digits", "said"),
    [
        ("12348", "一二三四八"),
        ("110", "一一零"),
        ("0351", "零三五一"),
        ("0", "零"),
        ("", ""),
        ("0472-12348", "零四七二-一二三四八"),
    ],
)
def test_digits_to_chinese(digits: str, said: str) -> None:
    assert digits_to_chinese(digits) == said
