"""CPU and memory of a process and everything it started, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path


def _proc_stats() -> dict[int, tuple[int, list[str]]]:
    """Every process: its parent and the fields of /proc/<pid>/stat after its name."""
    stats: dict[int, tuple[int, list[str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        stats[int(entry.name)] = (int(fields[1]), fields)
    return stats


def tree(root: int, stats: dict[int, tuple[int, list[str]]] | None = None) -> set[int]:
    """`root` and its descendants."""
    stats = stats if stats is not None else _proc_stats()
    found, grew = {root}, True
    while grew:
        more = {pid for pid, (parent, _) in stats.items() if parent in found} - found
        grew = bool(more)
        found |= more
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of a process and its descendants (with their reaped children)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = _proc_stats()
    total = 0.0
    for pid in tree(root, stats):
        if pid in stats:
            # After the name: state ppid … utime(14) stime(15) cutime(16) cstime(17).
            total += sum(int(value) for value in stats[pid][1][11:15]) / tick
    return total


def tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and its descendants (each counted in full)."""
    page = os.sysconf("SC_PAGE_SIZE")
    stats = _proc_stats()
    # After the name: … rss(24), counted from the state field (index 0) as 21.
    return sum(int(stats[pid][1][21]) * page for pid in tree(root, stats) if pid in stats)
