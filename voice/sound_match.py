"""Hearing by sound: what a recogniser wrote, mapped onto what the person most likely said.

A recogniser that knows no legal Mandarin writes homophones and near-homophones
of the words that matter: 法律援助 as 法律原主, 太原市 as 太元市, 转人工 as
转人公主, a phone number's 幺 ("one") as 要. Before a transcript becomes the
message sent to the dialogue, `heard_as` compares it by sound (pinyin, from
pypinyin) with

1. the choices on offer, when the dialogue asked for one (a short utterance
   that sounds like a choice *is* that choice: 转人公主 → 转人工), else
2. the domain's vocabulary (the legal terms of nlu_data/jieba/legal_terms.txt,
   the places of policy/places.yml and the spoken requests 转人工, 说慢一点 …):
   a span that sounds like a term is written as the term (法律原主 → 法律援助),
3. and a run of digits with 要/幺 in it that then makes a mobile number.

How alike two syllables sound: the same reading, tones included, is alike;
the same syllable in another tone nearly so; then the sounds many Mandarin
speakers (and recognisers) merge, zh/z, ch/c, sh/s, n/l, and -ng/-n after
a, e and i; anything else by the edit distance of the spellings. A character is
read as pypinyin reads it in its context and alone, never in every rare
reading it has (寨 once read qian would make 五千 the county 五寨).

Mistakes cost more than misses here (a changed word changes the meaning), so
the rules are strict, and a test runs every typed training sentence of the
NLU through `correct` and checks that no word of the dictionary is overwritten:
- a two-syllable term replaces only an exact homophone, tones included, that
  is not a word of its own and does not straddle two words (太远 and 公正
  stay; 泰元 is not replaced either, but 泰元市 becomes 太原市: places count
  from three syllables);
- three syllables must be the same syllables (残疾症 → 残疾证); longer terms
  may have merged sounds, and the spoken requests and terms of five syllables
  or more one syllable further off (说卖一点 → 说慢一点);
- words already written right keep their place, the longest term first.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pypinyin import Style, pinyin

from legal_aid.places import load_places

LEGAL_TERMS_FILE = Path(__file__).resolve().parent.parent / "nlu_data" / "jieba" / "legal_terms.txt"
# What people ask of the voice itself.
SPOKEN_REQUESTS = ("转人工", "说慢一点", "说快一点", "再说一遍", "重新开始", "为什么问这个")
# Words of the domain that the legal dictionary lacks.
DOMAIN_WORDS = ("低保户", "残疾证", "法律援助", "人身安全保护令")

_HAN = re.compile(r"[\u3400-\u9fff]")
_DIGIT_AS_HAN = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
# Initials and finals that many speakers, and recognisers, do not tell apart.
_MERGED_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_MERGED_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))

# Syllable likeness, from the same reading down to merged sounds.
SAME_READING, SAME_SYLLABLE, MERGED_SOUND = 1.0, 0.95, 0.9
# Below this a syllable is not "near" at all.
NEAR_SYLLABLE = 0.5
# A multi-syllable choice is taken when its syllables are this alike on average.
CHOICE_LIKENESS = 0.8


@dataclass(frozen=True)
class Sound:
    """How one character (or digit) may be read: with tones, without, with merged sounds."""

    readings: frozenset[str]
    syllables: frozenset[str]
    keys: frozenset[str]

    def likeness(self, other: Sound) -> float:
        if self.readings & other.readings:
            return SAME_READING
        if self.syllables & other.syllables:
            return SAME_SYLLABLE
        if self.keys & other.keys:
            return MERGED_SOUND
        return max(
            (1 - _edit_distance(a, b) / max(len(a), len(b))) * 0.8
            for a in self.syllables
            for b in other.syllables
        )


def sound_of(character: str) -> Sound | None:
    """The sound of a Chinese character or a digit on its own; None for anything else."""
    sounds = sounds_of(character)
    return sounds[0] if sounds else None


def sounds_of(text: str) -> list[Sound] | None:
    """Every character's sound, or None when one of them has none (Latin, punctuation).

    A character is read as pypinyin reads it in this text and as it reads it
    alone, never in every rare reading it has: 寨 may be qian in old texts,
    but 五千 must not become the county 五寨.
    """
    han = "".join(_DIGIT_AS_HAN.get(character, character) for character in text)
    if not han or not all(_HAN.fullmatch(character) for character in han):
        return None
    in_context = [readings[0] for readings in pinyin(han, **_PINYIN)]
    if len(in_context) != len(han):
        return None
    sounds = [
        _sound(character, reading) for character, reading in zip(han, in_context, strict=True)
    ]
    return None if any(sound is None for sound in sounds) else sounds  # type: ignore[return-value]


_PINYIN = {"style": Style.TONE3, "neutral_tone_with_five": True}


@cache
def _sound(character: str, in_context: str) -> Sound | None:
    readings = frozenset({in_context, pinyin(character, **_PINYIN)[0][0]})
    if not all(reading[-1:].isdigit() for reading in readings):
        return None  # a character pypinyin cannot read
    syllables = frozenset(reading[:-1] for reading in readings)
    return Sound(readings, syllables, frozenset(_merged(s) for s in syllables))


def _merged(syllable: str) -> str:
    for long, short in _MERGED_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    for long, short in _MERGED_FINALS:
        if syllable.endswith(long) and not syllable.endswith("ong"):
            syllable = syllable[: -len(long)] + short
            break
    return syllable


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def spoken_part(text: str) -> str:
    """The characters that are heard: punctuation, spaces and Latin letters left out."""
    return "".join(character for character in text if sound_of(character) is not None)


# 1. Choices ----------------------------------------------------------------------


def choose(heard: str, choices: Iterable[str]) -> str | None:
    """The choice the person said, judged by sound; None when none, or two, fit.

    A choice fits when the utterance is that choice with at most a little
    more (a particle, a syllable the recogniser added): 是的 is 是, but 我没有
    工作 is not 没有.
    """
    spoken = spoken_part(heard)
    heard_sounds = sounds_of(spoken)
    if not heard_sounds:
        return None
    fits: list[tuple[float, int, str]] = []
    for choice in dict.fromkeys(choices):
        said = spoken_part(choice)
        if said and _said_over(spoken, said):
            return choice
        likeness = _choice_likeness(heard_sounds, said)
        if likeness is not None:
            fits.append((likeness, len(said), choice))
    if not fits:
        return None
    fits.sort(reverse=True)
    if len(fits) > 1 and fits[0][:2] == fits[1][:2]:
        return None  # two choices sound just as alike: better to ask again
    if _maybe_negated(heard_sounds, fits[0][2], choices):
        return None
    return fits[0][2]


def _said_over(spoken: str, said: str) -> bool:
    """Whether the utterance is `said`, once or over again: people answer 对对对,
    是是是, 不对不对 (and Whisper sometimes writes a lone 对 twice)."""
    times, left = divmod(len(spoken), len(said))
    return times >= 1 and not left and said * times == spoken


def _maybe_negated(heard: list[Sound], chosen: str, choices: Iterable[str]) -> bool:
    """Whether a syllable heard before the chosen word may be the negation that
    another choice has there: 无对 heard when 对 and 不对 are on offer is not
    对 (a wrong phone number confirmed), but a question again. 是的 is still 是:
    what is left over comes after the word."""
    said = spoken_part(chosen)
    wanted = sounds_of(said) or []
    extra = len(heard) - len(wanted)
    if extra <= 0:
        return False
    at_end = _window_likeness(heard[extra:], wanted)
    if at_end < _window_likeness(heard[: len(wanted)], wanted):
        return False
    longer = (spoken_part(choice) for choice in choices)
    return any(other != said and other.endswith(said) for other in longer)


def _choice_likeness(heard: list[Sound], choice: str) -> float | None:
    """How alike the best-matching stretch of the utterance is to `choice`, if it fits."""
    wanted = sounds_of(choice)
    if not wanted:
        return None
    extra = len(heard) - len(wanted)
    if extra < 0 or extra > max(1, len(wanted) // 2):
        return None
    best = max(
        _window_likeness(heard[start : start + len(wanted)], wanted) for start in range(extra + 1)
    )
    threshold = MERGED_SOUND if len(wanted) == 1 else CHOICE_LIKENESS
    return best if best >= threshold else None


def _window_likeness(heard: Sequence[Sound], wanted: Sequence[Sound]) -> float:
    likenesses = [a.likeness(b) for a, b in zip(heard, wanted, strict=True)]
    if min(likenesses) < NEAR_SYLLABLE:
        return 0.0
    return sum(likenesses) / len(likenesses)


# 2. The domain's vocabulary -----------------------------------------------------------


@dataclass(frozen=True)
class Term:
    text: str
    sounds: tuple[Sound, ...]
    # A spoken request (说慢一点): short, distinctive and said to the voice
    # itself, so one syllable may be heard further off (说卖一点).
    lenient: bool = False


class Vocabulary:
    """Terms to write right when they are heard wrong, indexed by their first sounds."""

    def __init__(self, words: Iterable[str], requests: Iterable[str] = ()) -> None:
        self.terms: list[Term] = []
        lenient = set(requests)
        for word in dict.fromkeys([*words, *lenient]):
            if any(character.isdigit() for character in word):
                continue  # 12348 is heard as digits already; 一二三四八 may stay as said
            sounds = sounds_of(word)
            if sounds and len(sounds) >= 2:
                self.terms.append(Term(word, tuple(sounds), word in lenient))
        self.texts = frozenset(term.text for term in self.terms)
        # A term can only match where its first or its second syllable sounds
        # the same (the rules allow no more than that to differ); indexing
        # by both keeps the search to a few terms a position.
        self._by_key: dict[tuple[int, str], list[Term]] = {}
        for term in self.terms:
            for offset in (0, 1):
                for key in term.sounds[offset].keys:
                    self._by_key.setdefault((offset, key), []).append(term)

    def candidates(self, sounds: Sequence[Sound], start: int) -> set[Term]:
        found: set[Term] = set()
        for offset in (0, 1):
            if start + offset < len(sounds):
                for key in sounds[start + offset].keys:
                    found.update(self._by_key.get((offset, key), ()))
        return found


def correct(text: str, vocabulary: Vocabulary | None = None) -> str:
    """`text` with every span that sounds like a domain term written as the term."""
    corrected = list(text)
    for start, end, term in _corrections(text, vocabulary or domain_vocabulary()):
        corrected[start:end] = list(term)
    return "".join(corrected)


def corrections(text: str) -> list[tuple[str, str]]:
    """What `correct` changes in `text`: (what was written, the term written instead)."""
    found = _corrections(text, domain_vocabulary())
    return [(text[start:end], term) for start, end, term in found if text[start:end] != term]


def _corrections(text: str, vocabulary: Vocabulary) -> list[tuple[int, int, str]]:
    """Where the terms are in `text` (start, end, term), the correct ones included."""
    found = []
    for match in re.finditer(r"[\u3400-\u9fff0-9]+", text):
        for start, term in _terms_in_run(match.group(), vocabulary):
            begin = match.start() + start
            found.append((begin, begin + len(term.sounds), term.text))
    return found


def _terms_in_run(run: str, vocabulary: Vocabulary) -> list[tuple[int, Term]]:
    """The terms heard in one stretch of characters that all have a sound, by position."""
    sounds = sounds_of(run)
    if sounds is None:
        return []
    found: list[tuple[tuple[int, bool, float], int, Term]] = []
    words = _Words(run)
    for start in range(len(run)):
        for term in vocabulary.candidates(sounds, start):
            end = start + len(term.sounds)
            if end > len(run):
                continue
            span = run[start:end]
            likeness = _term_likeness(sounds[start:end], term)
            if likeness is not None and len(span) == 2 and not words.may_replace(start, end):
                likeness = None
            if span == term.text or (likeness is not None and span not in vocabulary.texts):
                rank = (len(term.sounds), span == term.text, likeness or SAME_READING)
                found.append((rank, start, term))
    # The longest terms first, a term written right before one heard wrong.
    found.sort(key=lambda item: (item[0], -item[1]), reverse=True)
    taken = [False] * len(run)
    chosen: list[tuple[int, Term]] = []
    for _, start, term in found:
        end = start + len(term.sounds)
        if not any(taken[start:end]):
            taken[start:end] = [True] * (end - start)
            chosen.append((start, term))
    return chosen


class _Words:
    """Where jieba's dictionary puts word boundaries in a run, worked out when first asked.

    A two-syllable homophone is only replaced where it is not a word of its
    own (公正, fair, is not 公证, notarised) and does not straddle two words
    (误工证明 holds 工证, which sounds like 公证).
    """

    def __init__(self, run: str) -> None:
        self.run = run
        self._boundaries: set[int] | None = None

    def may_replace(self, start: int, end: int) -> bool:
        import jieba  # loads its dictionary (a second) at the first two-syllable homophone

        jieba.setLogLevel(logging.WARNING)

        if self._boundaries is None:
            tokens = jieba.lcut(self.run, HMM=False)
            ends = itertools.accumulate(len(token) for token in tokens)
            self._boundaries = {0, *ends}
        span = self.run[start:end]
        is_word = jieba.dt.FREQ.get(span, 0) > 0
        return not is_word and start in self._boundaries and end in self._boundaries


def _term_likeness(heard: Sequence[Sound], term: Term) -> float | None:
    """How alike a span is to a term under the strict rules, or None.

    The shorter the term, the more everyday words sound like it: two
    syllables must be the same readings, tones included (下线 is not the
    county 夏县 for that reason: places need three syllables, see
    `place_words`); three the same syllables; longer terms may have merged
    sounds, and requests and terms of five or more syllables one syllable
    further off.
    """
    likenesses = [a.likeness(b) for a, b in zip(heard, term.sounds, strict=True)]
    floor = {2: SAME_READING, 3: SAME_SYLLABLE}.get(len(likenesses), MERGED_SOUND)
    differing = [value for value in likenesses if value < floor]
    allowed = 1 if term.lenient or len(likenesses) >= 5 else 0
    if len(differing) > allowed or any(value < NEAR_SYLLABLE for value in differing):
        return None
    return sum(likenesses) / len(likenesses)


@cache
def domain_vocabulary() -> Vocabulary:
    """The legal terms, the places (names and short forms) and the spoken requests."""
    return Vocabulary([*legal_terms(), *place_words(), *DOMAIN_WORDS], SPOKEN_REQUESTS)


def legal_terms(path: Path = LEGAL_TERMS_FILE) -> list[str]:
    """The words of the NLU's legal dictionary (jieba's format: word, frequency, tag)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def place_words() -> list[str]:
    """Every place's name and short form of three syllables or more (太原市, 内蒙古).

    Two-syllable short forms (太原, 黎城) are left out: too many everyday
    words sound exactly like one (离城, 下线 and 园区 are 黎城, 夏县 and 垣曲).
    """
    words = (word for place in load_places().places for word in (place.name, *place.aliases))
    return [word for word in words if len(word) >= 3]


# 3. A phone number's 幺 ------------------------------------------------------------------

_MOBILE_LENGTH = 11
_YAO = "yao"


def read_yao_as_one(text: str) -> str:
    """要3800123456 → 13800123456: a 幺 written as a word, where the digits then make a mobile number.

    Only there: in 我要12348 the 要 is a word, and the digits stay as they are.
    """

    def one_for_yao(match: re.Match[str]) -> str:
        run = match.group()
        digits = "".join("1" if not character.isdigit() else character for character in run)
        if len(digits) == _MOBILE_LENGTH and digits.startswith("1") and run != digits:
            return digits
        return run

    yao = "".join(sorted(_yao_characters(text)))
    if not yao:
        return text
    return re.sub(f"[0-9{re.escape(yao)}]+", one_for_yao, text)


def _yao_characters(text: str) -> set[str]:
    return {c for c in text if not c.isdigit() and (s := sound_of(c)) and _YAO in s.syllables}


# Everything together ------------------------------------------------------------------


def heard_as(text: str, choices: Sequence[str] = ()) -> str:
    """The message for the dialogue: the choice that was said, else the text written right."""
    if not text.strip():
        return text
    if choices:
        chosen = choose(text, choices)
        if chosen is not None:
            return chosen
    return read_yao_as_one(correct(text))
