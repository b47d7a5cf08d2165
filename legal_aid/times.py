"""Times as people in China say them: the time zone, a time said aloud, a time heard.

One China time for the whole assistant (application references, the console,
callback times), so a callback booked by voice and shown to a lawyer agree.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from legal_aid.numbers import number_to_chinese, parse_chinese_number

CHINA_TIME = timezone(timedelta(hours=8), "CST")


def china_today() -> date:
    """Today's date in China: a birthday passes at midnight China time, wherever the server runs."""
    return datetime.now(CHINA_TIME).date()


_TIME = re.compile(
    r"(今天|明天|后天)?\s*(凌晨|早上|上午|中午|下午|晚上)?\s*"
    r"([0-9]{1,2}|[零一二两三四五六七八九十]{1,3})\s*[点时:：]\s*(半|[0-9]{1,2}|[零一二三四五六七八九十]{1,3})?"
)


def said_time(moment: datetime, now: datetime) -> str:
    """A time in China time as people say it: 今天下午两点半, 明天上午九点, 11月23日上午九点."""
    local, today = moment.astimezone(CHINA_TIME), now.astimezone(CHINA_TIME).date()
    days = (local.date() - today).days
    day = {0: "今天", 1: "明天", 2: "后天"}.get(
        days, f"{number_to_chinese(local.month)}月{number_to_chinese(local.day)}日"
    )
    return f"{day}{_period(local.hour)}{_spoken_hour(local.hour)}点{_spoken_minutes(local.minute)}"


def _period(hour: int) -> str:
    if hour < 6:
        return "凌晨"
    if hour < 12:
        return "上午"
    if hour == 12:
        return "中午"
    return "下午" if hour < 18 else "晚上"


def _spoken_hour(hour: int) -> str:
    twelve = hour if hour <= 12 else hour - 12
    return "两" if twelve == 2 else number_to_chinese(twelve)


def _spoken_minutes(minute: int) -> str:
    if minute == 0:
        return ""
    return "半" if minute == 30 else f"{number_to_chinese(minute)}分"


def time_heard(message: str, now: datetime) -> datetime | None:
    """The time in "明天上午十点" or "下午3点半" (China time), as UTC; None if none is said.
    A time of day said without a day that has passed today means tomorrow's."""
    found = _TIME.search(message)
    if not found:
        return None
    day, period, hour_text, minute_text = found.groups()
    hour = parse_chinese_number(hour_text)
    minute = 30 if minute_text == "半" else parse_chinese_number(minute_text or "0")
    if hour is None or minute is None:
        return None
    hour, minute = int(hour), int(minute)
    if period in ("下午", "晚上") and hour < 12:
        hour += 12
    if not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    local_now = now.astimezone(CHINA_TIME)
    offset = {"今天": 0, "明天": 1, "后天": 2}.get(day or "", 0)
    at = (local_now + timedelta(days=offset)).replace(
        hour=hour, minute=minute, second=0, microsecond=0
    )
    if at <= local_now and day is None:
        at += timedelta(days=1)
    return at.astimezone(timezone.utc)
