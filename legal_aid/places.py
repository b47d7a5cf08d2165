"""Where a person is, and which policy region's rules apply there.

The places come from policy/places.yml (its schema is documented at the top of
that file). `resolve_place` takes a name or a short form people say ("包头",
"达茂旗"); `find_places` finds every place mentioned in a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from legal_aid.policy_data import DEFAULT_REGION, POLICY_DIR

PLACES_FILE = POLICY_DIR / "places.yml"

LEVELS = ("province", "city", "county")
# The level a place's parent must have.
PARENT_LEVEL = {"province": None, "city": "province", "county": "city"}
BUILTIN_REGIONS = frozenset({"national", "shanxi", "baotou"})


@dataclass(frozen=True)
class Place:
    """One administrative division and the policy region that applies in it."""

    name: str
    level: str
    parent: str | None
    policy_region: str
    # Names from the province down to this place, e.g. (内蒙古自治区, 包头市, 固阳县).
    path: tuple[str, ...]
    aliases: tuple[str, ...] = field(default=(), compare=False)

    @property
    def path_text(self) -> str:
        """The path joined with "/": 内蒙古自治区/包头市/固阳县."""
        return "/".join(self.path)


@dataclass(frozen=True)
class PlaceIndex:
    """All places, by name and by every name or alias a person may say."""

    places: tuple[Place, ...]
    by_name: dict[str, Place]
    by_word: dict[str, Place]

    def resolve(self, text: str) -> Place | None:
        """The place whose name or alias is exactly `text` (spaces ignored)."""
        return self.by_word.get("".join(text.split()))

    def find(self, text: str) -> list[Place]:
        """The places named in a sentence, in the order they occur.

        Longer words win over the shorter words they overlap ("包头市" over
        "包头", "阿拉善左旗" over "阿拉善"); a place mentioned twice is listed once.
        """
        occurrences: list[tuple[int, int, Place]] = []
        for word, place in self.by_word.items():
            start = text.find(word)
            while start != -1:
                occurrences.append((start, start + len(word), place))
                start = text.find(word, start + 1)
        occurrences.sort(key=lambda o: (-(o[1] - o[0]), o[0]))
        taken = [False] * len(text)
        chosen: list[tuple[int, Place]] = []
        for start, end, place in occurrences:
            if any(taken[start:end]):
                continue
            taken[start:end] = [True] * (end - start)
            chosen.append((start, place))
        chosen.sort(key=lambda c: c[0])
        found: list[Place] = []
        for _, place in chosen:
            if place not in found:
                found.append(place)
        return found


def known_regions(policy_dir: Path = POLICY_DIR) -> frozenset[str]:
    """The policy regions a place may name: the built-in ones and every contacts file."""
    return BUILTIN_REGIONS | {p.stem for p in (policy_dir / "contacts").glob("*.yml")}


def load_places(path: Path = PLACES_FILE, regions: frozenset[str] | None = None) -> PlaceIndex:
    """Reads and validates a places file; raises ValueError naming every problem found."""
    if regions is None:
        regions = known_regions()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: 无法读取地名数据：{error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("places"), list):
        raise ValueError(f"{path}: 顶层必须是映射，且 places 必须是列表")
    entries: list[dict[str, Any]] = data["places"]
    errors: list[str] = []
    raw: dict[str, dict[str, Any]] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"第{number}项"
        if not isinstance(entry, dict):
            errors.append(f"{where}: 必须是映射")
            continue
        unknown = set(entry) - {"name", "aliases", "level", "parent", "policy_region"}
        if unknown:
            errors.append(f"{where}: 未知字段 {sorted(unknown)}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(f"{where}: name 必须是非空字符串")
            continue
        where = f"{where}（{name}）"
        if name in raw:
            errors.append(f"{where}: 名称重复")
            continue
        aliases = entry.get("aliases") or []
        if not isinstance(aliases, list) or not all(
            isinstance(a, str) and a.strip() for a in aliases
        ):
            errors.append(f"{where}: aliases 必须是非空字符串的列表")
            aliases = []
        if entry.get("level") not in LEVELS:
            errors.append(f"{where}: level 必须是 {'/'.join(LEVELS)} 之一")
        if entry.get("policy_region") not in regions:
            errors.append(
                f"{where}: policy_region {entry.get('policy_region')!r} 不是已知地区"
                f"（{'/'.join(sorted(regions))}）"
            )
        raw[name] = {**entry, "aliases": aliases}

    owner: dict[str, str] = {name: name for name in raw}
    for name, entry in raw.items():
        for alias in entry["aliases"]:
            if alias in owner:
                errors.append(f"{name}: 别名“{alias}”已是{owner[alias]}的名称或别名")
            else:
                owner[alias] = name

    for name, entry in raw.items():
        level, parent = entry.get("level"), entry.get("parent")
        if level not in LEVELS:
            continue
        wanted = PARENT_LEVEL[level]
        if wanted is None:
            if parent is not None:
                errors.append(f"{name}: 省级地名的 parent 必须为空")
            continue
        if parent not in raw:
            errors.append(f"{name}: 上级“{parent}”不在地名表中")
            continue
        if raw[parent].get("level") != wanted:
            errors.append(f"{name}: 上级“{parent}”必须是 {wanted} 级")
            continue
        region, parent_region = entry.get("policy_region"), raw[parent].get("policy_region")
        if region != parent_region and parent_region != DEFAULT_REGION:
            errors.append(
                f"{name}: policy_region {region!r} 与上级“{parent}”的 {parent_region!r} 不一致"
            )
    if errors:
        raise ValueError(f"{path}: 地名数据有误：\n" + "\n".join(errors))

    def path_of(name: str) -> tuple[str, ...]:
        chain = [name]
        while raw[chain[-1]].get("parent") is not None:
            chain.append(raw[chain[-1]]["parent"])
        return tuple(reversed(chain))

    places = tuple(
        Place(
            name=name,
            level=entry["level"],
            parent=entry.get("parent"),
            policy_region=entry["policy_region"],
            path=path_of(name),
            aliases=tuple(entry["aliases"]),
        )
        for name, entry in raw.items()
    )
    by_name = {place.name: place for place in places}
    by_word = {word: by_name[name] for word, name in owner.items()}
    return PlaceIndex(places=places, by_name=by_name, by_word=by_word)


@cache
def default_places() -> PlaceIndex:
    """policy/places.yml, loaded and validated once."""
    return load_places()


def resolve_place(text: str) -> Place | None:
    """The place whose full name or short form is exactly `text`, or None."""
    return default_places().resolve(text)


def find_places(text: str) -> list[Place]:
    """Every place named in a sentence, longest match first, in order of occurrence."""
    return default_places().find(text)


def places_within(name: str | None) -> list[str]:
    """The places one level down that a person in `name` most likely means next:
    a province's cities, a city's counties, or for a county its neighbours in
    the same city (itself included); none for an unknown name."""
    index = default_places()
    places, place = index.places, index.by_name.get(name or "")
    if place is None:
        return []
    has_parts = any(other.parent == place.name for other in places)
    parent = place.name if has_parts else place.parent
    return [other.name for other in places if other.parent == parent]


def most_specific_place(text: str) -> Place | None:
    """The most local place named in a sentence ("包头市固阳县" → 固阳县), or None.

    Among places of the same level the first one mentioned wins.
    """
    found = find_places(text)
    if not found:
        return None
    return max(found, key=lambda p: (LEVELS.index(p.level), -found.index(p)))
