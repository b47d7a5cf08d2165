"""The text-for-the-ear normaliser: what the assistant writes, as it should be heard."""

from __future__ import annotations

import re

import pytest
import yaml

from actions.voice import for_ear, source_line
from voice.normalise import normalise, reply_for_ear

SPOKEN = [
    # Numbers and money
    ("3500", "三千五百"),
    ("每月3500元以下", "每月三千五百元以下"),
    ("¥3,500", "三千五百元"),
    ("1.5万元", "一点五万元"),
    ("3500元/月", "三千五百元每月"),
    ("2个月内交2000元", "两个月内交两千元"),
    ("第120条", "第一百二十条"),
    ("10500人", "一万零五百人"),
    ("50%", "百分之五十"),
    ("公证费减免比例不低于40%。", "公证费减免比例不低于百分之四十。"),
    ("1/3", "三分之一"),
    ("3-5天", "三到五天"),
    # Hotlines, phones and reference numbers, digit by digit with 一 (not 幺)
    ("请拨打12348。", "请拨打一二三四八。"),
    ("正在挨打的，请马上打110。", "正在挨打的，请马上打一一零。"),
    ("12338妇女维权热线", "一二三三八妇女维权热线"),
    ("拨打120", "拨打一二零"),
    ("120元", "一百二十元"),
    ("手机13812345678", "手机一三八，一二三四，五六七八"),
    ("座机0351-1234567", "座机零三五一，一二三四五六七"),
    ("您的编号是FY-2026-000123。", "您的编号是F Y杠二零二六杠零零零一二三。"),
    # Dates and times
    ("2026年11月23日", "二〇二六年十一月二十三日"),
    ("2026-11-23开庭", "二〇二六年十一月二十三日开庭"),
    ("2月2日", "二月二日"),
    ("工作时间9:00-17:30", "工作时间九点到十七点三十分"),
    # Citations
    ("《法律援助法》第三十二条第（四）项", "法律援助法第三十二条第四项"),
    ("晋司通〔2022〕35号", "晋司通二〇二二年第三十五号文件"),
    # No brackets, quotes, symbols, emoji, URLs or list marks
    ("律师可以作为“第三方”协助", "律师可以作为第三方协助"),
    (
        "得到值班律师的法律帮助（法律咨询、程序选择建议等）。",
        "得到值班律师的法律帮助，法律咨询、程序选择建议等。",
    ),
    ("✅ 可以申请 👍", "可以申请"),
    ("详情见 https://www.12348.gov.cn/#/homepage 。", "详情见。"),
    ("法援惠民生·关爱残疾人", "法援惠民生，关爱残疾人"),
    (
        "法律援助主要有这几种：\n1. 法律咨询\n2. 代写法律文书\n3. 刑事辩护\n要继续听吗？",
        "法律援助主要有这几种：第一，法律咨询，第二，代写法律文书，第三，刑事辩护。要继续听吗？",
    ),
    ("需要准备：\n· 身份证\n· 收入证明", "需要准备：身份证，收入证明"),
    ("第一行\n第二行", "第一行。第二行"),
    # Replies the assistant really says (eligibility reasons, domain.yml voice lines)
    (
        "在包头，重度残疾人办理关系民生的基本公证服务项目，公证费减免比例不低于50%。",
        "在包头，重度残疾人办理关系民生的基本公证服务项目，公证费减免比例不低于百分之五十。",
    ),
    (
        "在包头，年龄超过70周岁的残疾人首次申请办理遗嘱公证，免收公证费。",
        "在包头，年龄超过七十周岁的残疾人首次申请办理遗嘱公证，免收公证费。",
    ),
    (
        "在包头，残疾人办理不超过5000元的小额继承公证，免收公证费。",
        "在包头，残疾人办理不超过五千元的小额继承公证，免收公证费。",
    ),
    (
        "犯罪嫌疑人、被告人是视力、听力、言语残疾人（盲、聋、哑人），没有委托辩护人的，"
        "办案机关应当通知法律援助机构指派律师辩护。",
        "犯罪嫌疑人、被告人是视力、听力、言语残疾人，盲、聋、哑人，没有委托辩护人的，"
        "办案机关应当通知法律援助机构指派律师辩护。",
    ),
]


@pytest.mark.parametrize(("written", "spoken"), SPOKEN)
def test_replies_are_read_for_the_ear(written, spoken):
    assert normalise(written) == spoken


def test_buttons_are_read_as_numbers_to_say_or_press():
    assert normalise("您是进城打工的农民工吗？", [{"title": "是"}, {"title": "不是"}]) == (
        "您是进城打工的农民工吗？说一，或者按一：是；说二，或者按二：不是。"
    )
    message = {
        "text": "请选择",
        "buttons": [{"title": "✅ 现在申请", "payload": "/apply"}, {"title": "找人工（12348）"}],
    }
    assert reply_for_ear(message) == (
        "请选择。说一，或者按一：现在申请；说二，或者按二：找人工，一二三四八。"
    )


def test_citations_in_source_lines_are_spoken():
    assert source_line("晋司通〔2022〕35号", voice=False) == "来源：晋司通〔2022〕35号"
    assert source_line(
        "《法律援助法》第二十五条第一款第（二）项；《司法部 中国残联关于开展“法援惠民生·关爱残疾人”法律援助品牌建设工作的通知》",
        voice=True,
    ) == (
        "来源是法律援助法第二十五条第一款第二项；"
        "司法部，中国残联关于开展法援惠民生，关爱残疾人法律援助品牌建设工作的通知。"
    )
    assert for_ear("按您说的，人均月收入1200元") == "按您说的，人均月收入一千二百元"


def voice_lines() -> list[str]:
    with open("domain.yml", encoding="utf-8") as file:
        responses = yaml.safe_load(file)["responses"]
    return [
        variant["text"]
        for variants in responses.values()
        for variant in variants
        if variant.get("channel") == "voice"
    ]


def test_voice_variants_pass_through_unchanged_but_for_line_breaks():
    # They are written for the ear already: the normaliser must not spoil them.
    for line in voice_lines():
        if "{" in line:
            continue  # a template slot, filled in by an action
        assert normalise(line) == line.replace("\n", ""), line


def test_the_output_has_nothing_a_synthesiser_would_misread_and_is_stable():
    for written, _ in SPOKEN:
        spoken = normalise(written)
        assert not re.search(r"[\d()（）《》“”\"%/#*<>\[\]【】〔〕\n]", spoken), spoken
        assert normalise(spoken) == spoken
