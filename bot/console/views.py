"""The console's routes: login, queue (with its WebSocket), ticket and its actions."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from bot.appkeys import RELAY, SHARED_STATE
from bot.console import pages
from bot.console.login_guard import HashingBusy, HashingPool, LoginGuard
from bot.console.services import Services, Stores
from bot.console.session import (
    COOKIE_PATH,
    LOGIN_COOKIE,
    LOGIN_FORM_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Session,
)
from bot.limits import client_address
from bot.shared_state import QUEUE_NEWS, SharedState
from store.handoff import (
    HandoffError,
    InvalidTicketTransition,
    NotAllowed,
    UnknownTicket,
    ticket_id_of,
    ticket_reference,
)
from store.intake import UnknownReference
from store.models import utc_now
from store.staff import AccountLocked, InvalidCredentials, StaffIdentity

logger = logging.getLogger(__name__)

SERVICES = web.AppKey("console_services", Services)
SOCKETS = web.AppKey("console_sockets", weakref.WeakSet)
LOGIN_GUARD = web.AppKey("console_login_guard", LoginGuard)
HASHING = web.AppKey("console_hashing", HashingPool)
# The queue is read again when any gateway announces a change (QUEUE_NEWS), and
# at the latest after this (CONSOLE_QUEUE_CHECK_SECONDS): changes made outside
# the gateways (a ticket closed by a script) show by then.
QUEUE_CHECK_SECONDS = float(os.environ.get("CONSOLE_QUEUE_CHECK_SECONDS") or 3.0)
READ_PURPOSE = "接待"
INTAKE_PURPOSE = "承办申请"
PUBLIC_PATHS = ("/console/login",)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Notices after an action are codes in the address, never text from it.
NOTICES = {
    "out": "您已退出登录。",
    "claimed": "您已接待这个对话。当事人会收到您的消息。",
    "sent": "消息已发送。",
    "noted": "备注已保存。只有员工能看到备注。",
    "empty": "消息是空的，没有发送。",
    "returned": "对话已交回助手。",
    "closed": "对话已结束。",
    "released": "对话已退回队列，保留原来的排队位置。",
    "none": "现在没有您可以接待的对话。",
    "ended": "这个对话已经结束，不能再操作。",
}
LOCKED = "连续输错密码的次数太多，账号已锁定。请在北京时间 {until} 之后再试，或联系管理员。"
WRONG = "用户名或密码不对。请再试一次；连续输错 5 次，账号会锁定 15 分钟。"
LOGIN_EXPIRED = "登录页面已过期，请再输入一次。"
LOGIN_BUSY = "现在登录的人太多，请过一会儿再试。"
FORBIDDEN = (
    "您没有权限查看或处理这个对话。它可能已由其他律师接待，不适合您的执业条件，"
    "或者您现在不在值班时间。如需帮助，请联系协调员。"
)
ROLE_FORBIDDEN = "您的账号角色不能使用这个页面。"
NOT_FOUND = "没有找到这个对话。请检查编号是否正确。"
FORM_EXPIRED = "表单已过期或来源不明，没有执行。请回到上一页刷新后再试。"
UNAVAILABLE = "工作台暂时不可用（存储或密钥不可用）。请稍后再试，或联系管理员。"


# Middlewares --------------------------------------------------------------------


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Personal data is never cached, framed or sent elsewhere as a referrer."""
    try:
        response = await handler(request)
    except web.HTTPException as refused:  # redirects and error pages too
        _add_headers(refused)
        raise
    if not response.prepared:
        _add_headers(response)
    return response


def _add_headers(response: web.StreamResponse) -> None:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route but login and static files needs a valid session; every POST
    a CSRF token bound to that session."""
    if request.path in PUBLIC_PATHS or request.path.startswith("/console/static/"):
        return await handler(request)
    try:
        stores = request.app[SERVICES].get(request)
    except Exception:
        logger.exception("console stores unavailable")
        return _html(pages.error_page("暂时不可用", UNAVAILABLE), 503)
    session = stores.signer.session_of(request.cookies.get(SESSION_COOKIE))
    identity = None
    if session is not None:
        identity = await asyncio.to_thread(stores.accounts.identity, session.username)
    if identity is None:
        return _to_login(request)
    request["staff"], request["session"], request["stores"] = identity, session, stores
    if request.method == "POST":
        form = await request.post()
        if not stores.signer.csrf_valid(session.nonce, str(form.get("csrf") or "")):
            return _page(request, "请求被拒绝", FORM_EXPIRED, 403)
    return await handler(request)


def _to_login(request: web.Request) -> web.StreamResponse:
    """No session, a forged or an expired one: refused, and sent to log in."""
    if request.path == "/console/ws":
        return web.Response(status=401, text="请先登录")
    response = web.HTTPSeeOther("/console/login")
    if SESSION_COOKIE in request.cookies:
        response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


def roles(*allowed: str) -> Callable[[Handler], Handler]:
    """Checked on every route, on the account as the database has it now."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            if request["staff"].role not in allowed:
                return _page(request, "没有权限", ROLE_FORBIDDEN, 403)
            return await handler(request)

        return checked

    return decorate


# Login ------------------------------------------------------------------------------


async def login_form(request: web.Request) -> web.StreamResponse:
    stores = request.app[SERVICES].get(request)
    if stores.signer.session_of(request.cookies.get(SESSION_COOKIE)) is not None:
        raise web.HTTPSeeOther("/console/")
    return _login_response(request, stores, info=NOTICES.get(request.query.get("m", ""), ""))


async def login(request: web.Request) -> web.StreamResponse:
    stores = request.app[SERVICES].get(request)
    form = await request.post()
    username = str(form.get("username") or "").strip()
    nonce = stores.signer.login_nonce_of(request.cookies.get(LOGIN_COOKIE))
    if not stores.signer.csrf_valid(nonce, str(form.get("csrf") or "")):
        return _login_response(request, stores, error=LOGIN_EXPIRED, username=username, status=403)
    guard, address, now = request.app[LOGIN_GUARD], client_address(request), utc_now()
    # Locked for this address only: refused before the costly password check.
    locked_until = guard.locked_until(username, address, now)
    if locked_until is not None:
        return _locked(request, stores, username, locked_until)
    try:
        identity = await request.app[HASHING].run(
            stores.accounts.authenticate, username, str(form.get("password") or "")
        )
    except HashingBusy:
        return _login_response(request, stores, error=LOGIN_BUSY, username=username, status=503)
    except AccountLocked as locked:
        return _locked(request, stores, username, locked.until)
    except InvalidCredentials:
        locked_until = guard.failed(username, address, now)
        if locked_until is not None:
            return _locked(request, stores, username, locked_until)
        return _login_response(request, stores, error=WRONG, username=username, status=401)
    guard.succeeded(username, address)
    _, cookie = stores.signer.new_session(identity.username)
    response = web.HTTPSeeOther("/console/")
    _set_cookie(request, response, SESSION_COOKIE, cookie, SESSION_SECONDS)
    response.del_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


def _locked(request: web.Request, stores: Stores, username: str, until: datetime) -> web.Response:
    error = LOCKED.format(until=pages.china_time(until))
    return _login_response(request, stores, error=error, username=username, status=403)


def _login_response(
    request: web.Request,
    stores: Stores,
    error: str = "",
    info: str = "",
    username: str = "",
    status: int = 200,
) -> web.Response:
    cookie = stores.signer.new_login_nonce()
    nonce = stores.signer.login_nonce_of(cookie) or ""
    body = pages.login_page(stores.signer.csrf_token(nonce), error, info, username)
    response = _html(body, status)
    _set_cookie(request, response, LOGIN_COOKIE, cookie, LOGIN_FORM_SECONDS)
    return response


@roles("lawyer", "coordinator", "admin")
async def logout(request: web.Request) -> web.StreamResponse:
    # The cookie is gone from this browser; a copy taken elsewhere stays valid
    # until its expiry, since sessions are not stored (see docs/console.md).
    response = web.HTTPSeeOther("/console/login?m=out")
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


def _set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, seconds: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


# Queue ------------------------------------------------------------------------------


@roles("lawyer", "coordinator", "admin")
async def home(request: web.Request) -> web.StreamResponse:
    staff: StaffIdentity = request["staff"]
    if staff.role == "admin":
        return _html(pages.admin_page(staff, _csrf(request)))
    entries = await _call(request, request["stores"].handoff.queue, staff.username)
    message = NOTICES.get(request.query.get("m", ""), "")
    return _html(pages.queue_page(staff, _csrf(request), entries, utc_now(), message))


@roles("lawyer")
async def claim(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    reference = _reference(str(form.get("reference") or ""))
    await _call(request, request["stores"].handoff.claim, reference, request["staff"].username)
    await request.config_dict[SHARED_STATE].announce(QUEUE_NEWS)
    raise web.HTTPSeeOther(f"/console/ticket/{reference}?m=claimed")


@roles("lawyer")
async def claim_next(request: web.Request) -> web.StreamResponse:
    view = await _call(request, request["stores"].handoff.claim_next, request["staff"].username)
    if view is None:
        raise web.HTTPSeeOther("/console/?m=none")
    await request.config_dict[SHARED_STATE].announce(QUEUE_NEWS)
    raise web.HTTPSeeOther(f"/console/ticket/{view.reference}?m=claimed")


@roles("lawyer", "coordinator")
async def open_ticket(request: web.Request) -> web.StreamResponse:
    reference = _reference(request.query.get("reference", "").strip().upper())
    raise web.HTTPSeeOther(f"/console/ticket/{reference}")


@roles("lawyer", "coordinator")
async def queue_socket(request: web.Request) -> web.StreamResponse:
    """Pushes the queue's rows whenever they change: at once when a gateway says
    so (a ticket opened or claimed), else at the next check every few seconds."""
    if not _same_origin(request):
        return web.Response(status=403, text="来源不明")
    socket = web.WebSocketResponse(heartbeat=30)
    await socket.prepare(request)
    request.app[SOCKETS].add(socket)
    staff, stores = request["staff"], request["stores"]
    shown: tuple[str, ...] | None = None
    rows = ""
    while not socket.closed:
        try:
            entries = await asyncio.to_thread(stores.handoff.queue, staff.username)
        except NotAllowed:
            break  # the account was locked or changed role meanwhile
        references = tuple(e.reference for e in entries)
        fresh = pages.queue_rows(staff, _csrf(request), entries, utc_now())
        if fresh != rows:
            announce = "" if shown is None or references == shown else _announce(shown, references)
            await socket.send_str(
                json.dumps({"count": len(entries), "rows": fresh, "announce": announce})
            )
            rows, shown = fresh, references
        if await _closed_before_news(socket, request.config_dict[SHARED_STATE]):
            break
    await socket.close()
    return socket


def _announce(before: tuple[str, ...], now: tuple[str, ...]) -> str:
    added = len(set(now) - set(before))
    gone = len(set(before) - set(now))
    parts = [f"新来 {added} 个对话" if added else "", f"{gone} 个已被接待或结束" if gone else ""]
    return "队列已更新：" + "，".join(p for p in parts if p) + f"。现在等待 {len(now)} 个。"


async def _closed_before_news(socket: web.WebSocketResponse, state: SharedState) -> bool:
    """Waits for news of the queue or the next check; True when the browser closed
    the socket meanwhile."""
    received = asyncio.ensure_future(socket.receive())
    news = asyncio.ensure_future(state.wait_for(QUEUE_NEWS, QUEUE_CHECK_SECONDS))
    done, _ = await asyncio.wait({received, news}, return_when=asyncio.FIRST_COMPLETED)
    for waiting in (received, news):
        waiting.cancel()
    if received not in done:
        return False
    if received.exception() is not None:
        return True
    closed = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)
    return received.result().type in closed


def _same_origin(request: web.Request) -> bool:
    # Browsers send Origin with every WebSocket; another site's page is refused.
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


# Ticket ----------------------------------------------------------------------------------


@roles("lawyer", "coordinator")
async def ticket(request: web.Request) -> web.StreamResponse:
    reference = _reference(request.match_info["reference"])
    staff = request["staff"]
    view, messages, notes, intake = await _call(
        request, _read_ticket, request["stores"], staff, reference
    )
    message = NOTICES.get(request.query.get("m", ""), "")
    return _html(pages.ticket_page(staff, _csrf(request), view, messages, notes, intake, message))


def _read_ticket(stores: Stores, staff: StaffIdentity, reference: str):
    """The ticket, its messages and (for those who handle it) its application: all audited."""
    view = stores.handoff.ticket(reference, staff.username, READ_PURPOSE)
    messages = stores.handoff.messages(reference, staff.username, READ_PURPOSE)
    notes = stores.handoff.notes(reference, staff.username, READ_PURPOSE)
    intake = None
    handles = staff.role == "coordinator" or (
        staff.lawyer_id is not None and view.assigned_lawyer_id == staff.lawyer_id
    )
    if view.intake_reference and handles:
        try:
            intake = stores.intake.read(view.intake_reference, staff.actor, INTAKE_PURPOSE)
        except UnknownReference:
            intake = None
    return view, messages, notes, intake


@roles("lawyer", "coordinator")
async def ticket_messages(request: web.Request) -> web.StreamResponse:
    """The messages after `?after=<id>`, for the page's refresh while it is open:
    an audited read when there is something new, and nothing logged when not."""
    reference = _reference(request.match_info["reference"])
    try:
        after = max(0, int(request.query.get("after", "0")))
    except ValueError:
        after = 0
    messages = await _call(
        request,
        request["stores"].handoff.messages,
        reference,
        request["staff"].username,
        READ_PURPOSE,
        after,
    )
    response = _html(pages.message_items(messages, empty="" if after else None))
    response.headers["X-Message-Count"] = str(len(messages))
    return response


@roles("lawyer")
async def send_message(request: web.Request) -> web.StreamResponse:
    reference = _reference(request.match_info["reference"])
    text = str((await request.post()).get("text") or "").strip()
    if not text:
        raise web.HTTPSeeOther(f"/console/ticket/{reference}?m=empty#reply")
    await _call(
        request, request["stores"].handoff.send_message, reference, text, request["staff"].username
    )
    await _push(request, reference)
    raise web.HTTPSeeOther(f"/console/ticket/{reference}?m=sent#reply")


@roles("lawyer", "coordinator")
async def add_note(request: web.Request) -> web.StreamResponse:
    reference = _reference(request.match_info["reference"])
    text = str((await request.post()).get("note") or "").strip()
    if not text:
        raise web.HTTPSeeOther(f"/console/ticket/{reference}?m=empty#notes")
    await _call(
        request, request["stores"].handoff.add_note, reference, text, request["staff"].username
    )
    raise web.HTTPSeeOther(f"/console/ticket/{reference}?m=noted#notes")


@roles("lawyer")
async def own_tickets(request: web.Request) -> web.StreamResponse:
    staff = request["staff"]
    tickets = await _call(request, request["stores"].handoff.own_tickets, staff.username)
    return _html(pages.own_tickets_page(staff, _csrf(request), tickets))


def _transition(method: str, notice: str) -> Handler:
    @roles("lawyer", "coordinator")
    async def move(request: web.Request) -> web.StreamResponse:
        reference = _reference(request.match_info["reference"])
        store = request["stores"].handoff
        await _call(request, getattr(store, method), reference, request["staff"].username)
        if method != "release":
            await _push(request, reference)  # "the lawyer has gone", on push channels now
        raise web.HTTPSeeOther(f"/console/?m={notice}")

    return move


# Helpers ------------------------------------------------------------------------------


async def _push(request: web.Request, reference: str) -> None:
    """Telegram and WeChat hear a lawyer at once (bot/handoff_relay.py); the web
    chat polls for itself. The relay is absent when the gateway has no key."""
    relay = request.config_dict.get(RELAY)
    if relay is not None:
        await relay.push(reference)


def _reference(text: str) -> str:
    try:
        return ticket_reference(ticket_id_of(text))
    except UnknownTicket:
        raise web.HTTPNotFound(
            text=pages.error_page("没有找到", NOT_FOUND), content_type="text/html"
        ) from None


async def _call(request: web.Request, function: Callable[..., Any], *args: Any) -> Any:
    """A store call in a thread; refusals become polite pages."""
    try:
        return await asyncio.to_thread(function, *args)
    except NotAllowed:
        raise _error(request, "没有权限", FORBIDDEN, web.HTTPForbidden) from None
    except UnknownTicket:
        raise _error(request, "没有找到", NOT_FOUND, web.HTTPNotFound) from None
    except InvalidTicketTransition:
        raise _error(request, "对话已结束", NOTICES["ended"], web.HTTPConflict) from None
    except HandoffError:
        raise _error(request, "没有执行", NOTICES["empty"], web.HTTPBadRequest) from None


def _error(request: web.Request, title: str, text: str, kind: type[web.HTTPException]):
    body = pages.error_page(title, text, request.get("staff"), _csrf(request))
    return kind(text=body, content_type="text/html")


def _page(request: web.Request, title: str, text: str, status: int) -> web.Response:
    return _html(pages.error_page(title, text, request.get("staff"), _csrf(request)), status)


def _csrf(request: web.Request) -> str:
    session: Session | None = request.get("session")
    stores: Stores | None = request.get("stores")
    return "" if session is None or stores is None else stores.signer.csrf_token(session.nonce)


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/login", login_form),
        web.post("/login", login),
        web.post("/logout", logout),
        web.get("/", home),
        web.get("/ws", queue_socket),
        web.post("/claim", claim),
        web.post("/claim-next", claim_next),
        web.get("/open", open_ticket),
        web.get("/ticket/{reference}", ticket),
        web.get("/ticket/{reference}/messages", ticket_messages),
        web.post("/ticket/{reference}/message", send_message),
        web.post("/ticket/{reference}/note", add_note),
        web.get("/mine", own_tickets),
        web.post("/ticket/{reference}/hand-back", _transition("hand_back", "returned")),
        web.post("/ticket/{reference}/close", _transition("close_ticket", "closed")),
        web.post("/ticket/{reference}/release", _transition("release", "released")),
    ]
