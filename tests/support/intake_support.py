"""A person going through the application: the questions recognised, answered from what they would say.

Shared by the dialogue tests (tests/test_intake_dialogue.py) and the browser
test of the whole application by keyboard (tests/test_web_accessibility.py).
"""

from __future__ import annotations

from collections.abc import Callable

# What the application may ask, recognised by words of its question (domain.yml).
QUESTION_WORDS = {
    "intake_consent": "您同意吗",
    "applying_for": "为自己申请，还是替别人",
    "guardian_consent": "是孩子的监护人",
    "guardian_name": "监护人的姓名",
    "guardian_relation": "您是孩子的什么人",
    "applicant_name": "姓名？",
    "applicant_name_other": "叫什么名字",
    "phone_confirmed": "您的电话是",
    "phone": "电话号码",
    "id_number": "身份证号码",
    "county": "哪个县",
    "matter_confirmed": "您要申请的事情是",
    "matter_type": "您遇到的是什么事",
    "description": "发生了什么",
    "disability_certificate": "有残疾人证吗",
    "accessibility_needs": "需要这些帮助吗",
    "contact_preference": "怎么联系您最方便",
    "days_to_deadline": "很快就要到的期限",
    "needs_urgent_preservation": "财产保全",
    "age": "多大",
    # The eligibility questions these people meet before applying.
    "region": "哪个省",
    "migrant_worker": "农民工",
    "domestic_violence_victim": "家庭暴力、虐待或者遗弃吗",
    "case_location": "在哪里办",
    "guardian_infringes": "其他监护人吗",
    # Not a question: the application stopped on a "no" to consent. A person
    # whose "yes" was misheard takes the way back it offers.
    "consent_refused": "不登记，也不保存",
    # Not a question either: the application paused on something heard as
    # 先停一下; it says how to go on, and a person who did not mean it does so.
    "paused": "先停在这里",
}
REVIEW_WORDS = "对吗？"
# What a person says to a question: the words, or how they are found from the question.
Answer = str | Callable[[str], str]
MAX_TURNS = 60
# The voice channels' answer when nothing was heard (bot/messages.py NOT_HEARD_REPLY).
NOT_HEARD = "请再说一遍"
# A person answers the same question this many times, then gives up.
MAX_SAME_QUESTION = 5


def question_in(text: str) -> str | None:
    # WeChat lists a question's choices on the lines after it.
    # A page of the read-back ends "这些都对吗？" (several fields) or "对吗？" (one).
    if "提交之前" in text or "都对吗" in text or text.partition("\n")[0].endswith(REVIEW_WORDS):
        if not text.startswith(("您的电话是", "您要申请的事情是")):
            return "review"
    return next((key for key, words in QUESTION_WORDS.items() if words in text), None)


def answer_all(
    say: Callable[[str], list[str]],
    first: str,
    answers: dict[str, Answer | list[Answer]],
    until: str,
) -> list[str]:
    """Answers every question from `answers` until a reply contains `until`.

    A list of answers is used in turn (a wrong one first, then the right one);
    a function answers from the question it is given (a read-back checked).
    Returns every reply text heard.
    """
    heard = say(first)
    queue = {key: list(v) if isinstance(v, list) else [v] for key, v in answers.items()}
    asked: list[str] = []
    asked_keys: list[str] = []
    for _ in range(MAX_TURNS):
        text = "\n".join(heard[-3:])
        if any(until in h for h in heard):
            return heard
        key = question_in(heard[-1])
        if key is None and NOT_HEARD in heard[-1] and asked:
            # Not heard (a spoken answer): said again, as people do when asked.
            key = asked_keys[-1]
        assert key is not None, f"no question recognised in: {heard[-1]}"
        key = "applicant_name" if key == "applicant_name_other" else key
        assert key in queue, f"asked {key!r}, which this person cannot answer: {text}"
        asked.append(heard[-1])
        asked_keys.append(key)
        assert asked[-MAX_SAME_QUESTION:] != [heard[-1]] * MAX_SAME_QUESTION, (
            f"asked {key!r} {MAX_SAME_QUESTION} times in a row: {text}"
        )
        answer = queue[key][0] if len(queue[key]) == 1 else queue[key].pop(0)
        heard += say(answer(heard[-1]) if callable(answer) else answer)
    raise AssertionError("the application never finished")


MIGRANT_WORKER = {
    "region": "山西省太原市",
    "migrant_worker": "是",
    "intake_consent": "同意",
    "applying_for": "为自己申请",
    "age": "四十五岁",
    "applicant_name": "我叫李建国",
    # He gives a wrong number first, and says so when it is read back.
    "phone": ["13912345678", "13812345678"],
    "phone_confirmed": ["不对", "对"],
    # One digit wrong (the check digit fails), then the right number.
    "id_number": ["110101199003071235", "110101199003071233"],
    "county": "太原市小店区",
    "matter_confirmed": "对",
    "description": "包工头欠了我三个月工资一万二，一直拖着不给。",
    "disability_certificate": "没有",
    "accessibility_needs": "不需要",
    "contact_preference": "打电话",
    "days_to_deadline": "没有",
    "needs_urgent_preservation": "不是",
    "review": "对",
    # Where the case is, asked once he qualifies (art. 38).
    "case_location": "本地",
}
