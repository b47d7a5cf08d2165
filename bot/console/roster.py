"""The roster (排班) and lawyer profiles, kept by coordinators in the console.

    GET  /console/roster                      lawyers, the next two weeks' shifts, the forms
    POST /console/roster/lawyer               add a lawyer
    GET  /console/roster/lawyer/<id>          a lawyer's profile to edit
    POST /console/roster/lawyer/<id>          save it
    POST /console/roster/shift                add a shift (China time, as people plan it)
    POST /console/roster/lawyer/<id>/off-duty the lawyer goes off duty now

The profile is what the matching rules read (legal_aid/handoff/matching.py:
years of practice for 第二十六条, disability experience for the Baotou measures),
so each field says what it is used for. Lawyers' names and profiles are
professional facts, not applicants' personal data; every change is audited
by the store. Console logins are made by an administrator (python -m store.staff).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from html import escape

from aiohttp import web

from bot.console import pages
from bot.console.pages import china_time, csrf_field, layout, matter_name, notice
from bot.console.views import NOTICES, _call, _csrf, _html, roles
from legal_aid.handoff.matching import LawyerProfile, Shift
from legal_aid.times import CHINA_TIME
from store.handoff import LawyerDetails
from store.models import utc_now

ROSTER_DAYS = 14
LANGUAGE_NAMES = {"zh": "普通话", "mn": "蒙古语", "yue": "粤语", "ug": "维吾尔语", "bo": "藏语"}
ROSTER_NOTICES = {
    "lawyer_added": "已添加律师。请管理员为这位律师开通工作台账号。",
    "lawyer_saved": "律师资料已保存。",
    "shift_added": "已添加值班。",
    "off_duty": "这位律师已结束值班，之后的排班已取消。",
    "invalid": "没有保存：请检查表单中标出的内容。",
}


class FormError(ValueError):
    """A field the coordinator should correct; the message says which, in Chinese."""


# Views ------------------------------------------------------------------------------


@roles("coordinator", "admin")
async def roster(request: web.Request) -> web.StreamResponse:
    store = request["stores"].roster
    now = utc_now()
    lawyers = await _call(request, store.lawyers)
    shifts = await _call(request, store.shifts, now, now + timedelta(days=ROSTER_DAYS))
    code = request.query.get("m", "")
    message = ROSTER_NOTICES.get(code) or NOTICES.get(code, "")
    return _html(roster_page(request["staff"], _csrf(request), lawyers, shifts, now, message))


@roles("coordinator", "admin")
async def add_lawyer(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        details = lawyer_details(form)
    except FormError as error:
        return _invalid(request, str(error), 400)
    await _call(request, request["stores"].roster.add_lawyer, details, request["staff"].username)
    raise web.HTTPSeeOther("/console/roster?m=lawyer_added")


@roles("coordinator", "admin")
async def edit_lawyer(request: web.Request) -> web.StreamResponse:
    lawyer = await _lawyer(request)
    return _html(lawyer_page(request["staff"], _csrf(request), lawyer))


@roles("coordinator", "admin")
async def save_lawyer(request: web.Request) -> web.StreamResponse:
    lawyer = await _lawyer(request)
    form = await request.post()
    try:
        details = lawyer_details(form)
    except FormError as error:
        page = lawyer_page(request["staff"], _csrf(request), lawyer, str(error))
        return _html(page, 400)
    store = request["stores"].roster
    await _call(request, store.update_lawyer, lawyer.id, details, request["staff"].username)
    raise web.HTTPSeeOther("/console/roster?m=lawyer_saved")


@roles("coordinator", "admin")
async def add_shift(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        lawyer_id = _number(form.get("lawyer"), "值班律师", 1, 10**9)
        starts, ends = shift_times(
            str(form.get("day") or ""), str(form.get("start") or ""), str(form.get("end") or "")
        )
    except FormError as error:
        return _invalid(request, str(error), 400)
    store = request["stores"].roster
    await _call(request, store.add_shift, lawyer_id, starts, ends, request["staff"].username)
    raise web.HTTPSeeOther("/console/roster?m=shift_added")


@roles("coordinator", "admin")
async def off_duty(request: web.Request) -> web.StreamResponse:
    lawyer = await _lawyer(request)
    await _call(request, request["stores"].roster.end_duty, lawyer.id, request["staff"].username)
    raise web.HTTPSeeOther("/console/roster?m=off_duty")


async def _lawyer(request: web.Request) -> LawyerProfile:
    wanted = request.match_info["lawyer_id"]
    lawyers = await _call(request, request["stores"].roster.lawyers)
    found = next((lawyer for lawyer in lawyers if str(lawyer.id) == wanted), None)
    if found is None:
        body = pages.error_page("没有找到", "没有这位律师。", request["staff"], _csrf(request))
        raise web.HTTPNotFound(text=body, content_type="text/html")
    return found


def _invalid(request: web.Request, why: str, status: int) -> web.Response:
    body = pages.error_page("没有保存", why, request["staff"], _csrf(request))
    body = body.replace("</h1>", '</h1><p><a href="/console/roster">回到排班</a></p>', 1)
    return _html(body, status)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/roster", roster),
        web.post("/roster/lawyer", add_lawyer),
        web.get("/roster/lawyer/{lawyer_id:\\d+}", edit_lawyer),
        web.post("/roster/lawyer/{lawyer_id:\\d+}", save_lawyer),
        web.post("/roster/lawyer/{lawyer_id:\\d+}/off-duty", off_duty),
        web.post("/roster/shift", add_shift),
    ]


# Reading the forms ------------------------------------------------------------------


def lawyer_details(form: object) -> LawyerDetails:
    """The profile a form describes; FormError names the field to correct."""
    get = form.get  # type: ignore[attr-defined]
    name = str(get("display_name") or "").strip()
    if not 1 <= len(name) <= 64:
        raise FormError("请填写律师姓名（不超过 64 个字）。")
    years = _number(get("years_of_practice"), "执业年限", 0, 70)
    criminal = _number(get("criminal_practice_years") or "0", "刑事辩护年限", 0, 70)
    if criminal > years:
        raise FormError("刑事辩护年限不能超过执业年限。")
    specialities = frozenset(str(v) for v in form.getall("specialities", []))  # type: ignore[attr-defined]
    unknown = specialities - set(pages.matter_keys())
    if unknown:
        raise FormError("擅长领域里有不认识的事项。")
    languages = frozenset(str(v) for v in form.getall("languages", [])) or {"zh"}  # type: ignore[attr-defined]
    if not languages <= set(LANGUAGE_NAMES):
        raise FormError("语言里有不认识的选项。")
    return LawyerDetails(
        display_name=name,
        years_of_practice=years,
        criminal_practice_years=criminal,
        specialities=specialities,
        disability_experience=get("disability_experience") == "yes",
        sign_language=get("sign_language") == "yes",
        languages=frozenset(languages),
        active=get("active") == "yes",  # an unticked box is not sent at all
    )


def shift_times(day: str, start: str, end: str) -> tuple[datetime, datetime]:
    """A shift from the form's China-time day and hours; an end at or before the
    start is the next morning (a night shift)."""
    try:
        on = date.fromisoformat(day)
        starts_at = datetime.combine(on, time.fromisoformat(start), CHINA_TIME)
        ends_at = datetime.combine(on, time.fromisoformat(end), CHINA_TIME)
    except ValueError:
        raise FormError("请填写值班日期和开始、结束时间。") from None
    if ends_at <= starts_at:
        ends_at += timedelta(days=1)
    if ends_at - starts_at > timedelta(hours=24):
        raise FormError("一次值班不能超过 24 小时。")
    return starts_at, ends_at


def _number(value: object, field: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise FormError(f"{field}要填一个整数。") from None
    if not low <= number <= high:
        raise FormError(f"{field}要在 {low} 到 {high} 之间。")
    return number


# Pages ------------------------------------------------------------------------------


def roster_page(
    staff: object,
    csrf: str,
    lawyers: list[LawyerProfile],
    shifts: list[Shift],
    now: datetime,
    message: str = "",
) -> str:
    main = (
        "<h1>排班和律师</h1>"
        f"{notice(message)}"
        f"{_shifts_section(lawyers, shifts, now)}"
        f"{_lawyers_section(csrf, lawyers)}"
        f"{_shift_form(csrf, lawyers, now)}"
        '<section aria-labelledby="add-lawyer-heading">'
        '<h2 id="add-lawyer-heading">添加律师</h2>'
        f"{_lawyer_form(csrf, '/console/roster/lawyer', None, '添加律师')}</section>"
    )
    return layout("排班和律师", main, staff, csrf)  # type: ignore[arg-type]


def lawyer_page(staff: object, csrf: str, lawyer: LawyerProfile, error: str = "") -> str:
    main = (
        f"<h1>律师资料：{escape(lawyer.display_name)}</h1>"
        f"{notice(error, 'error')}"
        f"{_lawyer_form(csrf, f'/console/roster/lawyer/{lawyer.id}', lawyer, '保存')}"
        '<p><a href="/console/roster">回到排班</a></p>'
    )
    return layout(f"律师资料：{lawyer.display_name}", main, staff, csrf)  # type: ignore[arg-type]


def _shifts_section(lawyers: list[LawyerProfile], shifts: list[Shift], now: datetime) -> str:
    names = {lawyer.id: lawyer.display_name for lawyer in lawyers}
    rows = "".join(
        f"<tr><td>{china_time(shift.starts_at)}</td><td>{china_time(shift.ends_at)}</td>"
        f'<th scope="row">{escape(names.get(shift.lawyer_id, "?"))}</th>'
        f"<td>{'值班中' if shift.covers(now) else ''}</td></tr>"
        for shift in sorted(shifts, key=lambda s: (s.starts_at, s.lawyer_id))
    )
    table = (
        f"<table><caption>今后 {ROSTER_DAYS} 天的值班（北京时间）</caption><thead><tr>"
        '<th scope="col">开始</th><th scope="col">结束</th><th scope="col">律师</th>'
        f'<th scope="col">现在</th></tr></thead><tbody>{rows}</tbody></table>'
        if rows
        else f"<p>今后 {ROSTER_DAYS} 天还没有排班。没人值班时，当事人会听到下一班的时间和12348热线。</p>"
    )
    return f'<section aria-labelledby="shifts-heading"><h2 id="shifts-heading">值班表</h2>{table}</section>'


def _lawyers_section(csrf: str, lawyers: list[LawyerProfile]) -> str:
    if not lawyers:
        return '<section aria-labelledby="lawyers-heading"><h2 id="lawyers-heading">律师</h2><p>还没有律师。</p></section>'
    rows = "".join(_lawyer_row(csrf, lawyer) for lawyer in lawyers)
    headers = (
        "姓名",
        "执业年限",
        "刑事辩护年限",
        "擅长",
        "残疾人案件经验",
        "手语",
        "语言",
        "状态",
        "操作",
    )
    return (
        '<section aria-labelledby="lawyers-heading"><h2 id="lawyers-heading">律师</h2>'
        "<table><caption>匹配规则按这些资料选律师：例如可能判处死刑的案件要三年以上刑事辩护经历"
        "（《法律援助法》第二十六条），残疾人案件优先由有经验的律师承办（包头市办法）。</caption>"
        "<thead><tr>"
        + "".join(f'<th scope="col">{h}</th>' for h in headers)
        + f"</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _lawyer_row(csrf: str, lawyer: LawyerProfile) -> str:
    name = escape(lawyer.display_name)
    specialities = "、".join(matter_name(key) for key in sorted(lawyer.specialities)) or "—"
    languages = "、".join(LANGUAGE_NAMES.get(code, code) for code in sorted(lawyer.languages))
    off_duty_form = (
        f'<form method="post" action="/console/roster/lawyer/{lawyer.id}/off-duty" class="inline">'
        f'{csrf_field(csrf)}<button type="submit">{name}结束值班</button></form>'
    )
    return (
        f'<tr><th scope="row">{name}</th><td>{lawyer.years_of_practice}</td>'
        f"<td>{lawyer.criminal_practice_years}</td><td>{escape(specialities)}</td>"
        f"<td>{'有' if lawyer.disability_experience else '无'}</td>"
        f"<td>{'会' if lawyer.sign_language else '不会'}</td><td>{escape(languages)}</td>"
        f"<td>{'在册' if lawyer.active else '停用'}</td>"
        f'<td><a href="/console/roster/lawyer/{lawyer.id}">编辑{name}</a> {off_duty_form}</td></tr>'
    )


def _shift_form(csrf: str, lawyers: list[LawyerProfile], now: datetime) -> str:
    active = [lawyer for lawyer in lawyers if lawyer.active]
    if not active:
        return ""
    options = "".join(
        f'<option value="{lawyer.id}">{escape(lawyer.display_name)}</option>' for lawyer in active
    )
    today = now.astimezone(CHINA_TIME).date().isoformat()
    return (
        '<section aria-labelledby="add-shift-heading"><h2 id="add-shift-heading">添加值班</h2>'
        '<form method="post" action="/console/roster/shift" class="stack">'
        f"{csrf_field(csrf)}"
        f'<label for="shift-lawyer">律师</label><select id="shift-lawyer" name="lawyer" required>{options}</select>'
        f'<label for="shift-day">日期</label><input id="shift-day" name="day" type="date" required value="{today}">'
        '<label for="shift-start">开始时间（北京时间）</label>'
        '<input id="shift-start" name="start" type="time" required value="09:00">'
        '<label for="shift-end">结束时间（早于开始时间即为次日，夜班）</label>'
        '<input id="shift-end" name="end" type="time" required value="17:00">'
        '<button type="submit">添加值班</button></form></section>'
    )


def _lawyer_form(csrf: str, action: str, lawyer: LawyerProfile | None, button: str) -> str:
    prefix = f"l{lawyer.id}-" if lawyer else "new-"
    name = escape(lawyer.display_name) if lawyer else ""
    years = lawyer.years_of_practice if lawyer else ""
    criminal = lawyer.criminal_practice_years if lawyer else 0
    chosen = lawyer.specialities if lawyer else frozenset()
    languages = lawyer.languages if lawyer else frozenset({"zh"})
    specialities = "".join(
        _checkbox(f"{prefix}spec-{key}", "specialities", key, matter_name(key), key in chosen)
        for key in pages.matter_keys()
    )
    language_boxes = "".join(
        _checkbox(f"{prefix}lang-{code}", "languages", code, label, code in languages)
        for code, label in LANGUAGE_NAMES.items()
    )
    flags = "".join(
        _checkbox(f"{prefix}{field}", field, "yes", label, bool(value))
        for field, label, value in (
            (
                "disability_experience",
                "办过残疾人案件（残疾人案件优先匹配）",
                lawyer and lawyer.disability_experience,
            ),
            ("sign_language", "会手语", lawyer and lawyer.sign_language),
            ("active", "在册（停用后不再匹配，也不能排班）", lawyer.active if lawyer else True),
        )
    )
    return (
        f'<form method="post" action="{action}" class="stack">{csrf_field(csrf)}'
        f'<label for="{prefix}name">姓名（当事人点名时用）</label>'
        f'<input id="{prefix}name" name="display_name" type="text" required maxlength="64" value="{name}">'
        f'<label for="{prefix}years">执业年限</label>'
        f'<input id="{prefix}years" name="years_of_practice" type="number" min="0" max="70" required value="{years}">'
        f'<label for="{prefix}criminal">刑事辩护年限（可能判处死刑的案件要三年以上，第二十六条）</label>'
        f'<input id="{prefix}criminal" name="criminal_practice_years" type="number" min="0" max="70" value="{criminal}">'
        f"<fieldset><legend>擅长领域</legend>{specialities}</fieldset>"
        f"<fieldset><legend>能用的语言</legend>{language_boxes}</fieldset>"
        f"<fieldset><legend>其他</legend>{flags}</fieldset>"
        f'<button type="submit">{button}</button></form>'
    )


def _checkbox(box_id: str, name: str, value: str, label: str, checked: bool) -> str:
    mark = " checked" if checked else ""
    return (
        f'<div class="check"><input type="checkbox" id="{escape(box_id)}" name="{name}" '
        f'value="{escape(value)}"{mark}><label for="{escape(box_id)}">{escape(label)}</label></div>'
    )
