"""What a review returns: findings with spans into the checked text, and a report over them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Category = Literal["format", "wording", "safety"]
Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


class Finding(BaseModel):
    rule: str = Field(description="规则标识，如 format.doc_number、wording.de_di_de")
    category: Category
    severity: Severity
    start: int = Field(description="在被审核文本中的起始位置（含）")
    end: int = Field(description="在被审核文本中的结束位置（不含）")
    text: str = Field(description="被标出的原文片段，即原文 [start, end)")
    message: str = Field(description="问题说明")
    suggestion: str = Field("", description="修改建议")
    replacement: str | None = Field(None, description="确定无误时给出的替换文字，编辑器据此一键修改")


class RuleInfo(BaseModel):
    id: str
    category: Category
    name: str = Field(description="规则的中文名称")
    basis: str = Field("", description="依据")
    default: bool = Field(True, description="未指定规则时是否启用")


class ReviewReport(BaseModel):
    doc_type: str | None = Field(None, description="由标题判断的文种")
    title: str | None = None
    chars: int
    findings: list[Finding] = Field(default_factory=list, description="按位置排序")
    counts: dict[str, int] = Field(default_factory=dict, description="各类别（format/wording/safety）问题数")
    severities: dict[str, int] = Field(default_factory=dict, description="各严重程度（error/warning/info）问题数")
    rules: list[str] = Field(default_factory=list, description="本次运行的规则")
    notices: list[str] = Field(default_factory=list, description="未能运行的规则等提示")
    took_ms: float = 0.0
