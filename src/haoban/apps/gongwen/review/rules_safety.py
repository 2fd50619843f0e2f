"""Safety rules through the safety layer: the operator's sensitive-word lexicon and personal information."""

from __future__ import annotations

from collections.abc import Iterator

from haoban.apps.gongwen.review.base import Context, check, define
from haoban.apps.gongwen.review.models import Finding, Severity

define("safety.sensitive", "safety", "敏感词", "平台敏感词库（haoban.safety.lexicon）")
define("safety.pii", "safety", "个人信息", "《个人信息保护法》；政府信息公开不得泄露个人隐私")

_LEXICON_SEVERITY: dict[str, Severity] = {"block": "error", "review": "warning", "mask": "warning"}
# Identifiers of a person are a warning (a 身份证号 in a public notice is a leak); a mobile number may be the
# contact person's and is only pointed out. Names, places, organisations and office phones are public in 公文.
PII_SEVERITY: dict[str, Severity] = {"id_card": "warning", "bank_card": "warning", "passport": "warning", "mobile": "info"}


@check("safety.sensitive")
def sensitive(ctx: Context) -> Iterator[Finding]:
    if ctx.lexicon is None:
        return
    result = ctx.lexicon.check(ctx.source)
    for m in result.matches:
        if m.action == "allow":
            continue
        severity = _LEXICON_SEVERITY.get(m.action, "warning")
        yield ctx.finding(
            "safety.sensitive", m.start, m.end, f"命中敏感词库（{m.category}）：“{m.term}”",
            "删改该表述，或经审核后在词库中加白名单", severity=severity,
        )
    if result.truncated:
        ctx.notices.append("敏感词命中过多，只列出了一部分")


@check("safety.pii")
def personal_info(ctx: Context) -> Iterator[Finding]:
    from haoban.safety import pii

    for span in pii.detect(ctx.source, types=tuple(PII_SEVERITY)):
        yield ctx.finding(
            "safety.pii", span.start, span.end, f"含有个人信息（{span.label}）",
            "公开发布的公文不应出现个人证件号、银行卡号等信息；确需保留的请脱敏，如只保留前后几位",
            replacement=pii.partial(span.type, span.text) if span.type in ("id_card", "bank_card", "passport") else None,
            severity=PII_SEVERITY[span.type],
        )
