"""The question bank of the study tests (学法减分试题): road-safety law, in Chinese and English.

Ten are drawn for a test, in an order fixed by the attempt's number; 9 right (90%) pass.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    code: str
    zh: str
    en: str
    choices: tuple[tuple[str, str, str], ...]  # (key, zh, en)
    answer: str


def _q(code: str, zh: str, en: str, answer: str, *choices: tuple[str, str, str]) -> Question:
    return Question(code, zh, en, tuple(choices), answer)


BANK: tuple[Question, ...] = (
    _q("q01", "饮酒后驾驶机动车，一次记几分？", "How many points does drink-driving score at once?", "c",
       ("a", "6分", "6"), ("b", "9分", "9"), ("c", "12分", "12")),
    _q("q02", "驾驶机动车闯红灯，一次记几分？", "How many points does running a red light score?", "b",
       ("a", "3分", "3"), ("b", "6分", "6"), ("c", "12分", "12")),
    _q("q03", "驾驶时手持电话通话，一次记几分？", "How many points does holding a phone while driving score?", "a",
       ("a", "3分", "3"), ("b", "1分", "1"), ("c", "9分", "9")),
    _q("q04", "驾驶人未按规定使用安全带，一次记几分？", "How many points does not wearing a seat belt score?", "a",
       ("a", "1分", "1"), ("b", "3分", "3"), ("c", "6分", "6")),
    _q("q05", "机动车行经人行横道时应当怎样？", "What must a driver do at a pedestrian crossing?", "b",
       ("a", "鸣喇叭催促行人", "sound the horn at pedestrians"),
       ("b", "减速行驶，遇行人正在通过时停车让行", "slow down and stop for pedestrians crossing"),
       ("c", "加速通过", "speed up and pass")),
    _q("q06", "记分周期为多长时间？", "How long is a scoring cycle?", "c",
       ("a", "6个月", "6 months"), ("b", "24个月", "24 months"), ("c", "12个月", "12 months")),
    _q("q07", "一个记分周期内累积记分达到多少分，须参加满分学习？",
       "How many points in a cycle lead to full-score education?", "b",
       ("a", "10分", "10"), ("b", "12分", "12"), ("c", "6分", "6")),
    _q("q08", "占用应急车道行驶，一次记几分？", "How many points does driving in the emergency lane score?", "c",
       ("a", "1分", "1"), ("b", "3分", "3"), ("c", "6分", "6")),
    _q("q09", "在高速公路上发生故障需要停车时，应在车后多远设置警告标志？",
       "On an expressway breakdown, how far behind the car goes the warning triangle?", "c",
       ("a", "50米以外", "beyond 50 m"), ("b", "100米以内", "within 100 m"), ("c", "150米以外", "beyond 150 m")),
    _q("q10", "驾驶机动车遇校车停车上下学生时，后方车辆应当怎样？",
       "A school bus stops to let pupils on or off; what do the cars behind it do?", "a",
       ("a", "停车等待", "stop and wait"), ("b", "从左侧超越", "overtake on the left"),
       ("c", "鸣喇叭催促", "sound the horn")),
    _q("q11", "机动车逆向行驶，一次记几分？", "How many points does driving the wrong way score?", "b",
       ("a", "1分", "1"), ("b", "3分", "3"), ("c", "12分", "12")),
    _q("q12", "学法减分每个记分周期最多可减免几分？", "At most how many points can study reduce a cycle?", "a",
       ("a", "6分", "6"), ("b", "12分", "12"), ("c", "3分", "3")),
)  # fmt: skip

BY_CODE: dict[str, Question] = {q.code: q for q in BANK}


def draw(seed: int, count: int = 10) -> list[str]:
    """``count`` question codes for an attempt, always the same for the same seed."""
    codes = [q.code for q in BANK]
    random.Random(seed).shuffle(codes)  # noqa: S311 - an order of questions, not a secret
    return codes[:count]


def answer_key(codes: list[str]) -> dict[str, str]:
    return {code: BY_CODE[code].answer for code in codes if code in BY_CODE}
