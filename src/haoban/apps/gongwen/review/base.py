"""The pieces every rule module shares: the rule registry and the per-review context.

A check is a function ``check(ctx) -> Iterable[Finding]`` registered for one or more rule ids; it runs when
any of its ids is selected and only findings of selected ids are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from haoban.apps.gongwen.document import Gongwen, Paragraph, Part
from haoban.apps.gongwen.review.models import Category, Finding, RuleInfo, Severity

if TYPE_CHECKING:
    from haoban.apps.gongwen.doctypes import DocType

CJK = r"\u3400-\u9fff"
CJK_RE = re.compile(f"[{CJK}]")

RULES: dict[str, RuleInfo] = {}
Check = Callable[["Context"], Iterable[Finding]]
CHECKS: list[tuple[tuple[str, ...], Check]] = []


def define(rule_id: str, category: Category, name: str, basis: str = "", *, default: bool = True) -> None:
    RULES[rule_id] = RuleInfo(id=rule_id, category=category, name=name, basis=basis, default=default)


def check(*rule_ids: str) -> Callable[[Check], Check]:
    """Register a check producing findings of ``rule_ids`` (each defined with `define` first)."""

    def wrap(fn: Check) -> Check:
        for rid in rule_ids:
            if rid not in RULES:
                raise KeyError(f"rule {rid} is not defined")
        CHECKS.append((rule_ids, fn))
        return fn

    return wrap


@dataclass
class Context:
    source: str  # the text the parser saw (newlines normalised); spans are into this
    doc: Gongwen
    info: DocType | None
    lexicon: Any = None
    notices: list[str] = field(default_factory=list)

    def finding(
        self,
        rule: str,
        start: int,
        end: int,
        message: str,
        suggestion: str = "",
        replacement: str | None = None,
        severity: Severity = "warning",
    ) -> Finding:
        return Finding(
            rule=rule,
            category=RULES[rule].category,
            severity=severity,
            start=start,
            end=end,
            text=self.source[start:end],
            message=message,
            suggestion=suggestion,
            replacement=replacement,
        )

    @cached_property
    def lines(self) -> list[Part]:
        """Every non-blank line with its span (stripped of surrounding blanks)."""
        out: list[Part] = []
        pos = 0
        for raw in self.source.split("\n"):
            stripped = raw.strip(" \t\u3000\r")
            if stripped:
                start = pos + raw.index(stripped)
                out.append(Part(text=stripped, start=start, end=start + len(stripped)))
            pos += len(raw) + 1
        return out

    @cached_property
    def bodies(self) -> list[list[Paragraph]]:
        """The 正文 and each attachment's text: heading sequences restart in each."""
        out = [self.doc.body]
        for a in self.doc.attachments:
            # An attachment whose first line is itself a numbered item ("1.××坐标") starts its sequence there.
            head = Paragraph(text=a.title.text, start=a.title.start, end=a.title.end)
            out.append(([head] if re.match(r"(?:[一二三四五六七八九十]+、|\d{1,2}[.．、]|[（(])", a.title.text) else []) + a.body)
        return out

    @cached_property
    def title_span(self) -> tuple[int, int]:
        t = self.doc.title
        return (t.start, t.end) if t and t.start >= 0 else (-1, -1)

    def in_title(self, pos: int) -> bool:
        s, e = self.title_span
        return s <= pos < e

    @cached_property
    def is_order(self) -> bool:
        """命令（令）: numbered "第707号" under the mark, no title of the usual form."""
        d = self.doc
        if d.issuer_mark is not None and d.issuer_mark.text.endswith("令"):
            return True
        return bool(d.doc_number and re.fullmatch(r"第\s*\d+\s*号", d.doc_number.text))


def sentence_bounds(text: str, pos: int, stops: str = "。！？；\n") -> tuple[int, int]:
    """The sentence (between stop characters) around ``pos``."""
    start = pos
    while start > 0 and text[start - 1] not in stops:
        start -= 1
    end = pos
    while end < len(text) and text[end] not in stops:
        end += 1
    return start, end


def iter_matches(pattern: re.Pattern[str], text: str, offset: int = 0) -> Iterator[tuple[int, int, re.Match[str]]]:
    for m in pattern.finditer(text):
        yield offset + m.start(), offset + m.end(), m
