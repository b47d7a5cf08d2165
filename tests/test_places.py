"""policy/places.yml and legal_aid/places.py: where a person is, which rules apply."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from legal_aid.places import (
    PLACES_FILE,
    default_places,
    find_places,
    known_regions,
    load_places,
    most_specific_place,
    resolve_place,
)

SHANXI_CITIES = "太原 大同 阳泉 长治 晋城 朔州 晋中 运城 忻州 临汾 吕梁".split()
INNER_MONGOLIA = (
    "呼和浩特市 包头市 乌海市 赤峰市 通辽市 鄂尔多斯市 呼伦贝尔市 巴彦淖尔市 乌兰察布市 "
    "兴安盟 锡林郭勒盟 阿拉善盟"
).split()
BAOTOU_COUNTIES = (
    "东河区 昆都仑区 青山区 石拐区 白云鄂博矿区 九原区 土默特右旗 固阳县 达尔罕茂明安联合旗"
).split()


def test_the_data_file_validates() -> None:
    places = load_places()
    assert len(places.places) > 250
    regions = {p.policy_region for p in places.places}
    assert regions == {"national", "shanxi", "baotou"}


def test_the_example_sentence() -> None:
    found = find_places("我在包头市固阳县打工")
    assert [p.name for p in found] == ["包头市", "固阳县"]
    county = most_specific_place("我在包头市固阳县打工")
    assert county is not None
    assert county.name == "固阳县"
    assert county.policy_region == "baotou"
    assert county.level == "county"
    assert county.path == ("内蒙古自治区", "包头市", "固阳县")
    assert county.path_text == "内蒙古自治区/包头市/固阳县"


@pytest.mark.parametrize(
    ("said", "name", "region"),
    [
        ("太原", "太原市", "shanxi"),
        ("太原市", "太原市", "shanxi"),
        ("呼和浩特", "呼和浩特市", "national"),
        ("呼市", "呼和浩特市", "national"),
        ("包头", "包头市", "baotou"),
        ("达茂旗", "达尔罕茂明安联合旗", "baotou"),
        ("土右旗", "土默特右旗", "baotou"),
        ("昆区", "昆都仑区", "baotou"),
        ("内蒙古", "内蒙古自治区", "national"),
        ("山西", "山西省", "shanxi"),
        ("北京", "北京市", "national"),
        ("阳泉城区", "阳泉市城区", "shanxi"),
        (" 古交 ", "古交市", "shanxi"),
    ],
)
def test_resolve_place(said: str, name: str, region: str) -> None:
    place = resolve_place(said)
    assert place is not None
    assert (place.name, place.policy_region) == (name, region)


@pytest.mark.parametrize("said", ["", "城区", "矿区", "我在太原", "包头市固阳县", "长子", "火星"])
def test_resolve_place_is_exact(said: str) -> None:
    assert resolve_place(said) is None


def test_find_places_prefers_the_longest_match() -> None:
    assert [p.name for p in find_places("我住阿拉善左旗")] == ["阿拉善左旗"]
    assert [p.name for p in find_places("内蒙古包头市")] == ["内蒙古自治区", "包头市"]
    assert [p.name for p in find_places("乌海市海南区")] == ["乌海市", "海南区"]
    assert [p.name for p in find_places("山西省阳泉市矿区")] == ["山西省", "阳泉市矿区"]


def test_find_places_in_order_and_once() -> None:
    found = find_places("我从运城来太原打工，老家还是运城的")
    assert [p.name for p in found] == ["运城市", "太原市"]


def test_find_places_ignores_everyday_words() -> None:
    assert find_places("我在矿区上班，我长子住城区") == []
    assert find_places("我想申请法律援助") == []
    assert most_specific_place("你好") is None


def test_every_shanxi_place_is_shanxi() -> None:
    places = default_places().places
    shanxi = [p for p in places if p.path[0] == "山西省"]
    assert len(shanxi) == 1 + 11 + 117
    assert all(p.policy_region == "shanxi" for p in shanxi)
    for city in SHANXI_CITIES:
        assert resolve_place(city).level == "city"


def test_inner_mongolia() -> None:
    by_name = default_places().by_name
    for name in INNER_MONGOLIA:
        assert by_name[name].parent == "内蒙古自治区"
        expected = "baotou" if name == "包头市" else "national"
        assert by_name[name].policy_region == expected
    baotou = {p.name for p in default_places().places if p.parent == "包头市"}
    assert baotou == set(BAOTOU_COUNTIES)
    outside = [p for p in default_places().places if p.path[0] == "内蒙古自治区"]
    assert {p.policy_region for p in outside if "包头市" not in p.path} == {"national"}


def test_thirty_one_provinces() -> None:
    provinces = [p for p in default_places().places if p.level == "province"]
    assert len(provinces) == 31
    assert all(p.parent is None and p.path == (p.name,) for p in provinces)


def test_paths_follow_levels() -> None:
    for place in default_places().places:
        assert len(place.path) == {"province": 1, "city": 2, "county": 3}[place.level]
        assert place.path[-1] == place.name


def test_regions_include_contacts_files() -> None:
    assert {"national", "shanxi", "baotou"} <= known_regions()


# ---- validation --------------------------------------------------------------


def _write(tmp_path: Path, places: list[dict]) -> Path:
    path = tmp_path / "places.yml"
    path.write_text(yaml.safe_dump({"places": places}, allow_unicode=True), encoding="utf-8")
    return path


PROVINCE = {"name": "山西省", "level": "province", "parent": None, "policy_region": "shanxi"}
CITY = {
    "name": "太原市",
    "aliases": ["太原"],
    "level": "city",
    "parent": "山西省",
    "policy_region": "shanxi",
}


def test_a_minimal_file_loads(tmp_path: Path) -> None:
    index = load_places(_write(tmp_path, [PROVINCE, CITY]))
    assert index.resolve("太原").path == ("山西省", "太原市")


@pytest.mark.parametrize(
    ("places", "message"),
    [
        ([PROVINCE, CITY, CITY], "名称重复"),
        ([PROVINCE, CITY, {**CITY, "name": "大同市"}], "别名“太原”"),
        ([PROVINCE, {**CITY, "aliases": ["山西省"]}], "别名“山西省”"),
        ([PROVINCE, {**CITY, "parent": "山东省"}], "不在地名表中"),
        ([PROVINCE, {**CITY, "policy_region": "mars"}], "不是已知地区"),
        ([PROVINCE, {**CITY, "level": "town"}], "level"),
        ([PROVINCE, {**CITY, "policy_region": "national"}], "不一致"),
        ([{**PROVINCE, "parent": "中国"}, CITY], "parent 必须为空"),
        ([PROVINCE, {**CITY, "level": "county"}], "必须是 city 级"),
        ([PROVINCE, {**CITY, "colour": "red"}], "未知字段"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, places: list[dict], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_places(_write(tmp_path, places))


def test_not_a_list(tmp_path: Path) -> None:
    path = tmp_path / "places.yml"
    path.write_text("places: 太原\n", encoding="utf-8")
    with pytest.raises(ValueError, match="places 必须是列表"):
        load_places(path)


def test_the_shipped_file_is_the_default() -> None:
    assert PLACES_FILE.name == "places.yml"
    assert PLACES_FILE.parent.name == "policy"
