"""Detect and mask personal information in Chinese text (身份证号、手机号、银行卡号、姓名、地址…).

    >>> mask("张三的手机号是 13812345678").text
    '张*的手机号是 138****5678'

Detection runs on a normalised copy (full-width digits → ASCII, zero-width characters removed) and
reports spans on the original text. Structured identifiers are validated (ID check digit and birth
date, Luhn, GB 32100 check character); names, places, addresses and organisations come from
`pii_ner` (jieba POS + dictionaries). Organisations and bare place names ("北京") are detected but,
by default, not masked: policy questions need them and they identify no person.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from haoban.errors import InvalidInput, TextTooLong
from haoban.safety import pii_ner
from haoban.safety.pii_structured import Hit, find_structured, normalize_with_map

if TYPE_CHECKING:
    from haoban.safety.vault import PseudonymVault

PiiType = Literal[
    "id_card", "mobile", "landline", "bank_card", "credit_code", "email", "license_plate", "passport",
    "name", "address", "place", "organization",
]
MaskStyle = Literal["partial", "tag", "pseudonym"]

LABELS: dict[str, str] = {
    "id_card": "身份证号",
    "mobile": "手机号",
    "landline": "固定电话",
    "bank_card": "银行卡号",
    "credit_code": "统一社会信用代码",
    "email": "电子邮箱",
    "license_plate": "车牌号",
    "passport": "护照号",
    "name": "姓名",
    "address": "地址",
    "place": "地名",
    "organization": "机构名称",
}
ALL_TYPES: tuple[str, ...] = tuple(LABELS)
STRUCTURED_TYPES = frozenset(ALL_TYPES[:8])
NER_TYPES = frozenset(ALL_TYPES[8:])
DEFAULT_MASK_TYPES: tuple[str, ...] = tuple(t for t in ALL_TYPES if t not in ("place", "organization"))
# The longest text one call accepts (same order as the ingestion limit); callers split longer documents.
MAX_CHARS = 5_000_000


def too_long_error() -> TextTooLong:
    return TextTooLong(f"文本过长（单次上限 {MAX_CHARS:,} 字），请分段处理", detail={"max_chars": MAX_CHARS})


class PiiSpan(BaseModel):
    start: int = Field(description="在原文中的起始位置（含）")
    end: int = Field(description="在原文中的结束位置（不含）")
    type: PiiType
    label: str = Field(description="类型的中文名")
    text: str = Field(description="原文片段")
    confidence: float
    replacement: str | None = Field(None, description="脱敏后替换成的文字")


class MaskResult(BaseModel):
    text: str = Field(description="脱敏后的文本")
    style: MaskStyle
    spans: list[PiiSpan] = Field(description="被脱敏的片段（位置指原文）")
    took_ms: float = 0.0


def parse_types(types: Iterable[str] | str | None, default: Iterable[str] = ALL_TYPES) -> tuple[str, ...]:
    """Accept type names or their Chinese labels, comma separated or as a list; reject unknown ones."""
    if types is None:
        return tuple(default)
    items = [t.strip() for t in (types.split(",") if isinstance(types, str) else types) for t in t.split(",")]
    by_label = {v: k for k, v in LABELS.items()}
    out = []
    for t in filter(None, items):
        key = t.lower() if t.lower() in LABELS else by_label.get(t)
        if key is None:
            raise InvalidInput(f"未知的个人信息类型：{t}；可选 {'、'.join(ALL_TYPES)}")
        out.append(key)
    return tuple(dict.fromkeys(out)) or tuple(default)


# Structured identifiers win over anything they overlap; among the rest, the longer span wins.
def _resolve(hits: list[Hit]) -> list[Hit]:
    ranked = sorted(hits, key=lambda h: (h.type not in STRUCTURED_TYPES, -(h.end - h.start), -h.confidence, h.start))
    taken: list[Hit] = []
    occupied = bytearray()
    for h in ranked:
        if len(occupied) < h.end:
            occupied.extend(b"\0" * (h.end - len(occupied)))
        if any(occupied[h.start : h.end]):
            continue
        occupied[h.start : h.end] = b"\1" * (h.end - h.start)
        taken.append(h)
    return sorted(taken, key=lambda h: h.start)


def detect(text: str, types: Iterable[str] | str | None = None, *, min_confidence: float = 0.5) -> list[PiiSpan]:
    """All personal-information spans of the wanted types, positions on the original text."""
    if not isinstance(text, str):
        raise InvalidInput("文本必须是字符串")
    if len(text) > MAX_CHARS:
        raise too_long_error()
    wanted = set(parse_types(types))
    if not text.strip():
        return []
    norm, index = normalize_with_map(text)
    hits = find_structured(norm) if wanted & STRUCTURED_TYPES else []
    if wanted & NER_TYPES:
        hits += pii_ner.find_entities(norm)
    spans = []
    for h in _resolve(hits):
        if h.type not in wanted or h.confidence < min_confidence:
            continue
        start, end = index[h.start], index[h.end - 1] + 1
        spans.append(PiiSpan(start=start, end=end, type=h.type, label=LABELS[h.type], text=text[start:end], confidence=h.confidence))
    return spans


def mask(
    text: str,
    style: MaskStyle = "partial",
    types: Iterable[str] | str | None = None,
    *,
    vault: PseudonymVault | None = None,
    min_confidence: float = 0.5,
) -> MaskResult:
    """Replace personal information. `pseudonym` needs a vault (tokens are stable and reversible there)."""
    began = time.perf_counter()
    if style not in ("partial", "tag", "pseudonym"):
        raise InvalidInput("脱敏方式只能是 partial（部分遮盖）、tag（类型标签）或 pseudonym（假名）")
    if style == "pseudonym" and vault is None:
        raise InvalidInput("假名脱敏需要假名库（vault）")
    spans = detect(text, parse_types(types, DEFAULT_MASK_TYPES), min_confidence=min_confidence)
    if style == "pseudonym" and spans:
        tokens = vault.tokens([(s.type, _canonical(s.type, s.text)) for s in spans])
    parts: list[str] = []
    pos = 0
    for i, s in enumerate(spans):
        if style == "partial":
            s.replacement = partial(s.type, s.text)
        elif style == "tag":
            s.replacement = f"[{s.label}]"
        else:
            s.replacement = tokens[i]
        parts += [text[pos : s.start], s.replacement]
        pos = s.end
    parts.append(text[pos:])
    return MaskResult(text="".join(parts), style=style, spans=spans, took_ms=(time.perf_counter() - began) * 1000)


_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f]")


def _canonical(kind: str, value: str) -> str:
    """One pseudonym per value however it was written: 138-1234-5678 and １３８１２３４５６７８ are one number."""
    norm, _ = normalize_with_map(value)
    if kind in STRUCTURED_TYPES and kind != "email":
        norm = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]", "", norm).upper()
        if kind == "mobile" and len(norm) > 11:
            norm = norm[-11:]
    return norm.strip()


# How many leading and trailing significant characters stay visible.
_KEEP = {
    "id_card": (3, 4), "mobile": (3, 4), "bank_card": (4, 4), "credit_code": (4, 4),
    "license_plate": (2, 1), "passport": (1, 3), "landline": (0, 4),
}
_ADMIN_PREFIX = re.compile(
    r"^(?:[\u4e00-\u9fff]{2,9}?(?:省|自治区|特别行政区))?(?:[\u4e00-\u9fff]{1,9}?(?:市|自治州|地区|盟))?(?:[\u4e00-\u9fff]{1,9}?(?:区|县|旗|市))?"
)
_AREA_CODE = re.compile(r"^(?:(?:\+|00)86[ \-]?)?\(?0(?:10|2\d|[3-9]\d{2})\)?")


def partial(kind: str, value: str) -> str:
    """Partial masking: keep what helps a human recognise the record, star the rest."""
    value = _INVISIBLE.sub("", value)
    if kind == "email":
        local, _, domain = value.partition("@")
        return local[:1] + "*" * max(len(local) - 1, 1) + "@" + domain
    if kind == "name":
        single, compound = pii_ner.surnames()
        if len(value) == 1:
            return value  # 王女士: a surname alone identifies nobody; the tag style still replaces it
        head = 2 if value[:2] in compound and len(value) > 2 else 1
        return value[:head] + "*" * (len(value) - head)
    if kind == "address":
        # Province/city/district stay readable (needed to route a case); everything finer is starred.
        keep = len(_ADMIN_PREFIX.match(value).group())
        return value[:keep] + "*" * (len(value) - keep)
    if kind in ("place", "organization"):
        return value[:1] + "*" * max(len(value) - 1, 1)
    head, tail = _KEEP.get(kind, (0, 0))
    offset = 0
    if kind == "landline" and (m := _AREA_CODE.match(_full_to_half(value))):
        offset = m.end()
    elif kind == "mobile":
        digits_at = [i for i, c in enumerate(value) if _significant(c)]
        offset = digits_at[-11] if len(digits_at) > 11 else 0
    sig = [i for i, c in enumerate(value) if i >= offset and _significant(c)]
    hide = set(sig[head : len(sig) - tail]) if len(sig) > head + tail else set(sig)
    return "".join("*" if i in hide else c for i, c in enumerate(value))


def _significant(c: str) -> bool:
    return c.isalnum()


def _full_to_half(s: str) -> str:
    return normalize_with_map(s)[0] if len(normalize_with_map(s)[0]) == len(s) else s


def warm_up() -> None:
    """Load the POS dictionary now (about two seconds) instead of on the first call."""
    pii_ner.warm_up()
