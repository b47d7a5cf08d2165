"""The centre's figures at /console/figures: for coordinators and administrators.

Each chart is server-rendered SVG (no script, nothing from elsewhere: the CSP
allows neither) inside a <figure> with its caption, hidden from screen readers
because the same numbers follow as a real table. Nothing here is personal:
store.figures counts rows that hold no personal data, so reading the figures is
not audited (the audit log records reads of people's records).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from functools import cache
from html import escape

from aiohttp import web

from bot.appkeys import ENGINE
from bot.console import pages
from bot.console.views import _csrf, _html, roles
from legal_aid.eligibility.facts import FACTS
from legal_aid.policy_data import load_policy_file
from legal_aid.times import CHINA_TIME
from store.figures import DEFAULT_IDLE, Figures, WaitingTimes, compute
from store.hotline import OverflowFigures, overflow_figures

PERIODS = {7: "最近 7 天", 30: "最近 30 天", 90: "最近 90 天"}
DEFAULT_DAYS = 7
IDLE_MINUTES = int(DEFAULT_IDLE.total_seconds() // 60)
FORM_NAMES = {"eligibility_form": "资格查询", "intake_form": "申请登记"}
CHANNEL_NAMES = {**pages.CHANNEL_NAMES, "other": "其他", "unknown": "未知"}
OUTCOME_NAMES = {"applied": "登记了申请", "handed_over": "转给了律师", "neither": "两者都没有"}
# Questions of the application that are not one of the read-back fields.
INTAKE_QUESTION_NAMES = {
    "intake_consent": "同意登记",
    "applying_for": "为谁申请",
    "guardian_consent": "监护人同意",
    "matter_confirmed": "确认事情类型",
    "phone_confirmed": "确认电话",
    "intake_review": "最后核对",
}


@cache
def _intake_labels() -> dict[str, str]:
    fields = (load_policy_file("intake_fields.yml") or {}).get("fields", {})
    labels = {slot: f["label"] for f in fields.values() for slot in f.get("slots", [])}
    return {**INTAKE_QUESTION_NAMES, **labels}


def question_label(form: str | None, question: str | None) -> str:
    """The question in words: the application's field labels, the eligibility facts'
    meanings; a slot without a label is shown by its name."""
    if question is None:
        return "还没有开始提问"
    intake, facts = _intake_labels(), {name: spec.zh for name, spec in FACTS.items()}
    first, second = (intake, facts) if form == "intake_form" else (facts, intake)
    label = first.get(question) or second.get(question) or question
    form_name = FORM_NAMES.get(form or "", "")
    return f"{form_name}：{label}" if form_name else label


def _period(query: str) -> int:
    return int(query) if query.isdigit() and int(query) in PERIODS else DEFAULT_DAYS


@roles("coordinator", "admin")
async def figures_page(request: web.Request) -> web.StreamResponse:
    days = _period(request.query.get("days", ""))
    end = datetime.now(timezone.utc)
    start = end - timedelta(days=days)
    engine = request.config_dict[ENGINE]
    figures = await asyncio.to_thread(compute, engine, start, end, end)
    overflow = await asyncio.to_thread(overflow_figures, engine, start, end)
    staff, csrf = request["staff"], _csrf(request)
    body = render(figures, days) + _hotline_section(overflow)
    return _html(pages.layout("数据统计", body, staff, csrf))


def routes() -> list[web.RouteDef]:
    return [web.get("/figures", figures_page)]


# The page ---------------------------------------------------------------------------


def render(figures: Figures, days: int) -> str:
    since = figures.start.astimezone(CHINA_TIME).strftime("%Y年%m月%d日")
    drop_rows = [
        (
            f"{CHANNEL_NAMES.get(d.channel, d.channel)}｜{question_label(d.form, d.question)}",
            d.total,
            (d.silent, d.left),
        )
        for d in figures.drop_off
    ]
    waiting = figures.waiting
    return (
        "<h1>数据统计</h1>"
        f"{_period_form(days)}"
        f"<p>{escape(PERIODS[days])}（{since}起，北京时间）："
        f"共 <strong>{figures.conversations}</strong> 个对话，"
        f"<strong>{sum(figures.tickets.values())}</strong> 次转人工。"
        "表中只有数字，没有个人信息。</p>"
        + _chart(
            "channels",
            "各渠道的对话数",
            ("渠道", "对话数"),
            [(CHANNEL_NAMES.get(k, k), v, ()) for k, v in figures.per_channel.items()],
        )
        + _chart(
            "outcomes",
            "对话的结果",
            ("结果", "对话数"),
            [(OUTCOME_NAMES[k], v, ()) for k, v in figures.outcomes.items()],
        )
        + _chart(
            "drop-off",
            f"在哪里放弃：没有登记、没有转人工、{IDLE_MINUTES} 分钟没有再说话的 {figures.abandoned} 个对话，"
            "按渠道和最后一个问题",
            ("渠道｜最后一个问题", "放弃的对话", "没有回答就离开", "说了不想继续"),
            drop_rows,
            empty="这段时间没有放弃的对话。",
        )
        + _chart(
            "handoffs",
            "转人工：按现在的状态",
            ("状态", "次数"),
            [(pages.STATUS_NAMES.get(k, k), v, ()) for k, v in figures.tickets.items()],
            empty="这段时间没有转人工。",
        )
        + _waiting_section(waiting)
        + _chart(
            "matters",
            "事项类型",
            ("事项", "对话数"),
            [
                (pages.matter_name(k) if k else "没有说明", v, ())
                for k, v in figures.matter_types.items()
            ],
        )
    )


def _period_form(days: int) -> str:
    options = "".join(
        f'<option value="{value}"{" selected" if value == days else ""}>{label}</option>'
        for value, label in PERIODS.items()
    )
    return (
        '<form method="get" action="/console/figures" class="row">'
        f'<label for="days">时间范围</label><select id="days" name="days">{options}</select>'
        '<button type="submit">查看</button></form>'
    )


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return "不到 1 分钟"
    minutes = round(value)
    if minutes < 60:
        return f"{minutes} 分钟"
    return f"{minutes // 60} 小时 {minutes % 60} 分钟"


def _waiting_section(waiting: WaitingTimes) -> str:
    rows = [
        ("已接待的转人工", f"{waiting.count} 次"),
        ("等待时间中位数", _minutes(waiting.median)),
        ("90% 的人等待不超过", _minutes(waiting.p90)),
        ("现在还在等待", f"{waiting.still_waiting} 次"),
    ]
    body = "".join(f'<tr><th scope="row">{name}</th><td>{value}</td></tr>' for name, value in rows)
    return (
        '<section aria-labelledby="waiting-heading">'
        '<h2 id="waiting-heading">等待时间（从提出转人工到律师接待）</h2>'
        f"<table><caption>等待时间</caption><tbody>{body}</tbody></table></section>"
    )


def _hotline_section(overflow: OverflowFigures) -> str:
    """The hotline's overflow calls that the assistant answered (bot/hotline/)."""
    average = overflow.average_seconds
    rows = [
        ("接听的来电", f"{overflow.answered} 个"),
        ("转给了人工", f"{overflow.of('transferred')} 个"),
        ("约好回电", f"{overflow.of('callback')} 个"),
        ("助手答完后挂断", f"{overflow.of('resolved')} 个"),
        ("中途挂断或不再说话", f"{overflow.of('abandoned')} 个"),
        ("平均通话时长", "—" if average is None else f"{average / 60:.1f} 分钟"),
    ]
    body = "".join(f'<tr><th scope="row">{name}</th><td>{value}</td></tr>' for name, value in rows)
    return (
        '<section aria-labelledby="hotline-heading">'
        '<h2 id="hotline-heading">热线溢出来电（人工忙时由助手接听）</h2>'
        f"<table><caption>热线溢出来电</caption><tbody>{body}</tbody></table></section>"
    )


BAR_HEIGHT = 28
LABEL_WIDTH = 260
CHART_WIDTH = 640


def _chart(
    name: str,
    title: str,
    headings: tuple[str, ...],
    rows: list[tuple[str, int, tuple[int, ...]]],
    empty: str = "这段时间没有对话。",
) -> str:
    """A bar chart (for the eye) and the same numbers as a table (for everyone)."""
    heading = f'<h2 id="{name}-heading">{escape(title)}</h2>'
    if not rows:
        return f'<section aria-labelledby="{name}-heading">{heading}<p>{empty}</p></section>'
    largest = max(value for _, value, _ in rows) or 1
    room = CHART_WIDTH - LABEL_WIDTH - 60
    bars = []
    for i, (label, value, _) in enumerate(rows):
        y = i * BAR_HEIGHT
        width = max(2, round(room * value / largest)) if value else 0
        bars.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 19}" text-anchor="end">{escape(_short(label))}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y + 5}" width="{width}" height="{BAR_HEIGHT - 10}"/>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 19}">{value}</text>'
        )
    height = len(rows) * BAR_HEIGHT
    svg = (
        f'<svg class="chart" viewBox="0 0 {CHART_WIDTH} {height}" width="100%" '
        f'aria-hidden="true" focusable="false">{"".join(bars)}</svg>'
    )
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headings)
    body = "".join(
        f'<tr><th scope="row">{escape(label)}</th><td>{value}</td>'
        + "".join(f"<td>{part}</td>" for part in parts)
        + "</tr>"
        for label, value, parts in rows
    )
    return (
        f'<section aria-labelledby="{name}-heading">{heading}'
        f'<figure id="{name}"><figcaption>{escape(title)}（图；数字见下表）</figcaption>{svg}</figure>'
        f"<table><caption>{escape(title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></section>"
    )


def _short(label: str, limit: int = 18) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
