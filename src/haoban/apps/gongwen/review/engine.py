"""`review()`: parse a 公文, run the selected rules, report findings on the text the user gave."""

from __future__ import annotations

import bisect
import re
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from haoban.apps.gongwen.document import MAX_CHARS, parse_text
from haoban.apps.gongwen.review import rules_format, rules_safety, rules_wording  # noqa: F401 — registers rules
from haoban.apps.gongwen.review.base import CHECKS, RULES, Context
from haoban.apps.gongwen.review.models import SEVERITY_ORDER, Finding, ReviewReport, RuleInfo
from haoban.errors import EmptyFile, InvalidInput

_CRLF = re.compile(r"\r\n")
# Characters that make no sense in a document (NUL and other C0 controls except tab/newlines).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def warm_up() -> None:
    """Load what the first review would otherwise load (jieba's dictionary); call at service start."""
    rules_wording.warm_up()


def list_rules() -> list[RuleInfo]:
    """Every rule, for a settings page or the API."""
    return list(RULES.values())


def select_rules(rules: Iterable[str] | str | None) -> list[str]:
    """Rule ids from a selection: ids or prefixes ("format", "format.punct"); "-x" removes x.

    None selects every default rule. A selection of only removals starts from the defaults.
    """
    if rules is None:
        return [r.id for r in RULES.values() if r.default]
    items = [rules] if isinstance(rules, str) else list(rules)
    items = [i.strip() for s in items for i in str(s).split(",") if i.strip()]
    include = [i for i in items if not i.startswith("-")]
    exclude = [i[1:] for i in items if i.startswith("-")]

    def matches(rid: str, sel: str) -> bool:
        return rid == sel or rid.startswith(sel + ".")

    unknown = [s for s in include + exclude if not any(matches(r, s) for r in RULES)]
    if unknown:
        raise InvalidInput(f"未知的审核规则：{'、'.join(unknown)}", code="REVIEW_BAD_RULE",
                           detail={"known": sorted(RULES)})
    base = [r for r in RULES if any(matches(r, s) for s in include)] if include else [r.id for r in RULES.values() if r.default]
    return [r for r in base if not any(matches(r, s) for s in exclude)]


def review(text: str, *, lexicon: Any = None, rules: Iterable[str] | str | None = None) -> ReviewReport:
    """Review a 公文 given as plain text. Findings carry spans into ``text`` itself.

    ``lexicon``: a `haoban.safety.lexicon.LexiconService` (or anything with ``.check(text)``) for sensitive
    words; without it that rule is skipped. ``rules``: see `select_rules`.
    """
    t0 = time.perf_counter()
    if not isinstance(text, str):
        raise InvalidInput("待审核的公文必须是文本", code="REVIEW_NOT_TEXT")
    if not text.strip():
        raise EmptyFile("公文内容为空，请粘贴或上传公文正文", code="GONGWEN_EMPTY")
    if len(text) > MAX_CHARS:
        raise InvalidInput(f"公文过长（{len(text)} 字），上限 {MAX_CHARS} 字", code="GONGWEN_TOO_LONG",
                           detail={"chars": len(text), "max_chars": MAX_CHARS})
    selected = select_rules(rules)
    wanted = set(selected)
    # Control characters become spaces (same length) so the parser and the rules never see them.
    clean = _CONTROL.sub(" ", text)
    doc = parse_text(clean)
    ctx = Context(source=doc.source, doc=doc, info=doc.type_info(), lexicon=lexicon)
    findings: list[Finding] = []
    for ids, fn in CHECKS:
        if not wanted.intersection(ids):
            continue
        findings += [f for f in fn(ctx) if f.rule in wanted]
    findings = _map_to_original(findings, text, doc.source)
    findings = _dedupe(findings)
    findings.sort(key=lambda f: (f.start, f.end, SEVERITY_ORDER[f.severity], f.rule))
    return ReviewReport(
        doc_type=doc.doc_type,
        title=doc.title.text if doc.title else None,
        chars=len(text),
        findings=findings,
        counts=dict(Counter(f.category for f in findings)),
        severities=dict(Counter(f.severity for f in findings)),
        rules=selected,
        notices=ctx.notices,
        took_ms=round((time.perf_counter() - t0) * 1000, 2),
    )


def _map_to_original(findings: list[Finding], original: str, source: str) -> list[Finding]:
    """The parser turned "\\r\\n" into "\\n"; shift spans back onto the original text."""
    if len(original) == len(source):
        return findings
    # Normalised positions after which one more original character has been dropped.
    cuts: list[int] = []
    for removed, m in enumerate(_CRLF.finditer(original)):
        cuts.append(m.start() - removed)

    def orig(n: int) -> int:
        return n + bisect.bisect_right(cuts, n - 1) if n > 0 else 0

    out = []
    for f in findings:
        s, e = orig(f.start), orig(f.end)
        out.append(f.model_copy(update={"start": s, "end": e, "text": original[s:e]}))
    return out


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per (rule, span): overlapping checks of the same rule must not double-report."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for f in findings:
        key = (f.rule, f.start, f.end)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
