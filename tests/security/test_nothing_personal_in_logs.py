"""Attack: read the logs. A whole application (name, ID number, phone, what
happened) goes through the real stack; then every log file the gateway, the
Rasa server and the action server wrote, and this process's captured log, is
searched for each of them: none may appear, in any form a person's data takes
in this code (as said, as read back in groups, as spoken digit by digit)."""

from __future__ import annotations

import logging

from tests.conftest import Conversation
from tests.support.intake_support import MIGRANT_WORKER, answer_all

NAME = "测试张三丰"
ID_NUMBER = "11010519491231002X"
PHONE = "13987654321"
# The forms the code writes them in: read back in groups ("139 8765 4321").
SECRETS = (NAME, ID_NUMBER, ID_NUMBER.lower(), PHONE, "139 8765 4321", "8765 4321")


def test_an_application_leaves_nothing_personal_in_any_log(stack, caplog):
    caplog.set_level(logging.DEBUG)
    person = {
        **MIGRANT_WORKER,
        "applicant_name": f"我叫{NAME}",
        "phone": PHONE,
        "phone_confirmed": "对",
        "id_number": ID_NUMBER,
    }
    conversation = Conversation(stack)

    def say(message: str) -> list[str]:
        return [r["text"] for r in conversation.say(message) if r.get("text")]

    say("包工头拖欠我三个月工资不给")
    answer_all(say, "帮我查一查能不能申请", person, until="登记申请")
    heard = "\n".join(answer_all(say, "现在登记申请", person, until="登记编号是"))
    assert NAME in heard and ID_NUMBER in heard, "the application really went through"

    logs = sorted((stack.var_dir / "log").glob("*.log"))
    assert {path.stem for path in logs} >= {"gateway", "rasa", "actions"}
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        found = [secret for secret in SECRETS if secret in text]
        assert not found, f"{path.name} holds {found}"
    found = [secret for secret in SECRETS if secret in caplog.text]
    assert not found, f"this process's log holds {found}"
