"""惠企政策匹配: structured eligibility conditions checked against an enterprise profile, each with a reason.

Conditions can be drafted from policy text by rules (and a model when configured); drafts are stored with
status "draft" until a person reviews them.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from haoban.apps.guide.schemas import Condition, ConditionCheck, EnterpriseProfile, Policy, PolicyMatch

SHANGHAI = ZoneInfo("Asia/Shanghai")

FIELD_LABELS = {
    "industry": "行业",
    "size": "企业规模",
    "area": "注册地",
    "age_years": "成立年限",
    "revenue": "营业收入（万元）",
    "headcount": "职工人数",
    "qualifications": "资质",
    "ownership": "所有制",
}
OP_TEXT = {
    ">=": "不少于",
    "<=": "不超过",
    ">": "大于",
    "<": "小于",
    "==": "等于",
    "in": "属于",
    "not_in": "不属于",
    "has_any": "具有其一",
    "has_all": "全部具有",
}


def _profile_value(p: EnterpriseProfile, f: str) -> Any:
    if f == "age_years":
        if p.age_years is not None:
            return p.age_years
        if p.established:
            return round((date.today() - p.established).days / 365.25, 2)
        return None
    v = getattr(p, f)
    return v if v not in ("", None, []) else None


def check(cond: Condition, profile: EnterpriseProfile) -> ConditionCheck:
    label = cond.label or f"{FIELD_LABELS[cond.field]}{OP_TEXT[cond.op]}{cond.value}"
    v = _profile_value(profile, cond.field)
    if v is None:
        return ConditionCheck(
            label=label,
            field=cond.field,
            passed=None,
            explanation=f"企业画像未填写{FIELD_LABELS[cond.field]}，无法判断",
        )
    want = cond.value
    op = cond.op
    if op in ("has_any", "has_all"):
        have = set(v)
        need = set(want if isinstance(want, list) else [want])
        ok = bool(have & need) if op == "has_any" else need <= have
        hit = "、".join(sorted(have & need)) or "无"
        return ConditionCheck(
            label=label,
            field=cond.field,
            passed=ok,
            explanation=f"要求{OP_TEXT[op]}：{'、'.join(sorted(need))}；企业具有：{hit}",
        )
    if op in ("in", "not_in"):
        values = want if isinstance(want, list) else [want]
        inside = v in values
        ok = inside if op == "in" else not inside
        return ConditionCheck(
            label=label,
            field=cond.field,
            passed=ok,
            explanation=f"企业{FIELD_LABELS[cond.field]}为“{v}”，要求{OP_TEXT[op]}{'、'.join(map(str, values))}",
        )
    a, b = float(v), float(want)
    ok = {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "==": a == b}[op]
    return ConditionCheck(
        label=label,
        field=cond.field,
        passed=ok,
        explanation=f"企业{FIELD_LABELS[cond.field]}为 {v:g}，要求{OP_TEXT[op]} {b:g}",
    )


def match_policy(policy: Policy, profile: EnterpriseProfile, today: date | None = None) -> PolicyMatch:
    checks = [check(c, profile) for c in policy.conditions]
    today = today or datetime.now(SHANGHAI).date()
    if policy.valid_until is not None and policy.valid_until < today:
        # An expired policy can no longer be applied for, however well the enterprise fits it.
        checks.append(ConditionCheck(label="政策有效期", field="valid_until", passed=False,
                                     explanation=f"政策已于 {policy.valid_until:%Y年%m月%d日} 到期"))  # fmt: skip
    return PolicyMatch(
        code=policy.code,
        name=policy.name,
        benefit=policy.benefit,
        eligible=all(c.passed for c in checks),
        unknown=sum(c.passed is None for c in checks),
        checks=checks,
        exempt_application=policy.exempt_application,
        status=policy.status,
    )


def rank(matches: list[PolicyMatch]) -> list[PolicyMatch]:
    def key(m: PolicyMatch) -> tuple:
        failed = sum(c.passed is False for c in m.checks)
        return (not m.eligible, failed, m.unknown, m.code)

    return sorted(matches, key=key)


# ---- drafting conditions from policy text (rules) --------------------------------------------------------

_NUM = r"(\d+(?:\.\d+)?)"
_QUALS = (
    "高新技术企业",
    "科技型中小企业",
    "专精特新中小企业",
    "专精特新小巨人",
    "小规模纳税人",
    "规模以上工业企业",
    "农业产业化龙头企业",
    "对外贸易经营者备案",
)
_INDUSTRIES = (
    "制造业",
    "批发和零售业",
    "住宿和餐饮业",
    "建筑业",
    "农、林、牧、渔业",
    "信息传输、软件和信息技术服务业",
    "交通运输、仓储和邮政业",
)
_INDUSTRY_HINTS = {
    "软件": "信息传输、软件和信息技术服务业",
    "工业": "制造业",
    "餐饮": "住宿和餐饮业",
    "农业": "农、林、牧、渔业",
    "外贸": "批发和零售业",
}


def _amount(num: str, unit: str) -> float:
    return float(num) * (10000 if unit == "亿" else 1)


def draft_conditions(text: str) -> list[Condition]:
    """Rule-based draft of structured conditions; a reviewer confirms them before use."""
    out: list[Condition] = []
    if m := re.search(r"成立(?:时间)?(?:不超过|不满|未满|以内)?\s*" + _NUM + r"\s*年(以内|以下|内)?", text):
        out.append(Condition(field="age_years", op="<=", value=float(m[1]), label=m[0]))
    if m := re.search(r"成立\s*" + _NUM + r"\s*年(?:以上|及以上)", text):
        out.append(Condition(field="age_years", op=">=", value=float(m[1]), label=m[0]))
    for m in re.finditer(
        r"(?:营业收入|主营业务收入|销售额)[^，。；\d]{0,6}" + _NUM + r"\s*(亿|万)元(以上|及以上|以下|以内)?",
        text,
    ):
        op = ">=" if (m[3] or "").endswith("上") else "<="
        prefix = text[max(0, m.start() - 4) : m.start()] + m[0]
        if "不超过" in prefix or "以下" in prefix:
            op = "<="
        out.append(Condition(field="revenue", op=op, value=_amount(m[1], m[2]), label=m[0]))
    for m in re.finditer(
        r"(?:职工|从业人员|员工)(?:人数|总数)?[^，。；\d]{0,4}" + _NUM + r"\s*人(以上|及以上|以下|以内)?",
        text,
    ):
        op = ">=" if (m[2] or "").endswith("上") else "<="
        out.append(Condition(field="headcount", op=op, value=int(float(m[1])), label=m[0]))
    if "小微企业" in text or "小型微型企业" in text:
        out.append(Condition(field="size", op="in", value=["微型", "小型"], label="小微企业"))
    elif "中小企业" in text and not any(q in text for q in ("科技型中小企业", "专精特新中小企业")):
        out.append(Condition(field="size", op="in", value=["微型", "小型", "中型"], label="中小企业"))
    quals = [q for q in _QUALS if q in text]
    if quals:
        out.append(Condition(field="qualifications", op="has_any", value=quals, label="、".join(quals)))
    inds = [i for i in _INDUSTRIES if i in text] or sorted(
        {v for k, v in _INDUSTRY_HINTS.items() if k in text and k + "企业" in text}
    )
    if inds:
        out.append(Condition(field="industry", op="in", value=inds, label="、".join(inds)))
    if re.search(r"(?:在本市|本市)(?:注册|登记)|注册(?:地)?在本市", text):
        out.append(Condition(field="area", op="in", value=["本市"], label="在本市注册"))
    return out
