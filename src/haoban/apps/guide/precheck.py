"""智能预审: before going to the window, report missing materials and invalid form fields.

The ID-number check (GB 11643: ISO 7064 MOD 11-2 check character, province code, real birth date) is the
PII module's validator; this module only explains in Chinese which part is wrong.
"""

from __future__ import annotations

import re
from datetime import date

from haoban.apps.guide.schemas import Checklist, Finding, FormField, PrecheckResult
from haoban.safety.pii_checks import id_check_char, valid_id18

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def id_number_problem(value: str) -> str | None:
    """None when valid, else a Chinese reason."""
    v = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return "应为 18 位，前 17 位为数字，最后一位为数字或 X"
    if id_check_char(v[:17]) != v[17]:
        return "校验位不正确，请核对是否输错"
    if not valid_id18(v):
        return "其中的地区码或出生日期不正确"
    return None


def parse_date(value: str) -> date | None:
    m = _DATE.match(value.strip())
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _check_field(f: FormField, value: str) -> Finding | None:
    if not value.strip():
        return Finding(field=f.key, level="missing", message=f"请填写{f.label}") if f.required else None
    if f.kind == "id_number" and (why := id_number_problem(value)):
        return Finding(field=f.key, level="invalid", message=f"{f.label}{why}")
    if f.kind == "date":
        d = parse_date(value)
        if d is None:
            return Finding(field=f.key, level="invalid", message=f"{f.label}不是有效日期（格式 YYYY-MM-DD）")
        if d > date.today():
            return Finding(field=f.key, level="invalid", message=f"{f.label}不能晚于今天")
    if f.kind == "phone" and not (_MOBILE.match(value.strip()) or _LANDLINE.match(value.strip())):
        return Finding(field=f.key, level="invalid", message=f"{f.label}应为 11 位手机号或带区号的固定电话")
    if f.kind == "number":
        try:
            float(value)
        except ValueError:
            return Finding(field=f.key, level="invalid", message=f"{f.label}应为数字")
    return None


def _has(provided: list[str], key: str, name: str) -> bool:
    for p in provided:
        p = p.strip()
        if len(p) < 2:
            continue
        if p in (key, name) or p in name or key in p:
            return True
    return False


def precheck(
    checklist: Checklist, form_fields: list[FormField], provided: list[str], fields: dict[str, str]
) -> PrecheckResult:
    findings: list[Finding] = []
    have: list[str] = []
    missing: list[str] = []
    for m in checklist.materials:
        if _has(provided, m.key, m.name):
            have.append(m.name)
        elif m.required:
            missing.append(m.name)
            findings.append(
                Finding(
                    field=f"材料:{m.key}",
                    level="missing",
                    message=f"缺少材料：{m.name}（{m.form} {m.count} 份）",
                )
            )
    for f in form_fields:
        problem = _check_field(f, str(fields.get(f.key, "") or ""))
        if problem:
            findings.append(problem)
    for q in checklist.unresolved:
        findings.append(
            Finding(
                field=f"情形:{q.key}",
                level="warning",
                message=f"尚未确定情形：{q.text}（材料清单可能不完整）",
            )
        )
    passed = not any(x.level in ("missing", "invalid") for x in findings)
    return PrecheckResult(
        code=checklist.code, passed=passed, findings=findings, provided=have, missing_materials=missing
    )
