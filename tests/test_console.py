"""The staff console (/console/ on the gateway) against the whole stack: who may
see what, CSRF, lockout, the audit of every read, and a lawyer's keyboard-only
session in Chromium, audited by axe-core."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from bot.console.session import SESSION_COOKIE, SESSION_SECONDS, Signer
from bot.web_identity import SENDER_COOKIE
from legal_aid.times import CHINA_TIME
from store.crypto import KeyRing, new_key_entry
from store.handoff import HandoffRequest, HandoffSummary, LawyerDetails
from store.intake import IntakeStore
from store.models import utc_now
from store.staff import StaffAccounts
from tests.support.browser_support import audit, focused, launch_chromium, screenshot
from tests.support.handoff_stores import handoff_stores
from tests.test_store import application

PASSWORD = "correct horse battery staple"
STORY = "包工头拖欠我三个月工资，一共九千元"
PERSON_SAYS = "我现在在工地门口，老板不接电话"
REPLY = "您好，我是值班律师。请先把欠条和考勤记录拍照保存好。"


# The centre: accounts and lawyers in the stack's own database ------------------------


class Centre:
    """A coordinator, an administrator and two lawyers on duty, unique to this run."""

    def __init__(self, stack) -> None:
        child = stack.child_env()
        self.env = {
            "DATABASE_URL": child["DATABASE_URL"],
            **{n: child[n] for n in ("PII_KEY", "PII_KEY_FILE") if child.get(n)},
        }
        self.url = f"{stack.gateway_url}/console"
        self.roster, self.tickets, self.relay, self.console = handoff_stores(self.env)
        self.accounts = StaffAccounts.from_env(self.env)
        self.intakes = IntakeStore.from_env(self.env)
        self.tag = uuid.uuid4().hex[:6]
        self.lawyer_ids: list[int] = []
        self.coord = self.account("coord", "coordinator")
        self.admin = self.account("admin", "admin")
        self.wang = self.lawyer("wang", "王丽")
        self.li = self.lawyer("li", "李强")

    def account(self, name: str, role: str, lawyer_id: int | None = None) -> str:
        username = f"{name}-{self.tag}"
        self.accounts.create(username, PASSWORD, role, lawyer_id=lawyer_id)
        return username

    def lawyer(self, name: str, display: str) -> str:
        added = self.roster.add_lawyer(LawyerDetails(f"{display}{self.tag}", 5, 0), by=self.coord)
        self.lawyer_ids.append(added.id)
        now = utc_now()
        self.roster.add_shift(
            added.id, now - timedelta(hours=1), now + timedelta(hours=8), self.coord
        )
        return self.account(name, "lawyer", lawyer_id=added.id)

    def ticket(self, intake_reference: str | None = None, story: str = STORY) -> tuple[str, str]:
        """A waiting ticket, as the person's side creates it: (reference, conversation id)."""
        conversation = f"web-{uuid.uuid4().hex[:12]}"
        made = self.tickets.create_ticket(
            HandoffRequest(
                conversation_id=conversation,
                channel="rest",
                summary=HandoffSummary(
                    matter_type="labor_wages",
                    who="本人，45岁，男，进城务工",
                    what_happened=story,
                    eligibility_result="符合条件：农民工追索劳动报酬（第四十二条第（三）项）",
                ),
                facts={"region": "baotou", "age": 45, "gender": "male", "migrant_worker": True},
                transcript=(("person", story), ("assistant", "我帮您转给值班律师。")),
                intake_reference=intake_reference,
            )
        )
        return made.reference, conversation

    def close(self) -> None:
        # The stack is shared by the whole session: later tests expect nobody on duty.
        for lawyer_id in self.lawyer_ids:
            self.roster.end_duty(lawyer_id, self.coord)
        for opened in (self.roster, self.accounts, self.intakes):
            opened.close()


@pytest.fixture(scope="module")
def centre(stack) -> Iterator[Centre]:
    opened = Centre(stack)
    yield opened
    opened.close()


# HTTP helpers ---------------------------------------------------------------------------------


def csrf_in(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(
    centre: Centre, username: str, password: str = PASSWORD
) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    form = browser.get(f"{centre.url}/login", timeout=30)
    answer = browser.post(
        f"{centre.url}/login",
        data={"username": username, "password": password, "csrf": csrf_in(form.text)},
        timeout=30,
    )
    return browser, answer


def logged_in(centre: Centre, username: str) -> requests.Session:
    browser, answer = login(centre, username)
    assert answer.status_code == 200 and "退出登录" in answer.text
    return browser


def actions(centre: Centre, reference: str) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.purpose) for e in centre.console.audit_log(reference)]


# Authorization ------------------------------------------------------------------------------------


def sender_of_page(page: Page) -> str:
    """Who the page speaks as: the gateway's signed cookie holds `sender.signature`."""
    (cookie,) = [c for c in page.context.cookies() if c["name"] == SENDER_COOKIE]
    return cookie["value"].rpartition(".")[0]


def test_without_a_session_every_page_sends_to_the_login_page(centre):
    reference, _ = centre.ticket()
    for path in ("/", f"/ticket/{reference}", f"/ticket/{reference}/messages"):
        answer = requests.get(centre.url + path, allow_redirects=False, timeout=30)
        assert answer.status_code == 303 and answer.headers["Location"] == "/console/login"
    posted = requests.post(
        f"{centre.url}/claim", data={"reference": reference}, allow_redirects=False, timeout=30
    )
    assert posted.status_code == 303
    assert requests.get(f"{centre.url}/ws", timeout=30).status_code == 401
    page = requests.get(f"{centre.url}/", timeout=30)
    assert "<h1>员工登录</h1>" in page.text and 'lang="zh-CN"' in page.text
    assert page.headers["Cache-Control"] == "no-store"


def test_forged_and_expired_cookies_are_refused_and_a_signed_one_accepted(centre):
    keys = KeyRing.from_env(centre.env)
    other = Signer(KeyRing.parse(new_key_entry()))
    _, valid = Signer(keys).new_session(centre.coord)
    _, expired = Signer(keys).new_session(centre.coord, now=time.time() - SESSION_SECONDS - 5)
    _, foreign = other.new_session(centre.coord)
    payload, _, signature = valid.partition(".")
    forged_payload = Signer(keys).new_session(centre.admin)[1].partition(".")[0]
    refused = {
        "other key": foreign,
        "expired": expired,
        "payload swapped": f"{forged_payload}.{signature}",
        "no signature": payload,
        "garbage": "bm9ib2R5.k1:00",
    }
    for name, cookie in refused.items():
        answer = requests.get(
            f"{centre.url}/", cookies={SESSION_COOKIE: cookie}, allow_redirects=False, timeout=30
        )
        assert answer.status_code == 303, name
        assert answer.headers["Location"] == "/console/login", name
    # Signed with the store's key in another process: the gateway accepts it, so
    # sessions survive restarts and work on every gateway that has the key.
    accepted = requests.get(f"{centre.url}/", cookies={SESSION_COOKIE: valid}, timeout=30)
    assert accepted.status_code == 200 and "等待接待的对话" in accepted.text


def test_sessions_survive_a_key_rotation_and_csrf_tokens_are_bound_to_their_session():
    old, new = new_key_entry(), new_key_entry()
    before = Signer(KeyRing.parse(old))
    session, cookie = before.new_session("wang")
    after = Signer(KeyRing.parse(f"{new},{old}"))  # the new key first, the old kept
    assert after.session_of(cookie) == session
    assert Signer(KeyRing.parse(new)).session_of(cookie) is None  # old key removed
    token = before.csrf_token(session.nonce)
    assert after.csrf_valid(session.nonce, token)
    assert not after.csrf_valid("another nonce", token)
    assert not after.csrf_valid(session.nonce, "")


def test_the_session_cookie_is_httponly_strict_and_expires(centre):
    browser, answer = login(centre, centre.coord)
    assert answer.status_code == 200
    header = answer.history[0].headers["Set-Cookie"]
    assert f"{SESSION_COOKIE}=" in header
    assert "HttpOnly" in header and "SameSite=Strict" in header
    assert f"Max-Age={SESSION_SECONDS}" in header and "Path=/console/" in header
    logout = browser.post(f"{centre.url}/logout", data={"csrf": csrf_in(answer.text)}, timeout=30)
    assert "您已退出登录" in logout.text
    assert browser.get(f"{centre.url}/", allow_redirects=False, timeout=30).status_code == 303


def test_a_post_without_the_right_csrf_token_is_refused(centre):
    reference, _ = centre.ticket()
    browser = logged_in(centre, centre.wang)
    for data in ({"reference": reference}, {"reference": reference, "csrf": "k1:" + "0" * 64}):
        answer = browser.post(f"{centre.url}/claim", data=data, timeout=30)
        assert answer.status_code == 403 and "表单已过期" in answer.text
    assert centre.console.ticket(reference, centre.coord, "测试核对").status == "waiting"
    # Another session's token is no good either.
    other = logged_in(centre, centre.li)
    token = csrf_in(other.get(f"{centre.url}/", timeout=30).text)
    answer = browser.post(
        f"{centre.url}/claim", data={"reference": reference, "csrf": token}, timeout=30
    )
    assert answer.status_code == 403
    # The login form has its own token.
    bare = requests.post(
        f"{centre.url}/login", data={"username": centre.wang, "password": PASSWORD}, timeout=30
    )
    assert bare.status_code == 403 and "登录页面已过期" in bare.text


def test_five_wrong_passwords_lock_the_account(centre):
    username = centre.account("lock", "coordinator")
    for _ in range(4):
        _, answer = login(centre, username, "wrong password!!")
        assert answer.status_code == 401 and "用户名或密码不对" in answer.text
    _, fifth = login(centre, username, "wrong password!!")
    assert fifth.status_code == 403 and "账号已锁定" in fifth.text
    _, right = login(centre, username)  # even the right password, while locked
    assert right.status_code == 403 and "账号已锁定" in right.text and "北京时间" in right.text


def test_a_lawyer_cannot_open_another_lawyers_ticket(centre):
    reference, _ = centre.ticket()
    centre.console.claim(reference, centre.wang)
    li = logged_in(centre, centre.li)
    page = li.get(f"{centre.url}/ticket/{reference}", timeout=30)
    assert page.status_code == 403
    assert "您没有权限" in page.text and STORY not in page.text
    assert li.get(f"{centre.url}/ticket/{reference}/messages", timeout=30).status_code == 403
    token = csrf_in(page.text)
    sent = li.post(
        f"{centre.url}/ticket/{reference}/message", data={"text": "x", "csrf": token}, timeout=30
    )
    assert sent.status_code == 403
    back = li.post(f"{centre.url}/ticket/{reference}/hand-back", data={"csrf": token}, timeout=30)
    assert back.status_code == 403
    assert (f"staff:{centre.li}", "handoff_read_refused", "接待") in actions(centre, reference)
    assert centre.console.ticket(reference, centre.coord, "测试核对").status == "claimed"


def test_an_administrator_reads_no_ticket(centre):
    reference, _ = centre.ticket()
    admin = logged_in(centre, centre.admin)
    home = admin.get(f"{centre.url}/", timeout=30)
    assert "不查看当事人的对话" in home.text and reference not in home.text
    page = admin.get(f"{centre.url}/ticket/{reference}", timeout=30)
    assert page.status_code == 403 and STORY not in page.text
    assert not any(actor == f"staff:{centre.admin}" for actor, _, _ in actions(centre, reference))


def test_every_read_of_a_ticket_and_its_application_is_audited(centre):
    intake = centre.intakes.submit(application(f"console-{uuid.uuid4().hex[:8]}")).reference
    reference, conversation = centre.ticket(intake, story="<script>alert(1)</script>欠薪")
    centre.relay.add_person_message(conversation, PERSON_SAYS)
    coord = logged_in(centre, centre.coord)
    page = coord.get(f"{centre.url}/ticket/{reference}", timeout=30)
    assert page.status_code == 200
    assert PERSON_SAYS in page.text and application().name in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)" in page.text
    coord.get(f"{centre.url}/ticket/{reference}/messages", timeout=30)
    me = f"staff:{centre.coord}"
    seen = actions(centre, reference)
    assert (me, "handoff_read", "接待") in seen
    assert seen.count((me, "handoff_messages", "接待")) == 2
    intake_reads = [
        (e.actor, e.action, e.purpose)
        for e in centre.console.audit_log(intake)
        if e.action == "read"
    ]
    assert intake_reads == [(me, "read", "承办申请")]
    # A lawyer who could take the waiting ticket may read it to decide, but not its application.
    wang = logged_in(centre, centre.wang)
    waiting = wang.get(f"{centre.url}/ticket/{reference}", timeout=30)
    assert waiting.status_code == 200 and application().name not in waiting.text
    assert (f"staff:{centre.wang}", "handoff_read", "接待") in actions(centre, reference)


def test_notes_stay_with_staff_and_a_lawyer_finds_their_conversations(centre):
    reference, conversation = centre.ticket()
    centre.console.claim(reference, centre.wang)
    wang = logged_in(centre, centre.wang)
    page = wang.get(f"{centre.url}/ticket/{reference}", timeout=30)
    noted = wang.post(
        f"{centre.url}/ticket/{reference}/note",
        data={"note": "下周一带欠条来中心", "csrf": csrf_in(page.text)},
        timeout=30,
    )
    assert noted.status_code == 200 and "备注已保存" in noted.text
    assert "下周一带欠条来中心" in noted.text
    # Notes are never relayed: the person's conversation shows nothing of it.
    assert centre.relay.lawyer_messages_for_person(reference, 0) == []
    li = logged_in(centre, centre.li)
    refused = li.post(
        f"{centre.url}/ticket/{reference}/note",
        data={"note": "x", "csrf": csrf_in(li.get(f"{centre.url}/", timeout=30).text)},
        timeout=30,
    )
    assert refused.status_code == 403

    mine = wang.get(f"{centre.url}/mine", timeout=30)
    assert reference in mine.text and "接待中" in mine.text
    assert reference not in li.get(f"{centre.url}/mine", timeout=30).text
    coord = logged_in(centre, centre.coord)
    assert coord.get(f"{centre.url}/mine", timeout=30).status_code == 403
    assert (f"staff:{centre.wang}", "handoff_note", "写备注") in actions(centre, reference)


def test_a_lawyer_cannot_change_the_roster(centre):
    wang = logged_in(centre, centre.wang)
    assert wang.get(f"{centre.url}/roster", timeout=30).status_code == 403
    token = csrf_in(wang.get(f"{centre.url}/", timeout=30).text)
    added = wang.post(
        f"{centre.url}/roster/lawyer",
        data={"display_name": "冒名律师", "years_of_practice": "9", "csrf": token},
        timeout=30,
    )
    assert added.status_code == 403
    assert "冒名律师" not in [lawyer.display_name for lawyer in centre.roster.lawyers()]


# In the browser, by keyboard only ---------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        opened = launch_chromium(playwright)
        yield opened
        opened.close()


@contextmanager
def console_window(browser: Browser, centre: Centre, username: str) -> Iterator[Page]:
    """A browser window of its own, logged in to the console as `username`.
    bypass_csp: the console forbids inline scripts, and axe-core is injected inline."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1100, "height": 900}, bypass_csp=True
    )
    try:
        page = context.new_page()
        page.goto(f"{centre.url}/login")
        page.locator("#username").fill(username)
        page.locator("#password").fill(PASSWORD)
        page.locator("#password").press("Enter")
        page.wait_for_selector("text=退出登录")
        yield page
    finally:
        context.close()


def tab_to(page: Page, wanted, max_presses: int = 60) -> dict:
    """Tab until `wanted(focused)`; every stop on the way shows its focus."""
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        now = focused(page)
        if now["tag"] == "body":
            continue
        assert now["visible"], f"focus not visible on {now}"
        if wanted(now):
            return now
    raise AssertionError("never reached by Tab")


def test_a_lawyer_takes_a_conversation_by_keyboard(centre, browser):
    reference, conversation = centre.ticket()
    centre.relay.add_person_message(conversation, PERSON_SAYS)
    # bypass_csp: the console forbids inline scripts, and axe-core is injected inline.
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1100, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    try:
        page.goto(f"{centre.url}/")
        assert page.locator("h1").inner_text() == "员工登录"
        audit(page, "login")
        tab_to(page, lambda f: f["id"] == "username")
        page.keyboard.type(centre.wang)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#queue-rows >> text={reference}")
        audit(page, "queue")

        # A ticket that arrives while the page is open comes by WebSocket, announced.
        newcomer, _ = centre.ticket()
        page.wait_for_selector(f"#queue-rows >> text={newcomer}", timeout=15_000)
        page.wait_for_function(
            "() => document.getElementById('queue-live').textContent.includes('新来')"
        )
        screenshot(page, "console-queue.png")

        tab_to(page, lambda f: f["text"] == f"接待 {reference}")
        page.keyboard.press("Enter")
        page.wait_for_selector("#messages")
        assert page.locator("h1").inner_text() == f"对话 {reference}"
        assert PERSON_SAYS in page.locator("#messages").inner_text()
        assert STORY in page.locator("#summary-heading + dl").inner_text()
        audit(page, "ticket")

        tab_to(page, lambda f: f["id"] == "reply")
        page.keyboard.type(REPLY)
        page.keyboard.press("Tab")
        assert focused(page)["text"] == "发送"
        page.keyboard.press("Enter")
        page.wait_for_selector("text=消息已发送")
        last = centre.console.messages(reference, centre.coord, "测试核对")[-1]
        assert (last.sender_role, last.author, last.text) == ("lawyer", centre.wang, REPLY)

        # The person answers: the open page shows it without a reload, announced.
        centre.relay.add_person_message(conversation, "好的，谢谢律师")
        page.wait_for_function(
            "() => document.getElementById('messages-live').textContent.includes('好的，谢谢律师')",
            timeout=20_000,
        )
        audit(page, "ticket with new message")
        screenshot(page, "console-ticket.png")

        tab_to(page, lambda f: f["text"] == "交回助手")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=对话已交回助手")
        assert centre.console.ticket(reference, centre.coord, "测试核对").status == "returned"
    finally:
        context.close()


def test_a_web_chat_person_and_a_lawyer_talk_in_two_windows(centre, browser, stack):
    """The issue's whole story: a person on the web chat asks for a human; a lawyer
    in another window takes the ticket, they talk both ways, and the lawyer hands
    the person back to the assistant, who answers again."""
    person = browser.new_context(locale="zh-CN").new_page()
    lawyer = browser.new_context(locale="zh-CN", bypass_csp=True).new_page()
    try:
        person.goto(f"{stack.gateway_url}/")
        person.wait_for_selector("#voice-status:not([hidden])")
        person.locator("#message").focus()
        say_in_page(person, "包工头拖欠我三个月工资")
        asked = say_in_page(person, "转人工")
        assert any("您同意转给律师吗" in text for text in asked)
        assert centre.tickets.open_ticket_for(sender_of_page(person)) is None, (
            "nothing goes to a lawyer before the person agrees"
        )
        # The person agrees with the reply button, by keyboard.
        before = person.locator("#log .msg.bot").count()
        agree = person.get_by_role("button", name="同意，转给律师")
        agree.focus()
        agree.press("Enter")
        person.wait_for_function(
            "(before) => document.querySelectorAll('#log .msg.bot').length > before",
            arg=before,
            timeout=60_000,
        )
        said = person.locator("#log .msg.bot").all_inner_texts()[before:]
        assert any("律师" in text for text in said)
        sender = sender_of_page(person)
        reference = centre.tickets.open_ticket_for(sender)
        assert reference is not None

        lawyer.goto(f"{centre.url}/")
        lawyer.locator("#username").fill(centre.wang)
        lawyer.locator("#password").fill(PASSWORD)
        lawyer.locator("#password").press("Enter")
        lawyer.wait_for_selector(f"#queue-rows >> text={reference}")
        lawyer.get_by_role("button", name=f"接待 {reference}").click()
        lawyer.wait_for_selector("#messages")
        assert "拖欠" in lawyer.locator("#summary-heading + dl").inner_text()

        lawyer.locator("#reply").fill(REPLY)
        lawyer.get_by_role("button", name="发送").click()
        lawyer.wait_for_selector("text=消息已发送")
        # The lawyer's words reach the person's open page, under the lawyer's name.
        person.wait_for_selector(f"#log .msg.lawyer >> text={REPLY}", timeout=40_000)
        say_in_page(person, "好的，我这就拍照")
        lawyer.wait_for_function(
            "() => document.getElementById('messages').textContent.includes('好的，我这就拍照')",
            timeout=30_000,
        )
        audit(person, "the person talking with a lawyer")

        lawyer.get_by_role("button", name="交回助手").click()
        lawyer.wait_for_selector("text=对话已交回助手")
        # Told in words, on the open page, that the assistant is talking again.
        person.wait_for_selector("#log .msg.bot >> text=现在是法援助手在和您说话", timeout=40_000)
        answered = say_in_page(person, "法律援助要钱吗")
        assert any("免费" in text for text in answered)
        screenshot(person, "webchat-after-handoff.png")
    finally:
        person.context.close()
        lawyer.context.close()


def say_in_page(page: Page, text: str) -> list[str]:
    before = page.locator("#log .msg.bot").count()
    page.locator("#message").fill(text)
    page.locator("#message").press("Enter")
    page.wait_for_function(
        """(before) => document.querySelectorAll("#log .msg.bot").length > before
             && document.getElementById("pending").textContent === "" """,
        arg=before,
        timeout=60_000,
    )
    return page.locator("#log .msg.bot").all_inner_texts()[before:]


def test_a_coordinator_keeps_the_roster_by_keyboard(centre, browser):
    """Adds a lawyer, puts them on duty now, corrects their profile and takes them
    off duty: what the matching rules then see."""
    name = f"周敏{centre.tag}"
    with console_window(browser, centre, centre.coord) as page:
        tab_to(page, lambda f: f["text"] == "排班和律师")
        page.keyboard.press("Enter")
        page.wait_for_selector("h1 >> text=排班和律师")
        audit(page, "roster")

        page.get_by_label("姓名（当事人点名时用）").fill(name)
        page.locator("#new-years").fill("6")
        page.locator("#new-criminal").fill("4")
        page.get_by_label("办过残疾人案件（残疾人案件优先匹配）").check()
        page.locator("#new-spec-criminal_defense").check()
        page.get_by_role("button", name="添加律师").press("Enter")
        page.wait_for_selector("text=已添加律师")
        added = next(p for p in centre.roster.lawyers() if p.display_name == name)
        centre.lawyer_ids.append(added.id)  # off duty again at the end of the module
        assert (added.years_of_practice, added.criminal_practice_years) == (6, 4)
        assert added.disability_experience and added.specialities == {"criminal_defense"}

        # The shift starts on the day of its start: in China's first hour after
        # midnight, an hour ago is yesterday (and ends after midnight, a night shift).
        start_china = utc_now().astimezone(CHINA_TIME) - timedelta(hours=1)
        page.locator("#shift-lawyer").select_option(label=name)
        page.locator("#shift-day").fill(start_china.date().isoformat())
        page.locator("#shift-start").fill(start_china.strftime("%H:00"))
        page.locator("#shift-end").fill((start_china + timedelta(hours=4)).strftime("%H:00"))
        page.get_by_role("button", name="添加值班").press("Enter")
        page.wait_for_selector("text=已添加值班")
        assert page.locator("td >> text=值班中").count() >= 1
        now = utc_now()
        assert any(
            s.lawyer_id == added.id and s.covers(now)
            for s in centre.roster.shifts(now, now + timedelta(seconds=1))
        )

        page.get_by_role("link", name=f"编辑{name}").press("Enter")
        page.wait_for_selector(f"h1 >> text={name}")
        audit(page, "lawyer profile")
        page.locator(f"#l{added.id}-criminal").fill("9")  # more than the years: refused
        page.get_by_role("button", name="保存").press("Enter")
        page.wait_for_selector("text=刑事辩护年限不能超过执业年限")
        page.locator(f"#l{added.id}-criminal").fill("3")
        page.get_by_role("button", name="保存").press("Enter")
        page.wait_for_selector("text=律师资料已保存")
        edited = next(p for p in centre.roster.lawyers() if p.id == added.id)
        assert edited.criminal_practice_years == 3 and edited.disability_experience

        page.get_by_role("button", name=f"{name}结束值班").press("Enter")
        page.wait_for_selector("text=已结束值班")
        now = utc_now()
        assert not any(
            s.lawyer_id == added.id and s.covers(now)
            for s in centre.roster.shifts(now, now + timedelta(seconds=1))
        )
        audit(page, "roster after changes")
        screenshot(page, "console-roster.png")
