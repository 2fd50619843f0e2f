"""Places, keywords, an extractive summary and a suggested reply for the agent (templates; a model when configured)."""

from __future__ import annotations

import re
from collections import Counter

from haoban.apps.hotline.classify import words
from haoban.text.sentences import split_sentences

# A place name: a short run of name characters ending in a place word; the excluded characters are the
# verbs and pronouns that precede a place in speech (我家住在…), so they are not swallowed into the name.
_NAME = r"[^\s，。！？、；：,.!?;:“”\"（）()我你他她家住在是到的了从往去近旁边附这那个对于给向有]"
_PLACE = re.compile(
    rf"{_NAME}{{2,6}}?(?:路|街|大道)(?:\d+号院?)?(?:{_NAME}{{0,4}}(?:小区|社区|花园))?"
    rf"|{_NAME}{{2,4}}?(?:社区|小区|花园|新村|新城|名苑|苑|一号|工业园|医院|小学|中学|幼儿园|卫生服务中心)"
)


def places(text: str) -> list[str]:
    seen: list[str] = []
    for m in _PLACE.finditer(text):
        p = m.group(0)
        if p not in seen:
            seen.append(p)
    return seen[:5]


def keywords(text: str, top: int = 6) -> list[str]:
    counts = Counter(w for w in words(text) if len(w) >= 2 and not w.isdigit())
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], -len(kv[0])))[:top]]


def summary(text: str, limit: int = 60) -> str:
    """The sentence that carries the most keywords (the request itself), prefixed with the place."""
    sents = [text[a:b].strip() for a, b in split_sentences(text) if text[a:b].strip()] or [text.strip()]
    keys = set(keywords(text, 8))
    best = max(sents, key=lambda s: (sum(k in s for k in keys), -sents.index(s)))
    where = places(text)
    head = f"【{where[0]}】" if where and where[0] not in best else ""
    out = head + best
    return out if len(out) <= limit else out[: limit - 1] + "…"


def draft_reply(request_type: str | None, department: str | None, summary_text: str, due: str | None,
                answer: str | None = None, source: str | None = None) -> str:
    """A reply draft in 12345 house style; the agent edits it before sending."""
    dept = department or "相关部门"
    if answer:
        basis = f"（依据：{source}）" if source else ""
        return f"您好！关于您咨询的问题，答复如下：{answer}{basis}如仍有疑问，欢迎再次来电12345。"
    if request_type == "咨询":
        return f"您好！您咨询的问题已受理，已转{dept}核实答复，请保持电话畅通。"
    if request_type == "建议":
        return f"您好！感谢您提出的宝贵建议，已转{dept}研究办理，办理结果将及时反馈给您。"
    if request_type == "表扬":
        return f"您好！感谢您对我们工作的肯定，您的表扬已转达{dept}。"
    when = f"，承办单位将于{due}前答复您" if due else ""
    return f"您好！您反映的“{summary_text}”问题已受理，已转{dept}办理{when}。感谢您对政府工作的支持与监督。"


def model_reply(gateway, ticket_text: str, draft: str) -> str | None:
    """Polish the draft with the configured model; None when no model or it failed (the draft stays)."""
    if gateway is None or not getattr(gateway, "available", False):
        return None
    from haoban.errors import LLMError
    from haoban.llm.models import ChatMessage

    messages = [
        ChatMessage(role="system", content="你是12345政务服务热线的坐席助手。根据市民诉求和草稿，写一段礼貌、简洁、不作任何未经核实承诺的答复，不超过120字。"),
        ChatMessage(role="user", content=f"市民诉求：{ticket_text[:800]}\n草稿：{draft}"),
    ]
    try:
        return gateway.chat(messages, max_tokens=256).text.strip() or None
    except LLMError:
        return None
