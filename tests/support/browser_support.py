"""What the browser tests share: the Debian Chromium, axe-core, and reading the chat page.

Playwright drives /usr/bin/chromium (never a browser of its own); axe-core
comes from its npm package in tests/browser, installed by scripts/setup.sh.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
AXE_SCRIPT = Path(__file__).parent.parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCREENSHOT_DIR = Path(os.environ.get("FAYUAN_SCREENSHOTS", "/tmp"))
# A turn through Rasa and the action server can take a while on a busy machine.
REPLY_TIMEOUT_MS = 60_000


def launch_chromium(playwright: Playwright, args: list[str] | None = None) -> Browser:
    """The Debian Chromium, headless, once axe-core is there to audit its pages."""
    if not AXE_SCRIPT.exists():
        pytest.fail(
            "axe-core is not installed: run scripts/setup.sh (it runs npm ci in tests/browser)"
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args or [])


def audit(page: Page, state: str) -> None:
    """axe-core finds no WCAG 2.1 A/AA violation in the page as it is now."""
    # A mode switch fades its colours: measure contrast once the fade is over,
    # not halfway between the two palettes. (Predicates are functions, never
    # expressions: Playwright evaluates an expression with eval, which the
    # pages' CSP refuses.)
    page.wait_for_function(
        "() => document.getAnimations().every(a => a.playState !== 'running')", timeout=5000
    )
    # Evaluated by the browser's debugging protocol, not as a <script> tag: the
    # pages' Content-Security-Policy (bot/security_headers.py) refuses inline
    # scripts, as it should, and the audit must not need it loosened.
    page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;true")
    violations = page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: "tag", values: tags}}))
             .violations.map(v => `${v.id}: ${v.help} — ${v.nodes.map(n => n.target).join(", ")}`)""",
        WCAG_21_AA,
    )
    assert violations == [], f"axe violations in state '{state}':\n" + "\n".join(violations)


def bot_messages(page: Page) -> list[str]:
    return page.locator("#log .msg.bot").all_inner_texts()


def as_shown(replies: list[dict]) -> list[str]:
    """The assistant's messages as the page shows them: the text, then its
    choices as buttons numbered across the turn (bot/static/chat.js)."""
    shown, number = [], 1
    for reply in replies:
        buttons = reply.get("buttons") or []
        choices = "".join(f"\n{number + i}. {button['title']}" for i, button in enumerate(buttons))
        shown.append(f"助手：{reply.get('text') or ''}{choices}")
        number += len(buttons)
    return shown


def wait_for_replies(page: Page, before: int) -> list[str]:
    """The assistant's messages after the first `before`, once the turn is over."""
    page.wait_for_function(
        """(before) => document.querySelectorAll("#log .msg.bot").length > before
             && document.getElementById("pending").textContent === "" """,
        arg=before,
        timeout=REPLY_TIMEOUT_MS,
    )
    return bot_messages(page)[before:]


def focused(page: Page) -> dict:
    """What has the keyboard focus, and whether it shows (outline or box-shadow)."""
    return page.evaluate(
        """() => {
             const el = document.activeElement;
             const style = getComputedStyle(el);
             return {
               tag: el.tagName.toLowerCase(), id: el.id, text: (el.innerText || el.value || "").trim(),
               choice: el.matches(".choices button:not([disabled])"),
               visible: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2)
                        || style.boxShadow !== "none",
             };
           }"""
    )


def screenshot(page: Page, name: str) -> Path:
    path = SCREENSHOT_DIR / name
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path
