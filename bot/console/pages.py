"""The console's HTML, as small functions; every value from the store is escaped."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from html import escape

from legal_aid.channels import CHANNELS
from legal_aid.intake.fields import value_label
from legal_aid.policy_data import load_policy_file
from legal_aid.times import CHINA_TIME
from store.handoff import MessageView, NoteView, OwnTicket, QueueEntry, TicketView
from store.intake import ApplicationDetails
from store.staff import StaffIdentity

ROLE_NAMES = {"lawyer": "律师", "coordinator": "协调员", "admin": "管理员"}
CHANNEL_NAMES = {channel.name: channel.label for channel in CHANNELS}
STATUS_NAMES = {
    "waiting": "等待接待",
    "claimed": "接待中",
    "returned": "已交回助手",
    "closed": "已结束",
    "cancelled": "当事人已取消",
}
REGION_NAMES = {"national": "全国", "shanxi": "山西", "baotou": "包头"}
SENDER_NAMES = {"person": "当事人", "lawyer": "律师", "system": "系统"}
TRANSCRIPT_NAMES = {"person": "当事人", "assistant": "助手"}


@cache
def _matters() -> dict:
    return load_policy_file("matter_types.yml") or {}


def matter_keys() -> list[str]:
    return list(_matters())


def matter_name(key: str) -> str:
    return _matters().get(key, {}).get("said_zh", key)


def china_time(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(CHINA_TIME).strftime("%m月%d日 %H:%M")


def waited(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} 分钟"
    return f"{minutes // 60} 小时 {minutes % 60} 分钟"


# The frame ----------------------------------------------------------------------


def layout(
    title: str,
    main: str,
    staff: StaffIdentity | None = None,
    csrf: str = "",
    script: bool = False,
) -> str:
    """A whole page: skip link, banner with navigation, main, one h1 inside main."""
    script_tag = '<script src="/console/static/console.js" defer></script>' if script else ""
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} — 法援助手 员工工作台</title>"
        '<link rel="stylesheet" href="/console/static/console.css">'
        f"{script_tag}</head><body>"
        '<a class="skip" href="#main">跳到主要内容</a>'
        f'<header><p class="brand">法援助手 员工工作台</p>{_nav(staff, csrf)}</header>'
        f'<main id="main" tabindex="-1">{main}</main></body></html>'
    )


def _nav(staff: StaffIdentity | None, csrf: str) -> str:
    if staff is None:
        return ""
    queue = '<li><a href="/console/">等待队列</a></li>' if staff.role != "admin" else ""
    mine = '<li><a href="/console/mine">我的接待</a></li>' if staff.role == "lawyer" else ""
    coordinating = staff.role in ("coordinator", "admin")
    roster = '<li><a href="/console/roster">排班和律师</a></li>' if coordinating else ""
    figures = '<li><a href="/console/figures">数据统计</a></li>' if coordinating else ""
    training = (
        '<li><a href="/console/training">未听懂的消息</a></li>'
        if staff.role == "coordinator"
        else ""
    )
    return (
        '<nav aria-label="工作台导航"><ul>'
        f"{queue}{mine}{roster}{figures}{training}"
        f"<li>{escape(staff.username)}（{ROLE_NAMES.get(staff.role, staff.role)}）</li>"
        '<li><form method="post" action="/console/logout">'
        f'{csrf_field(csrf)}<button type="submit">退出登录</button></form></li>'
        "</ul></nav>"
    )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(token)}">'


def notice(text: str, kind: str = "status") -> str:
    """A message shown after an action; role=alert only for errors."""
    if not text:
        return ""
    role = "alert" if kind == "error" else "status"
    return f'<p class="notice {kind}" role="{role}">{escape(text)}</p>'


# Login --------------------------------------------------------------------------


def login_page(csrf: str, error: str = "", info: str = "", username: str = "") -> str:
    described = ' aria-describedby="login-error"' if error else ""
    error_html = (
        f'<p id="login-error" class="notice error" role="alert">{escape(error)}</p>'
        if error
        else ""
    )
    main = (
        "<h1>员工登录</h1>"
        f"{notice(info)}{error_html}"
        '<form method="post" action="/console/login" class="stack">'
        f"{csrf_field(csrf)}"
        '<label for="username">用户名</label>'
        f'<input id="username" name="username" type="text" autocomplete="username" '
        f'required value="{escape(username)}"{described}>'
        '<label for="password">密码</label>'
        f'<input id="password" name="password" type="password" '
        f'autocomplete="current-password" required{described}>'
        '<button type="submit">登录</button></form>'
        '<p class="hint">连续输错 5 次密码，账号会锁定 15 分钟。忘记密码请联系管理员。</p>'
    )
    return layout("员工登录", main)


# Queue ------------------------------------------------------------------------------


def queue_page(
    staff: StaffIdentity, csrf: str, entries: list[QueueEntry], now: datetime, message: str = ""
) -> str:
    claim_next = ""
    if staff.role == "lawyer":
        claim_next = (
            '<form method="post" action="/console/claim-next" class="inline">'
            f'{csrf_field(csrf)}<button type="submit">接待下一位</button></form>'
        )
    main = (
        f'<h1>等待接待的对话（<span id="queue-count">{len(entries)}</span>）</h1>'
        f"{notice(message)}"
        '<p id="queue-live" class="visually-hidden" role="status" aria-live="polite"></p>'
        '<noscript><p class="hint">本页不会自动更新，请按 F5 刷新。</p></noscript>'
        f"{claim_next}"
        '<table id="queue" tabindex="-1"><caption>按优先级和等待时间排序；表中没有个人信息。</caption>'
        "<thead><tr>"
        + "".join(
            f'<th scope="col">{h}</th>'
            for h in ("顺序", "编号", "优先", "事项", "渠道", "地区", "已等待", "操作")
        )
        + f'</tr></thead><tbody id="queue-rows">{queue_rows(staff, csrf, entries, now)}</tbody>'
        "</table>"
        f"{_open_form()}"
    )
    return layout("等待队列", main, staff, csrf, script=True)


def queue_rows(staff: StaffIdentity, csrf: str, entries: list[QueueEntry], now: datetime) -> str:
    if not entries:
        return '<tr><td colspan="8">现在没有等待的对话。</td></tr>'
    return "".join(_queue_row(staff, csrf, entry, now) for entry in entries)


def _queue_row(staff: StaffIdentity, csrf: str, entry: QueueEntry, now: datetime) -> str:
    ref = escape(entry.reference)
    urgent = "紧急" if entry.urgent else ""
    priority = f"{entry.priority}{'（' + urgent + '）' if urgent else ''}"
    callback = f"，约定 {china_time(entry.callback_at)} 回电" if entry.callback_at else ""
    action = f'<a href="/console/ticket/{ref}">查看 {ref}</a>'
    if staff.role == "lawyer":
        action = (
            '<form method="post" action="/console/claim" class="inline">'
            f'{csrf_field(csrf)}<input type="hidden" name="reference" value="{ref}">'
            f'<button type="submit">接待 {ref}</button></form>'
        )
    return (
        f'<tr><td>{entry.position}</td><th scope="row">{ref}</th><td>{priority}</td>'
        f"<td>{escape(matter_name(entry.matter_type))}</td>"
        f"<td>{escape(CHANNEL_NAMES.get(entry.channel, entry.channel))}</td>"
        f"<td>{escape(REGION_NAMES.get(entry.region, entry.region))}</td>"
        f"<td>{waited(entry.waiting_since, now)}{escape(callback)}</td><td>{action}</td></tr>"
    )


def _open_form() -> str:
    # The store lists only waiting tickets: a lawyer finds their own again by its number.
    return (
        '<section aria-labelledby="open-heading"><h2 id="open-heading">按编号打开对话</h2>'
        '<form method="get" action="/console/open" class="row">'
        '<label for="reference">对话编号（例如 HO-000012）</label>'
        '<input id="reference" name="reference" type="text" required>'
        '<button type="submit">打开</button></form></section>'
    )


def admin_page(staff: StaffIdentity, csrf: str) -> str:
    main = (
        "<h1>管理员</h1>"
        "<p>管理员账号负责管理员工账号，不查看当事人的对话。"
        "创建账号请使用命令 <code>python -m store.staff</code>。</p>"
    )
    return layout("管理员", main, staff, csrf)


# Ticket -----------------------------------------------------------------------------


def ticket_page(
    staff: StaffIdentity,
    csrf: str,
    view: TicketView,
    messages: list[MessageView],
    notes: list[NoteView],
    intake: ApplicationDetails | None,
    message: str = "",
) -> str:
    ref = escape(view.reference)
    handling = view.status == "claimed" and (
        staff.role == "coordinator" or view.assigned_lawyer_id == staff.lawyer_id
    )
    main = (
        f"<h1>对话 {ref}</h1>"
        f"{notice(message)}"
        f'<p>状态：<strong id="status">{STATUS_NAMES.get(view.status, view.status)}</strong></p>'
        f"{_summary(view)}{_transcript(view)}"
        f"{_messages_section(staff, csrf, view, messages)}"
        f"{_notes_section(staff, csrf, view, notes)}"
        f"{_intake_section(view, intake)}"
        f"{_actions(staff, csrf, view, handling)}"
    )
    return layout(f"对话 {view.reference}", main, staff, csrf, script=True)


def _summary(view: TicketView) -> str:
    s = view.summary
    needs = "、".join(value_label("accessibility_needs", n) for n in s.accessibility_needs) or "无"
    reasons = "".join(
        f"<li>{escape(r.get('zh', ''))}（{escape(r.get('citation', ''))}）</li>"
        for r in view.priority_reasons
    )
    rows = [
        ("事项", matter_name(view.matter_type)),
        ("当事人", s.who),
        ("发生了什么", s.what_happened),
        ("是否符合条件", s.eligibility_result),
        ("紧急情况", s.urgency or ("紧急" if view.urgent else "不紧急")),
        ("无障碍需求", needs),
        ("渠道", CHANNEL_NAMES.get(view.channel, view.channel)),
        ("点名律师", view.requested_lawyer or "无"),
        ("约定回电", china_time(view.callback_at) if view.callback_at else "无"),
        ("提出时间", china_time(view.created_at)),
    ]
    items = "".join(f"<dt>{name}</dt><dd>{escape(value)}</dd>" for name, value in rows)
    reasons_html = f"<h3>优先理由</h3><ul>{reasons}</ul>" if reasons else ""
    return (
        '<section aria-labelledby="summary-heading"><h2 id="summary-heading">十秒摘要</h2>'
        f'<dl class="summary">{items}</dl>{reasons_html}</section>'
    )


def _transcript(view: TicketView) -> str:
    turns = "".join(
        f'<li><span class="who">{TRANSCRIPT_NAMES.get(role, role)}：</span>{escape(text)}</li>'
        for role, text in view.transcript
    )
    body = f'<ol class="log">{turns}</ol>' if turns else "<p>没有记录。</p>"
    return (
        '<section aria-labelledby="transcript-heading">'
        f'<h2 id="transcript-heading">转人工之前的对话</h2>{body}</section>'
    )


def _messages_section(
    staff: StaffIdentity, csrf: str, view: TicketView, messages: list[MessageView]
) -> str:
    ref = escape(view.reference)
    form = ""
    if view.status == "claimed" and staff.role == "lawyer":
        form = (
            f'<form method="post" action="/console/ticket/{ref}/message" class="stack">'
            f"{csrf_field(csrf)}"
            '<label for="reply">回复当事人</label>'
            '<textarea id="reply" name="text" rows="4" maxlength="4000" required></textarea>'
            '<button type="submit">发送</button></form>'
        )
    return (
        '<section aria-labelledby="messages-heading"><h2 id="messages-heading">消息</h2>'
        '<p id="messages-live" class="visually-hidden" role="status" aria-live="polite"></p>'
        f'<ol id="messages" class="log" data-reference="{ref}" '
        f'data-last="{messages[-1].id if messages else 0}">'
        f"{message_items(messages)}</ol>{form}</section>"
    )


# A lawyer's message the person has not received yet (the push is being retried,
# or the page has not fetched it): the lawyer knows not to assume it was read.
PENDING_MARK = '<span class="pending">（待送达）</span>'


def message_items(messages: Iterable[MessageView], empty: str | None = None) -> str:
    """The messages as list items; `empty` replaces the "no messages" item (a
    refresh with nothing new adds nothing)."""
    items = "".join(
        f'<li class="msg {escape(m.sender_role)}" data-id="{m.id}"><span class="who">'
        f"{SENDER_NAMES.get(m.sender_role, m.sender_role)}"
        f"{'（' + escape(m.author) + '）' if m.sender_role == 'lawyer' else ''}"
        f" {china_time(m.sent_at)}：</span>{escape(m.text)}"
        f"{PENDING_MARK if m.pending else ''}</li>"
        for m in messages
    )
    return items or (empty if empty is not None else '<li class="empty">还没有消息。</li>')


def _notes_section(staff: StaffIdentity, csrf: str, view: TicketView, notes: list[NoteView]) -> str:
    """Staff notes on the ticket: never shown or relayed to the person."""
    ref = escape(view.reference)
    items = "".join(
        f'<li><span class="who">{escape(n.author)} {china_time(n.written_at)}：</span>'
        f"{escape(n.text)}</li>"
        for n in notes
    )
    body = f'<ol class="log">{items}</ol>' if items else "<p>还没有备注。</p>"
    handles = staff.role == "coordinator" or (
        staff.lawyer_id is not None and view.assigned_lawyer_id == staff.lawyer_id
    )
    form = ""
    if handles:
        form = (
            f'<form method="post" action="/console/ticket/{ref}/note" class="stack">'
            f"{csrf_field(csrf)}"
            '<label for="note">写备注（只有员工能看到，不会发给当事人）</label>'
            '<textarea id="note" name="note" rows="3" maxlength="4000" required></textarea>'
            '<button type="submit">保存备注</button></form>'
        )
    return (
        '<section id="notes" aria-labelledby="notes-heading" tabindex="-1">'
        f'<h2 id="notes-heading">备注</h2>{body}{form}</section>'
    )


# My conversations ------------------------------------------------------------------


def own_tickets_page(staff: StaffIdentity, csrf: str, tickets: list[OwnTicket]) -> str:
    rows = "".join(
        f'<tr><th scope="row"><a href="/console/ticket/{escape(t.reference)}">'
        f"{escape(t.reference)}</a></th>"
        f"<td>{STATUS_NAMES.get(t.status, t.status)}</td>"
        f"<td>{escape(matter_name(t.matter_type))}</td>"
        f"<td>{escape(CHANNEL_NAMES.get(t.channel, t.channel))}</td>"
        f"<td>{china_time(t.claimed_at)}</td><td>{china_time(t.closed_at)}</td>"
        f"<td>{china_time(t.callback_at) if t.callback_at else '无'}</td></tr>"
        for t in tickets
    )
    body = (
        "<table><caption>正在接待的在前，其后是最近三十天结束的；表中没有个人信息。</caption>"
        "<thead><tr>"
        + "".join(
            f'<th scope="col">{h}</th>'
            for h in ("编号", "状态", "事项", "渠道", "接待时间", "结束时间", "约定回电")
        )
        + f"</tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p>您还没有接待过对话。</p>"
    )
    return layout("我的接待", f"<h1>我的接待（{len(tickets)}）</h1>{body}", staff, csrf)


def _intake_section(view: TicketView, intake: ApplicationDetails | None) -> str:
    if view.intake_reference is None:
        return ""
    if intake is None:
        body = "<p>接待这个对话后可以查看申请登记。</p>"
    else:
        rows = [
            ("登记编号", view.intake_reference),
            ("姓名", intake.name),
            ("电话", intake.phone),
            ("所在地", intake.county),
            ("事项", matter_name(intake.matter_type)),
            ("情况", intake.description),
            ("联系方式", intake.contact_preference),
            ("身份证号", intake.id_number or "未提供"),
            ("残疾证号", intake.disability_certificate or "未提供"),
        ]
        body = (
            '<dl class="summary">'
            + "".join(f"<dt>{name}</dt><dd>{escape(value)}</dd>" for name, value in rows)
            + '</dl><p class="hint">查看申请登记已记入审计日志（用途：承办申请）。</p>'
        )
    return (
        '<section aria-labelledby="intake-heading"><h2 id="intake-heading">申请登记</h2>'
        f"{body}</section>"
    )


def _actions(staff: StaffIdentity, csrf: str, view: TicketView, handling: bool) -> str:
    ref = escape(view.reference)
    buttons = []
    if view.status == "waiting" and staff.role == "lawyer":
        buttons.append(_post_button("/console/claim", csrf, "接待这个对话", ref))
    if handling:
        base = f"/console/ticket/{ref}"
        buttons.append(_post_button(f"{base}/hand-back", csrf, "交回助手"))
        buttons.append(_post_button(f"{base}/release", csrf, "退回队列"))
        buttons.append(_post_button(f"{base}/close", csrf, "结束对话"))
    if not buttons:
        return ""
    return (
        '<section aria-labelledby="actions-heading"><h2 id="actions-heading">操作</h2>'
        f'<div class="row">{"".join(buttons)}</div></section>'
    )


def _post_button(action: str, csrf: str, label: str, reference: str = "") -> str:
    hidden = f'<input type="hidden" name="reference" value="{reference}">' if reference else ""
    return (
        f'<form method="post" action="{action}" class="inline">{csrf_field(csrf)}{hidden}'
        f'<button type="submit">{label}</button></form>'
    )


# Errors -----------------------------------------------------------------------------


def error_page(title: str, text: str, staff: StaffIdentity | None = None, csrf: str = "") -> str:
    main = f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
    if staff is not None and staff.role != "admin":
        main += '<p><a href="/console/">回到等待队列</a></p>'
    return layout(title, main, staff, csrf)
