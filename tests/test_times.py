"""Times said and heard in China time (legal_aid/times.py): the callback a caller
books by voice is the one the lawyer sees."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from legal_aid.times import CHINA_TIME, said_time, time_heard

NOW = datetime(2026, 12, 6, 14, 15, tzinfo=CHINA_TIME)  # a Sunday afternoon


def china(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=CHINA_TIME)


@pytest.mark.parametrize(
    ("moment", "said"),
    [
        (china(6, 14, 30), "今天下午两点半"),
        (china(7, 9), "明天上午九点"),
        (china(8, 12, 5), "后天中午十二点五分"),
        (china(23, 20), "十二月二十三日晚上八点"),
        (china(7, 2), "明天凌晨两点"),
    ],
)
def test_a_time_is_said_as_people_say_it(moment, said):
    assert said_time(moment, NOW) == said


@pytest.mark.parametrize(
    ("message", "heard"),
    [
        ("明天上午十点", china(7, 10)),
        ("下午3点半打给我", china(6, 15, 30)),
        ("后天晚上七点二十", china(8, 19, 20)),
        ("十点", china(7, 10)),  # ten has passed today: tomorrow's
        ("今天下午五点", china(6, 17)),
        ("两点", china(7, 2)),
    ],
)
def test_a_time_is_heard_in_china_time(message, heard):
    assert time_heard(message, NOW.astimezone(timezone.utc)) == heard


@pytest.mark.parametrize("message", ["随便什么时候", "25点", "明天上午"])
def test_no_time_is_heard_where_none_is_said(message):
    assert time_heard(message, NOW) is None


def test_said_and_heard_agree():
    at = china(7, 9, 30)
    assert time_heard(said_time(at, NOW), NOW) == at
