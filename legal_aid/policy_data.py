"""Loads the per-region policy data files in policy/.

A region file may name `extends: <region>`; it is merged over that region, so a
new region is a new data file that states only what differs.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"
DEFAULT_REGION = "national"


class PolicyDataError(ValueError):
    """A policy data file is missing or malformed."""


@cache
def load_policy_file(name: str) -> Any:
    """A national data file in policy/ (matter_types.yml, safety.yml), read once."""
    return yaml.safe_load((POLICY_DIR / name).read_text(encoding="utf-8"))


def available_regions(kind: str) -> list[str]:
    """The regions that have a data file of this kind (e.g. "contacts")."""
    return sorted(p.stem for p in (POLICY_DIR / kind).glob("*.yml"))


@cache
def load_region(kind: str, region: str = DEFAULT_REGION) -> dict[str, Any]:
    """The data of one kind for a region, merged over the region it extends."""
    path = POLICY_DIR / kind / f"{region}.yml"
    if not path.is_file():
        raise PolicyDataError(f"没有地区“{region}”的{kind}数据文件：{path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("region") != region:
        raise PolicyDataError(f"{path}: 顶层必须是映射，且 region 必须是 {region!r}")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if parent == region:
        raise PolicyDataError(f"{path}: 地区不能继承自己")
    return _merge(load_region(kind, parent), data)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged
