"""The web chat in a real browser, as a blind or low-vision person uses it.

Playwright drives the Debian Chromium (never a browser of its own) against the
whole stack. axe-core comes from its npm package (tests/browser, installed by
scripts/setup.sh) and audits every state of the page against WCAG 2.1 A/AA.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from bot.messages import BUSY_REPLY
from scripts.launcher import free_port
from tests.support.browser_support import (
    REPLY_TIMEOUT_MS,
    audit,
    bot_messages,
    focused,
    launch_chromium,
    screenshot,
    wait_for_replies,
)
from tests.support.intake_support import MIGRANT_WORKER, question_in

PROBLEM = "老板拖了我三个月工资不给"
# What a migrant worker answers to each question of the eligibility form,
# recognised by words of the question (as in test_eligibility_dialogue.py).
# The eligibility questions the migrant worker meets, ending with where the case is (art. 38).
ANSWERS = {"哪个省": "山西太原", "务工": "是", "期限": "没有", "保全": "没有", "在哪里办": "本地"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, stack) -> Iterator[Page]:
    """The chat page in a fresh browser profile (so a new conversation)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.goto(f"{stack.gateway_url}/")
    page.wait_for_selector("#voice-status:not([hidden])")  # the script has run
    yield page
    context.close()


# --- helpers -----------------------------------------------------------------


def send_and_wait(page: Page, text: str) -> list[str]:
    """Types a message in the focused text box, presses Enter; the new replies."""
    before = len(bot_messages(page))
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    return wait_for_replies(page, before)


def tab_to(page: Page, wanted, key: str = "Tab", max_presses: int = 30) -> list[dict]:
    """Presses Tab until `wanted(focused)`; every stop must show its focus."""
    stops = []
    for _ in range(max_presses):
        page.keyboard.press(key)
        now = focused(page)
        if now["tag"] == "body":  # between the end of the page and its start
            continue
        assert now["visible"], f"focus not visible on {now}"
        stops.append(now)
        if wanted(now):
            return stops
    raise AssertionError(f"never reached by {key}: {[s['text'] or s['id'] for s in stops]}")


def question_answer(last_reply: str) -> str | None:
    return next((answer for words, answer in ANSWERS.items() if words in last_reply), None)


# --- the empty page ------------------------------------------------------------


def test_the_empty_page_passes_the_audit_and_says_voice_is_off(page):
    voice_status = page.locator("#voice-status").inner_text()
    assert "语音输入" in voice_status and "打字" in voice_status
    assert page.locator("#talk").is_hidden()
    assert page.locator("h1").count() == 1
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    audit(page, "empty page, voice off")


def test_the_gateway_reports_voice_input_off_with_a_reason(stack):
    status = requests.get(f"{stack.gateway_url}/api/voice/status", timeout=10).json()
    assert status["input"] is False, "the test stack has no speech recognition model"
    assert "语音" in status["reason_zh"] and "打字" in status["reason_zh"]


def test_the_microphone_is_offered_when_the_gateway_says_voice_works(browser, stack):
    context = browser.new_context(locale="zh-CN")
    context.route(
        "**/api/voice/status",
        lambda route: route.fulfill(json={"input": True, "output": True, "reason_zh": ""}),
    )
    page = context.new_page()
    page.goto(f"{stack.gateway_url}/")
    talk = page.get_by_role("button", name="按住说话")
    talk.wait_for()
    assert page.locator("#voice-status").is_hidden()
    # Spoken replies are read aloud unless turned off, and the choice is remembered.
    read_aloud = page.get_by_role("button", name="朗读回复")
    assert read_aloud.get_attribute("aria-pressed") == "true"
    read_aloud.press("Enter")
    assert read_aloud.get_attribute("aria-pressed") == "false"
    audit(page, "voice on")
    page.reload()
    page.get_by_role("button", name="朗读回复").wait_for()
    assert page.get_by_role("button", name="朗读回复").get_attribute("aria-pressed") == "false"
    context.close()


# --- a whole consultation by keyboard -----------------------------------------


def test_a_consultation_by_keyboard_only(page):
    first = tab_to(page, lambda f: f["text"] == "跳到输入框")
    assert len(first) == 1, "the skip link is the first stop"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "message"

    replies = send_and_wait(page, PROBLEM)
    assert any("来源：《法律援助法》" in reply for reply in replies)
    assert focused(page)["id"] == "message", "focus stays in the text box after sending"
    audit(page, "a reply with buttons")

    stops = tab_to(page, lambda f: f["choice"] and "查一查" in f["text"])
    assert stops[-1]["text"].startswith("1. ")
    before = len(bot_messages(page))
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "message", "a pressed choice hands focus to the text box"
    replies = wait_for_replies(page, before)

    heard = list(replies)
    for _ in range(6):  # answer whatever the form asks, by typing
        answer = question_answer(replies[-1])
        if answer is None:
            break
        replies = send_and_wait(page, answer)
        heard += replies
    # The decision comes as soon as it is known, the rest of the result at the end.
    result = "\n".join(heard)
    assert "可以申请法律援助" in result and "不需要审查收入" in result
    assert "来源：《法律援助法》第四十二条第（三）项" in result

    log_text = page.get_by_role("log", name="对话记录").inner_text()
    assert PROBLEM in log_text and "山西太原" in log_text
    tab_to(page, lambda f: f["id"] == "message")  # around the page and back: no trap
    shot = screenshot(page, "webchat-consultation.png")
    assert shot.stat().st_size > 10_000


def test_an_application_by_keyboard_ends_with_its_form_to_download(page, stack):
    """The whole application typed, read back and confirmed; then the form, by Tab and Enter."""
    applicant = {**MIGRANT_WORKER, "applicant_name": "周春梅", "phone": "13912340000"}
    applicant.update(phone_confirmed="对", id_number="跳过", matter_type="拖欠工资")
    page.locator("#message").focus()
    send_and_wait(page, "帮我登记")
    for _ in range(40):
        said = page.locator("#log .msg.bot .text").all_inner_texts()
        if any("登记编号是" in text for text in said):
            break
        send_and_wait(page, applicant[question_in(said[-1])])
    log_text = page.get_by_role("log", name="对话记录").inner_text()
    assert "姓名：周春梅" in log_text and "这些都对吗？" in log_text  # the read-back, one list
    assert "登记编号是：FY-" in log_text

    stops = tab_to(page, lambda f: f["tag"] == "a" and "下载法律援助申请表" in f["text"])
    assert stops[-1]["visible"]
    audit(page, "an application submitted, with its form to download")
    links = page.locator("#log .document a")
    assert links.all_inner_texts()[1] == "下载大字版（PDF）"
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    screenshot(page, "webchat-application.png")


def test_tab_reaches_every_control_and_goes_round_without_a_trap(page):
    stops = tab_to(page, lambda f: f["text"] == "说慢一点")
    names = [s["text"] or s["id"] for s in stops]
    for control in ("跳到输入框", "大字", "高对比度", "message", "发送", "再说一遍"):
        assert control in names, names
    again = tab_to(page, lambda f: f["text"] == "跳到输入框")  # wraps round to the start
    assert len(again) <= 2, again
    back = tab_to(page, lambda f: f["text"] == "说慢一点", key="Shift+Tab")
    assert len(back) <= 2, back


def test_the_log_is_in_the_accessibility_tree_with_the_replies(page):
    page.locator("#message").focus()
    send_and_wait(page, PROBLEM)
    tree = page.locator("body").aria_snapshot()
    assert '- log "对话记录"' in tree
    log_tree = page.get_by_role("log", name="对话记录").aria_snapshot()
    assert PROBLEM in log_tree
    assert "来源：《法律援助法》" in log_tree
    assert 'button "1. 查一查能不能申请"' in log_tree
    log = page.locator("#log")
    assert log.get_attribute("aria-live") == "polite" and log.get_attribute("role") == "log"


def test_typing_a_choices_number_sends_that_choice(page):
    page.locator("#message").focus()
    send_and_wait(page, PROBLEM)
    replies = send_and_wait(page, "1")
    assert page.locator("#log .msg.user").last.inner_text() == "我：查一查能不能申请"
    assert "哪个省" in replies[-1]
    assert page.locator("#log .choices button:not([disabled])").count() == 0, "old choices close"


def test_repeat_and_slower_are_buttons_that_send_their_words(page):
    page.get_by_role("button", name="再说一遍").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#log .msg.bot').length > 0", timeout=REPLY_TIMEOUT_MS
    )
    assert page.locator("#log .msg.user").first.inner_text() == "我：再说一遍"
    page.get_by_role("button", name="说慢一点").click()
    page.locator("#log .msg.user").nth(1).wait_for()
    assert page.locator("#log .msg.user").nth(1).inner_text() == "我：说慢一点"


# --- display modes -------------------------------------------------------------


def test_large_text_and_high_contrast_are_toggles_that_are_remembered(page):
    page.locator("#message").focus()
    send_and_wait(page, PROBLEM)
    for name in ("大字", "高对比度"):
        toggle = page.get_by_role("button", name=name)
        assert toggle.get_attribute("aria-pressed") == "false"
        toggle.focus()
        page.keyboard.press("Enter")
        assert toggle.get_attribute("aria-pressed") == "true"
    audit(page, "large text and high contrast")
    page.get_by_role("button", name="大字").click()
    audit(page, "high contrast only")
    page.get_by_role("button", name="大字").click()
    screenshot(page, "webchat-high-contrast-large.png")

    page.reload()
    page.wait_for_selector("#voice-status:not([hidden])")
    classes = page.locator("html").get_attribute("class") or ""
    assert "large-text" in classes and "high-contrast" in classes
    assert page.get_by_role("button", name="大字").get_attribute("aria-pressed") == "true"
    page.get_by_role("button", name="高对比度").click()
    audit(page, "large text only")


def test_the_page_reflows_at_320_css_pixels_in_large_text(page):
    page.locator("#message").focus()
    send_and_wait(page, PROBLEM)
    page.get_by_role("button", name="大字").click()
    page.set_viewport_size({"width": 320, "height": 640})  # 1280 px at 400 %, or 640 at 200 %
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"sideways scroll of {overflow}px at 320 CSS px"
    audit(page, "320 px, large text")


def test_reduced_motion_turns_off_smooth_scrolling(browser, stack):
    context = browser.new_context(reduced_motion="reduce")
    page = context.new_page()
    page.goto(f"{stack.gateway_url}/")
    behaviour = page.evaluate("getComputedStyle(document.documentElement).scrollBehavior")
    transition = page.evaluate(
        "getComputedStyle(document.querySelector('button')).transitionDuration"
    )
    assert behaviour == "auto" and transition == "0s"
    context.close()


# --- errors --------------------------------------------------------------------


def test_a_lost_connection_is_said_in_chinese_in_the_log(page):
    page.route("**/api/chat", lambda route: route.abort())
    page.locator("#message").focus()
    replies = send_and_wait(page, PROBLEM)
    assert "网络好像断了" in replies[-1] and "12348" in replies[-1]


@pytest.fixture(scope="module")
def gateway_without_rasa() -> Iterator[str]:
    """A gateway whose Rasa server is down (nothing listens on its port)."""
    port = free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "RASA_URL": f"http://127.0.0.1:{free_port()}"}
    process = subprocess.Popen([sys.executable, "-m", "bot"], env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # still closing a browser's idle connection
            process.kill()
            process.wait()


def _wait_until_up(url: str) -> None:
    for _ in range(100):
        try:
            requests.get(f"{url}/healthz", timeout=1)
            return
        except requests.ConnectionError:
            subprocess.run(["sleep", "0.2"], check=True)
    raise RuntimeError(f"gateway at {url} did not start")


def test_rasa_down_shows_the_gateways_polite_message_in_the_log(browser, gateway_without_rasa):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{gateway_without_rasa}/")
    page.locator("#message").focus()
    replies = send_and_wait(page, PROBLEM)
    assert replies[-1] == f"助手：{BUSY_REPLY}"
    audit(page, "Rasa down")
    context.close()


# --- without JavaScript ----------------------------------------------------------


def no_script_page(browser: Browser) -> Page:
    return browser.new_context(locale="zh-CN", java_script_enabled=False).new_page()


def post_form(page: Page, text: str) -> None:
    page.locator("#message").fill(text)
    with page.expect_navigation():
        page.locator("#message").press("Enter")


def test_without_javascript_a_message_is_sent_and_answered(browser, stack):
    page = no_script_page(browser)
    page.goto(f"{stack.gateway_url}/")
    post_form(page, PROBLEM)
    assert page.url.endswith("/chat#latest")
    log_text = page.locator("#log").inner_text()
    assert f"我：{PROBLEM}" in log_text
    assert "来源：《法律援助法》" in log_text
    choices = page.locator("#log form.choices button")
    assert choices.first.inner_text() == "1. 查一查能不能申请"

    with page.expect_navigation():
        choices.first.click()  # a choice is a form of its own
    assert "哪个省" in page.locator("#log .msg.bot").last.inner_text()
    post_form(page, "山西太原")  # the conversation so far comes back from Rasa
    post_form(page, "1")  # a number picks a choice without JavaScript too
    log_text = page.locator("#log").inner_text()
    assert PROBLEM in log_text and "我：山西太原" in log_text and "我：是" in log_text
    assert "期限" in page.locator("#log .msg.bot").last.inner_text()
    audit_without_script(browser, page.content(), page.url, "the page without JavaScript")
    screenshot(page, "webchat-no-script.png")
    page.context.close()


def test_without_javascript_markup_in_a_message_is_shown_as_text(browser, stack):
    page = no_script_page(browser)
    page.goto(f"{stack.gateway_url}/")
    post_form(page, "<script>alert(1)</script><b>老板</b>不给工资")
    assert page.locator("#log script, #log b").count() == 0
    assert "我：<script>alert(1)</script><b>老板</b>不给工资" in page.locator("#log").inner_text()
    page.context.close()


def test_the_sender_cookie_is_signed_and_holds_no_message(browser, stack):
    page = no_script_page(browser)
    page.goto(f"{stack.gateway_url}/")
    post_form(page, "我的电话是13812345678")
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"  # bot/web_identity.py says why
    assert "13812345678" not in cookie["value"]
    forged = requests.get(
        f"{stack.gateway_url}/chat",
        cookies={cookie["name"]: cookie["value"].rsplit(".", 1)[0] + ".0000"},
        allow_redirects=False,
        timeout=10,
    )
    assert forged.status_code == 303, "a forged cookie shows nobody's conversation"
    page.context.close()


def audit_without_script(browser: Browser, html: str, url: str, state: str) -> None:
    """axe needs JavaScript: audit a copy of the page, served as it was, less chat.js."""
    script_tag = '<script src="/static/chat.js" defer=""></script>'
    assert script_tag in html
    context = browser.new_context(locale="zh-CN")
    context.route(
        url.split("#")[0],
        lambda route: route.fulfill(body=html.replace(script_tag, ""), content_type="text/html"),
    )
    page = context.new_page()
    page.goto(url)
    assert page.locator("#display-modes").is_hidden() and page.locator("#log .msg").count() > 0
    audit(page, state)
    context.close()
