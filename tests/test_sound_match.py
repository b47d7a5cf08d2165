"""What a recogniser wrote, mapped by sound onto what the person said.

The mishearings are the ones Whisper base makes on the assistant's own
Mandarin voice (法律原主, 太元市, 转人公主, 要 for 幺 …).
"""

from __future__ import annotations

import re
from pathlib import Path

import jieba
import pytest
import yaml

from voice.sound_match import choose, correct, corrections, heard_as, read_yao_as_one

PROJECT = Path(__file__).resolve().parent.parent
# What the voice channels accept after any question with choices (bot/speech.py).
ALWAYS_EXPECTED = (
    "是", "不是", "对", "有", "没有", "不想说", "不知道", "为什么问这个",
    "再说一遍", "说慢一点", "说快一点", "转人工", "重新开始",
)  # fmt: skip
NUMBERED = ("一", "二", "三", "四")


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("转人公主", "转人工"),
        ("转人公", "转人工"),
        ("说卖一点。", "说慢一点"),
        ("再说一变", "再说一遍"),
        ("是的", "是"),
        ("不是的", "不是"),
        ("没有。", "没有"),
        ("事", "是"),  # the same syllable, another tone
        ("1", "一"),  # "说一，或者按一": Whisper writes the digit
        ("四", "四"),  # said exactly: not taken for 是, however alike
    ],
)
def test_what_sounds_like_a_choice_on_offer_is_that_choice(heard, meant):
    assert choose(heard, [*ALWAYS_EXPECTED, *NUMBERED]) == meant


@pytest.mark.parametrize(
    "heard",
    ["我没有工作", "老板欠了我三个月工资", "说慢点", "第一个", "今天天气怎么样", ""],
)
def test_a_sentence_that_only_contains_a_choice_is_not_taken_for_it(heard):
    assert choose(heard, [*ALWAYS_EXPECTED, *NUMBERED]) is None


@pytest.mark.parametrize(
    ("heard", "meant"),
    [("对对对", "对"), ("对。对。", "对"), ("是是是", "是"), ("不对不对", "不对"), ("好好", "好")],
)
def test_a_choice_said_over_again_is_that_choice(heard, meant):
    assert choose(heard, [*ALWAYS_EXPECTED, "不对", "好", "不好"]) == meant


def test_two_choices_that_sound_just_as_alike_are_not_guessed_between():
    assert choose("市", ["是", "事"]) is None


def test_a_negation_that_may_have_been_misheard_is_asked_again_not_dropped():
    # 不对 came out of Whisper as 无对: taking it for 对 would confirm a wrong number.
    assert choose("无对", ["对", "不对"]) is None
    # What is left over after the word is no negation.
    assert choose("是的", ["是", "不是"]) == "是"
    assert choose("对的", ["对", "不对"]) == "对"


def test_a_button_title_said_with_a_recognisers_slip_is_chosen():
    titles = ["劳动报酬", "工伤赔偿", "其他问题"]
    assert choose("工商赔偿", titles) == "工伤赔偿"
    assert choose("劳动合同", titles) is None  # too far from anything on offer


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("我想申请法律原主", "我想申请法律援助"),
        ("法律元助免费吗", "法律援助免费吗"),
        ("我住在太元市小店区", "我住在太原市小店区"),
        ("我住在泰元市", "我住在太原市"),
        ("我家是第保护", "我家是低保户"),
        ("我有残疾症，是二级", "我有残疾证，是二级"),
        ("我要转人公", "我要转人工"),
        ("你说卖一点", "你说慢一点"),
        ("工商认定怎么办", "工伤认定怎么办"),
        ("包头市固阳县", "包头市固阳县"),
    ],
)
def test_domain_words_heard_as_homophones_are_written_right(heard, meant):
    assert correct(heard) == meant


@pytest.mark.parametrize(
    "typed",
    [
        "路太远了",  # 太远 is not 太原: another tone
        "选举不公正",  # 公正 (fair) is a word of its own, not 公证
        "保险公司说我的误工证明不行",  # 工证 straddles 误工 and 证明
        "我先下线了",  # 下线 sounds exactly like the county 夏县: places need three syllables
        "化工园区的气味让人头疼",  # 园区 / 垣曲
        "罚了五千",  # 五千 / 五寨 (寨 has an old reading qian)
        "我碰上麻烦事了",  # 烦事想 / 繁峙县
        "我想给我妈申请指定监护",  # 指定 / 执行
        "我要12348",  # digits stay digits
    ],
)
def test_right_words_are_left_alone(typed):
    assert correct(typed) == typed


def test_no_typed_training_sentence_has_a_real_word_overwritten():
    """Every NLU example (people's typing, typos included) through the corrector: where
    it changes one, it replaces only something that is not a word (a typo such as
    法律援主 or 转人公), never a word of jieba's dictionary."""
    jieba.initialize()
    replaced = [pair for sentence in training_sentences() for pair in corrections(sentence)]
    overwritten = {(before, after) for before, after in replaced if jieba.dt.FREQ.get(before)}
    # 身分证 is in the dictionary as an old spelling of 身份证: the same word.
    assert overwritten <= {("身分证", "身份证")}
    assert ("法律援主", "法律援助") in replaced  # the typos the training data holds are fixed


def training_sentences() -> list[str]:
    sentences = []
    for path in sorted((PROJECT / "nlu_data").glob("*/*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            examples = block.get("examples") or []
            if isinstance(examples, str):
                examples = [line.strip()[2:] for line in examples.splitlines() if line.strip()]
            for example in examples:
                text = example["text"] if isinstance(example, dict) else example
                sentences.append(re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", text))
    return sentences


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("我的电话是要3800123456", "我的电话是13800123456"),
        ("幺3800123456", "13800123456"),
        ("我要12348", "我要12348"),  # 要 is a word here: the digits are not a mobile number
        ("要380012", "要380012"),
    ],
)
def test_a_phone_numbers_one_said_as_yao_is_a_digit(heard, meant):
    assert read_yao_as_one(heard) == meant


def test_heard_as_prefers_the_choice_then_writes_the_rest_right():
    assert heard_as("转人公主", ALWAYS_EXPECTED) == "转人工"
    assert heard_as("我想申请法律原主", ALWAYS_EXPECTED) == "我想申请法律援助"
    assert heard_as("我的电话是要3800123456") == "我的电话是13800123456"
    assert heard_as("안녕하세요") == "안녕하세요"  # other scripts pass through
    assert heard_as("") == ""
