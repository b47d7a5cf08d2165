"""nlu_data/lookups/: generated lookups are up to date, and the regexes match what they should."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from legal_aid.eligibility.facts import DISABILITY_CATEGORIES
from legal_aid.numbers import parse_money
from legal_aid.places import default_places
from scripts.gen_lookups import LOOKUPS_DIR, generate, load_vocabulary, stale_files

# ---- generated files ---------------------------------------------------------


def test_committed_lookups_equal_what_the_script_generates() -> None:
    assert stale_files() == [], "run: python -m scripts.gen_lookups"


@pytest.mark.parametrize("name", sorted(generate()))
def test_generated_file_matches(name: str) -> None:
    assert (LOOKUPS_DIR / name).read_text(encoding="utf-8") == generate()[name]


def _items(name: str) -> list[dict]:
    return yaml.safe_load((LOOKUPS_DIR / name).read_text(encoding="utf-8"))["nlu"]


def _examples(item: dict) -> list[str]:
    return [line[2:] for line in item["examples"].splitlines()]


def test_region_lookup_has_every_name_and_alias() -> None:
    [item] = _items("region.yml")
    assert item["lookup"] == "region"
    words = _examples(item)
    expected = set()
    for place in default_places().places:
        expected.add(place.name)
        expected.update(place.aliases)
    assert set(words) == expected
    assert len(words) == len(expected)
    # Longest first, so that Rasa's alternation prefers 包头市 to 包头.
    assert [len(w) for w in words] == sorted((len(w) for w in words), reverse=True)


def test_relation_and_disability_lookups() -> None:
    [relation] = _items("relation.yml")
    [disability] = _items("disability_category.yml")
    assert relation["lookup"] == "relation"
    assert disability["lookup"] == "disability_category"
    relations = set(_examples(relation))
    for word in "妈 我妈 老妈 母亲 爸 父亲 老公 丈夫 媳妇 老婆 儿子 女儿 孙子 哥 姐 弟 妹 公公 婆婆 岳父".split():
        assert word in relations
    categories = set(_examples(disability))
    for word in (
        "盲人 视力残疾 看不见 眼睛看不到 低视力 聋 听力残疾 耳聋 听不见 哑 言语残疾 说不了话 "
        "肢体残疾 瘸 截肢 坐轮椅 腿脚不便 智力残疾 智障 精神残疾 精神病 多重残疾"
    ).split():
        assert word in categories


def test_synonyms_map_words_to_canonical_values() -> None:
    mapping = {}
    for item in _items("synonyms.yml"):
        for word in _examples(item):
            assert word not in mapping
            mapping[word] = item["synonym"]
    assert mapping["我妈"] == "mother"
    assert mapping["媳妇"] == "wife"
    assert mapping["岳父"] == "parent_in_law"
    assert mapping["孙子"] == "grandchild"
    assert mapping["盲人"] == "visual"
    assert mapping["听不见"] == "hearing"
    assert mapping["说不了话"] == "speech"
    assert mapping["坐轮椅"] == "physical"
    assert mapping["智障"] == "intellectual"
    assert mapping["精神病"] == "mental"
    assert mapping["多重残疾"] == "multiple"
    assert not any(word in mapping for word in ("包头", "太原市"))  # places: no synonyms


def test_disability_categories_are_the_specs() -> None:
    vocabulary = load_vocabulary()
    assert set(vocabulary["disability_categories"]) == set(DISABILITY_CATEGORIES)


def test_a_word_in_two_values_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vocabulary.yml"
    path.write_text(
        "relations:\n  mother: [妈]\n  father: [妈]\ndisability_categories:\n  visual: [盲人]\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="已属于"):
        load_vocabulary(path)


def test_a_missing_section_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vocabulary.yml"
    path.write_text("relations:\n  mother: [妈]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="disability_categories"):
        load_vocabulary(path)


def test_lookup_tables_find_words_the_rasa_way() -> None:
    # Rasa joins the entries with "|" (no word boundaries, see config.yml).
    from rasa.nlu.utils.pattern_utils import _generate_lookup_regex

    def extract(name: str, text: str) -> list[str]:
        [item] = _items(name)
        table = {"name": item["lookup"], "elements": _examples(item)}
        pattern = _generate_lookup_regex(table, use_word_boundaries=False)
        return [m.group() for m in re.finditer(pattern, text)]

    assert extract("region.yml", "我在包头市固阳县打工") == ["包头市", "固阳县"]
    assert extract("relation.yml", "我妈和我老公吵架") == ["我妈", "我老公"]
    assert extract("disability_category.yml", "他是聋哑人，还坐轮椅") == ["聋", "哑", "坐轮椅"]


# ---- regexes -----------------------------------------------------------------


def _regexes() -> dict[str, list[re.Pattern[str]]]:
    patterns: dict[str, list[re.Pattern[str]]] = {}
    for item in _items("regexes.yml"):
        patterns.setdefault(item["regex"], []).extend(re.compile(p) for p in _examples(item))
    return patterns


def _matches(name: str, text: str) -> list[str]:
    # As RegexEntityExtractor does it: every pattern, every match.
    return [m.group() for p in _regexes()[name] for m in p.finditer(text)]


def test_regex_names() -> None:
    assert set(_regexes()) == {"money", "duration", "disability_grade", "age"}


MONEY = [
    ("3500元", "3500元", 3500),
    ("他欠我三千五", "三千五", 3500),
    ("每个月八千多块", "八千多块", 8000),
    ("赔了2万", "2万", 20000),
    ("一万二", "一万二", 12000),
    ("工资才3500", "3500", 3500),
    ("每月两千多块钱", "两千多块钱", 2000),
    ("1.5万元", "1.5万元", 15000),
    ("三百块", "三百块", 300),
    ("一共欠我十万", "十万", 100000),
    ("欠了3000多", "3000多", 3000),
    ("月收入1800元", "1800元", 1800),
    ("3000多元", "3000多元", 3000),
    ("五块钱", "五块钱", 5),
    ("一万二千块", "一万二千块", 12000),
    ("遗产不到5000块", "5000块", 5000),
    ("两万五", "两万五", 25000),
]


@pytest.mark.parametrize(("text", "value", "yuan"), MONEY)
def test_money_regex_matches(text: str, value: str, yuan: float) -> None:
    assert _matches("money", text) == [value]
    assert parse_money(value) == yuan


@pytest.mark.parametrize(
    "text",
    [
        "我们一起去",
        "万一他不给呢",
        "千万别挂电话",
        "十分难过",
        "打12348问问",
        "我们一块去",
        "一块儿去",
        "第三次了",
        "2023年的事",
        "三个月没发",
        "一级残疾",
        "3个人",
        "我今年58岁",
        "我电话13812345678",
        "报了110",
        "三块地",
        "十万火急",
        "考了一百分",
        "住在3楼",
        "走了三千里",
        "一下",
        "百分之百",
    ],
)
def test_money_regex_ignores(text: str) -> None:
    assert _matches("money", text) == []


DURATIONS = [
    ("拖了三个月", "三个月"),
    ("干了两年多", "两年多"),
    ("半年没给钱", "半年"),
    ("还有10天", "10天"),
    ("一个星期", "一个星期"),
    ("两周以内", "两周"),
    ("一年半", "一年半"),
    ("三个多月", "三个多月"),
    ("十来天", "十来天"),
    ("15个工作日", "15个工作日"),
    ("俩月了", "俩月"),
    ("两个半月", "两个半月"),
    ("干了八年", "八年"),
    ("这三个月都没发", "三个月"),
    ("还剩一天", "一天"),
]


@pytest.mark.parametrize(("text", "value"), DURATIONS)
def test_duration_regex_matches(text: str, value: str) -> None:
    from legal_aid.numbers import parse_duration_days

    assert _matches("duration", text) == [value]
    assert parse_duration_days(value) is not None


@pytest.mark.parametrize(
    "text",
    [
        "三月份",
        "2023年",
        "三年级",
        "周三去",
        "星期三",
        "有一天他打我",
        "那一天",
        "几天",
        "每天都吵",
        "天天喝酒",
        "满18周岁",
        "九十年代",
        "第三天",
        "一二年",
    ],
)
def test_duration_regex_ignores(text: str) -> None:
    assert _matches("duration", text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一级", "一级"),
        ("我是二级残疾", "二级残疾"),
        ("三级", "三级"),
        ("4级", "4级"),
        ("重度", "重度"),
        ("重度残疾", "重度残疾"),
        ("肢体三级", "三级"),
        ("残疾等级是二级", "二级"),
        ("视力一级残疾", "一级残疾"),
        ("极重度", "极重度"),
    ],
)
def test_disability_grade_regex_matches(text: str, value: str) -> None:
    assert _matches("disability_grade", text) == [value]


@pytest.mark.parametrize(
    "text",
    [
        "一级伤残",
        "工伤二级",
        "三级医院",
        "一级建造师",
        "12级台阶",
        "第一级",
        "重度抑郁",
        "八级工伤",
        "十级",
        "一级律师",
        "二级市场",
    ],
)
def test_disability_grade_regex_ignores(text: str) -> None:
    assert _matches("disability_grade", text) == []


def test_rasa_loads_the_lookups() -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(LOOKUPS_DIR))
    assert {t["name"] for t in data.lookup_tables} == {"region", "relation", "disability_category"}
    assert {r["name"] for r in data.regex_features} == {
        "money",
        "duration",
        "disability_grade",
        "age",
    }
    assert data.entity_synonyms["我妈"] == "mother"
    assert data.entity_synonyms["坐轮椅"] == "physical"


# The person's own age told in a story; never a child's, a count or a duration.
@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("我七十二了，三个儿子都不给赡养费", ["七十二了"]),
        ("我今年七十三岁", ["今年七十三岁"]),
        ("俺都八十了", ["都八十了"]),
        ("我72岁了", ["72岁了"]),
        ("我儿子15岁", []),
        ("我三个儿子", []),
        ("我十个月没发工资", []),
    ],
)
def test_age_regex(text: str, found: list[str]) -> None:
    assert _matches("age", text) == found
