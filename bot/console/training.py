"""Messages the assistant did not understand, for coordinators to label (issue 21).

    GET  /console/training                 the oldest unlabelled messages, masked (audited)
    POST /console/training/<id>/label      the intent (and matter type) a coordinator chose
    POST /console/training/<id>/discard    not worth teaching, or still telling who someone is

For coordinators only: the texts are masked (store/training.py), but they are
still people's words, and administrators read no conversations here either
(they read no ticket). Every view of the list is audited by the store. The
labelled messages leave only by `python -m store.training export`, run by a
person and audited; a developer reviews the file before anything is trained.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from html import escape

from aiohttp import web

from bot.console.pages import CHANNEL_NAMES, china_time, csrf_field, layout, matter_name, notice
from bot.console.views import _csrf, _html, _page, roles
from store.training import TrainingError, TrainingStore, TrainingView, intents, matter_types

ROLES = ("coordinator",)
TRAINING_NOTICES = {
    "labelled": "标注已保存。导出后由开发人员审核，再加入训练数据。",
    "discarded": "消息已删除。",
    "gone": "没有保存：这条消息已被删除或已导出（可能有其他协调员刚处理过）。",
}
REASON_NAMES = {"not_understood": "助手没听懂", "asked_back": "助手反问了事项类型"}
# Each intent of domain.yml in words; an intent without one is shown by its name.
INTENT_NAMES = {
    "greet": "打招呼",
    "goodbye": "再见",
    "thank": "感谢",
    "affirm": "肯定（是、好）",
    "deny": "否定（不是、不用）",
    "bot_challenge": "问是不是机器人",
    "what_is_legal_aid": "什么是法律援助",
    "who_qualifies": "谁能申请",
    "forms_of_aid": "法律援助有哪些形式",
    "apply": "怎么申请",
    "materials_needed": "需要什么材料",
    "process_time_limits": "办理要多久",
    "where_to_apply": "去哪里申请",
    "ask_hotline": "问热线电话",
    "cost": "收不收费",
    "priority_services": "优先服务",
    "accessibility_services": "无障碍服务",
    "notarization_fee": "公证费减免",
    "criminal_defense": "刑事辩护",
    "protection_order": "人身安全保护令",
    "describe_problem": "描述自己的法律问题",
    "report_danger": "正处于危险中",
    "ask_human": "找人工",
    "repeat": "再说一遍",
    "speak_slower": "说慢一点",
    "speak_faster": "说快一点",
    "start_over": "重新开始",
    "out_of_scope": "与法律援助无关",
    "check_eligibility": "查能不能申请",
    "ask_why": "问为什么",
    "decline_answer": "不想回答",
    "start_application": "开始登记申请",
    "correct_answer": "更正回答",
    "pause_application": "暂停申请",
    "continue_elsewhere": "换个渠道继续",
    "delete_my_data": "删除我的信息",
    "choose_option": "选择选项",
}


def intent_name(intent: str | None) -> str:
    if intent is None:
        return "没有"
    return f"{INTENT_NAMES.get(intent, intent)}（{intent}）"


@roles(*ROLES)
async def training_page(request: web.Request) -> web.StreamResponse:
    staff = request["staff"]
    store = request["stores"].training
    messages, waiting = await asyncio.to_thread(store.unlabelled, staff.actor)
    message = TRAINING_NOTICES.get(request.query.get("m", ""), "")
    body = render(messages, waiting, _csrf(request), message)
    return _html(layout("未听懂的消息", body, staff, _csrf(request)))


@roles(*ROLES)
async def label(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    intent = str(form.get("intent") or "")
    matter = str(form.get("matter") or "") or None
    if intent not in intents() or (matter is not None and matter not in matter_types()):
        return _page(request, "没有保存", "请从列表中选择意图和事项类型。", 400)
    return await _change(
        request, "labelled", lambda store, mid, by: store.label(mid, intent, matter, by)
    )


@roles(*ROLES)
async def discard(request: web.Request) -> web.StreamResponse:
    return await _change(request, "discarded", lambda store, mid, by: store.discard(mid, by))


async def _change(
    request: web.Request, done: str, change: Callable[[TrainingStore, int, str], None]
) -> web.StreamResponse:
    try:
        message_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    store, actor = request["stores"].training, request["staff"].actor
    try:
        await asyncio.to_thread(change, store, message_id, actor)
    except TrainingError:  # deleted or exported meanwhile (checked labels are valid)
        raise web.HTTPSeeOther("/console/training?m=gone") from None
    raise web.HTTPSeeOther(f"/console/training?m={done}")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/training", training_page),
        web.post("/training/{id}/label", label),
        web.post("/training/{id}/discard", discard),
    ]


# The page ---------------------------------------------------------------------------


def render(messages: list[TrainingView], waiting: int, csrf: str, message: str = "") -> str:
    items = "".join(_message(number, m, csrf) for number, m in enumerate(messages, start=1))
    if not messages:
        items = "<p>现在没有待标注的消息。</p>"
    return (
        "<h1>未听懂的消息</h1>"
        f"{notice(message)}"
        "<p>这里是助手没听懂、或者反问了事项类型的消息，只来自同意用来改进助手的人。"
        "姓名、电话和证件号码、地名已经遮盖为〔人名〕〔号码〕〔地点〕；"
        "如果还能看出是谁，请删除这条消息。每次打开本页都会记录在审计日志中。</p>"
        f"<p>已标注、等待导出的消息：<strong>{waiting}</strong> 条。导出由开发人员运行"
        "<code>python -m store.training export</code>，审核后才加入训练数据。</p>"
        f'<h2 id="list-heading">待标注（{len(messages)} 条，最早的在前）</h2>'
        f'<div aria-labelledby="list-heading" role="region">{items}</div>'
    )


def _message(number: int, message: TrainingView, csrf: str) -> str:
    mid = message.id
    heading = f"消息 {number}"
    when = china_time(message.collected_at)
    channel = CHANNEL_NAMES.get(message.channel, message.channel)
    confidence = "" if message.confidence is None else f"，把握 {message.confidence:.0%}"
    guess_matter = matter_name(message.matter) if message.matter else "没有"
    return (
        f'<section class="training" aria-labelledby="m{mid}-heading">'
        f'<h3 id="m{mid}-heading">{heading}</h3>'
        f'<blockquote class="said">{escape(message.text)}</blockquote>'
        '<dl class="summary">'
        f"<dt>时间</dt><dd>{escape(when)}（北京时间），{escape(channel)}</dd>"
        f"<dt>情况</dt><dd>{escape(REASON_NAMES.get(message.reason, message.reason))}</dd>"
        f"<dt>助手的猜测</dt><dd>意图：{escape(intent_name(message.intent))}{confidence}；"
        f"事项：{escape(guess_matter)}</dd></dl>"
        f'<form method="post" action="/console/training/{mid}/label" class="row">'
        f"{csrf_field(csrf)}"
        f'<label for="m{mid}-intent">意图</label>'
        f'<select id="m{mid}-intent" name="intent" required>{_intent_options(message.intent)}</select>'
        f'<label for="m{mid}-matter">事项类型</label>'
        f'<select id="m{mid}-matter" name="matter">{_matter_options(message.matter)}</select>'
        f'<button type="submit">保存标注（{heading}）</button></form>'
        f'<form method="post" action="/console/training/{mid}/discard" class="row">'
        f'{csrf_field(csrf)}<button type="submit" class="secondary">删除{heading}</button></form>'
        "</section>"
    )


def _intent_options(guess: str | None) -> str:
    chosen = guess if guess in intents() else None
    first = '<option value="">请选择</option>' if chosen is None else ""
    return first + "".join(
        f'<option value="{escape(i)}"{" selected" if i == chosen else ""}>'
        f"{escape(intent_name(i))}</option>"
        for i in intents()
    )


def _matter_options(guess: str | None) -> str:
    none = '<option value="">不是具体的法律问题</option>'
    return none + "".join(
        f'<option value="{escape(m)}"{" selected" if m == guess else ""}>'
        f"{escape(matter_name(m))}</option>"
        for m in matter_types()
    )
