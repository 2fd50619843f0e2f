"""Follow-up questions made standalone, so retrieval sees the whole question.

Rules (no model): a question is a follow-up when it refers back (这个/那个/它/该政策/上述…), opens with a
connective (那/那么/还有/另外/如果…), or names no topic of its own (“需要什么材料”, “多久”, “还有呢”).
Its topic then comes from the previous turn's standalone question with the question words and the
“aspect” words (材料/条件/流程/时间…) taken out: 居住证怎么办理 → 居住证办理, so
“需要什么材料” → 居住证办理需要什么材料. A follow-up of the form “X呢” that names its own topic keeps the
previous aspect instead: 居住证怎么办理 → “新生儿出生呢” → 新生儿出生怎么办理.

With a model, the model may rewrite (see service.py); these rules remain the fallback.
"""

from __future__ import annotations

import re

from haoban.apps.qa.question import ASPECT_WORDS as _ASPECTS
from haoban.apps.qa.question import QUESTION_WORDS
from haoban.text.segment import cut, stopwords

# Aspect words leave the topic phrase, except the verbs that make it a task (居住证办理).
ASPECT_WORDS = _ASPECTS - {"办理", "申请", "申领", "措施", "情况", "工作", "问题"}
_ANAPHORA = re.compile(
    r"这个|那个|这项|那项|这种|那种|这类|这些|那些|该政策|该项|该规定|该办法|该文件|该事项|此项|此事|上述|前述|以上|上面说的|刚才|它|他们|其中"
)
_OPENERS = re.compile(
    r"^(?:那么?|还有|另外|此外|再|如果|要是|假如|那如果|然后|以及|和|跟|并且|而且|可是|但是|不过)"
)
_TRAILING = re.compile(r"[？?。！!，,\s呢吗吧啊呀哦嘛]+$")
_WHAT_ELSE = re.compile(
    r"^(?:还有呢|还有吗|还有别的吗|还有其他的?吗|然后呢|接下来呢|其他呢|别的呢|还有什么)[？?。！!\s]*$"
)
_X_NE = re.compile(r"^(?:那么?|那如果)?(?P<x>.{1,20}?)(?:呢|的话呢)[？?。！!\s]*$")
SHORT = 6  # a question this short (content characters) is read as a follow-up


def topic_words(question: str) -> list[str]:
    """Words of a (standalone) question that name its topic, in order."""
    stop = stopwords()
    out = []
    for w in cut(question):
        if w in QUESTION_WORDS or w in ASPECT_WORDS or w in stop:
            continue
        out.append(w)
    return out


def _own_topic(question: str) -> list[str]:
    return [w for w in topic_words(question) if len(w) > 1 or not re.fullmatch(r"[\u4e00-\u9fff]", w)]


def is_follow_up(question: str) -> bool:
    q = question.strip()
    core = _TRAILING.sub("", q)
    if _WHAT_ELSE.match(q):
        return True
    if _ANAPHORA.search(core) or _OPENERS.match(core):
        return True
    if len(re.sub(r"[^\w]", "", core)) <= SHORT:
        return True
    return not _own_topic(core)


def _topic_phrase(previous: str) -> str:
    """The previous standalone question without its question and aspect words: 居住证怎么办理 → 居住证办理."""
    return "".join(topic_words(_TRAILING.sub("", previous)))


def _aspect_tail(previous: str) -> str:
    """What the previous question asked about its topic: the text after its last topic word."""
    prev = _TRAILING.sub("", previous)
    words = cut(prev)
    topic = set(topic_words(prev)) - {"办理"}
    last = max((i for i, w in enumerate(words) if w in topic), default=-1)
    return "".join(words[last + 1 :]) if last >= 0 else ""


def rewrite_rules(question: str, previous: str | None) -> str:
    """The standalone form of `question` given the previous turn's standalone question (or itself)."""
    q = question.strip()
    if not previous or not is_follow_up(q):
        return q
    if _WHAT_ELSE.match(q):
        return previous.strip()
    topic = _topic_phrase(previous)
    if not topic:
        return q
    core = _TRAILING.sub("", q)
    m = _X_NE.match(q)
    if m:
        x = _OPENERS.sub("", m.group("x")).strip()
        own = _own_topic(x)
        if own and not _ANAPHORA.search(x) and not set(own) <= set(topic_words(previous)):
            # "新生儿出生呢": a new topic with the previous aspect.
            tail = _aspect_tail(previous)
            return (x + tail) if tail else f"{x}{_TRAILING.sub('', previous)}"
        core = x
    core = _OPENERS.sub("", core)
    if _ANAPHORA.search(core):
        core = _ANAPHORA.sub("", core, count=1)
        if topic in core:
            return core + _ending(q)
        return topic + core + _ending(q)
    if topic in core:
        return core + _ending(q)
    return topic + core + _ending(q)


def _ending(question: str) -> str:
    return "？" if re.search(r"[？?]\s*$", question) else ""
