"""Catalogue shapes (pydantic): service items (事项) with 情形 and materials, life-event bundles, policies.

Field names follow the national 政务服务事项 practice; one shape serves import/export, storage and the API.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

ITEM_TYPES = (
    "行政许可",
    "行政给付",
    "行政确认",
    "行政征收",
    "行政裁决",
    "行政奖励",
    "行政备案",
    "公共服务",
    "其他行政权力",
)
CHANNELS = ("窗口", "网办", "掌办", "自助终端", "邮寄")


class Material(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="材料名称")
    form: str = Field("原件", description="原件 / 复印件 / 原件和复印件 / 电子件")
    count: int = Field(1, ge=0, le=99, description="份数")
    source: str = Field("申请人自备", description="来源：申请人自备 / 电子证照 / 政府部门核发 / 现场填写 …")
    required: bool = Field(True, description="必要材料；false 为容缺或按条件提交")
    condition: str = Field("", description="何种情况下需要（条件材料）")
    key: str = Field("", description="稳定键，预审时与申请人已有材料对照；为空时用名称")
    note: str = ""

    @property
    def ref(self) -> str:
        return self.key or self.name


class FormField(BaseModel):
    key: str = Field(min_length=1, max_length=60)
    label: str = Field(min_length=1, max_length=60)
    kind: Literal["text", "id_number", "date", "phone", "number"] = "text"
    required: bool = True


class Situation(BaseModel):
    """情形: a variant of the item with its own extra materials, chosen by answers to a few questions."""

    code: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=200)
    when: dict[str, str] = Field(
        default_factory=dict, description="区分条件，如 {户籍地: 本地, 是否首次: 是}"
    )
    materials: list[Material] = Field(default_factory=list, description="在通用材料之外需要的材料")
    note: str = ""


class FAQ(BaseModel):
    q: str = Field(min_length=1)
    a: str = Field(min_length=1)


class ServiceItem(BaseModel):
    code: str = Field(min_length=1, max_length=120, description="事项编码")
    name: str = Field(min_length=1, max_length=300, description="事项名称")
    item_type: str = Field("公共服务", description="事项类型")
    department: str = Field(min_length=1, max_length=100, description="实施部门")
    level: str = Field("县级", description="实施层级")
    subject: Literal["个人", "企业", "个人和企业"] = Field("个人", description="服务对象")
    aliases: list[str] = Field(default_factory=list, description="别名、俗称")
    keywords: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list, description="受理条件")
    materials: list[Material] = Field(default_factory=list, description="各情形通用的申请材料")
    situations: list[Situation] = Field(default_factory=list, description="情形")
    steps: list[str] = Field(default_factory=list, description="办理流程")
    legal_days: int | None = Field(None, ge=0, description="法定办结时限（工作日）")
    promised_days: int | None = Field(None, ge=0, description="承诺办结时限（工作日，0 为即办）")
    fee: str = Field("不收费", description="收费标准")
    channels: list[str] = Field(default_factory=lambda: ["窗口"], description="办理渠道")
    location: str = Field("", description="办理地点")
    legal_basis: list[str] = Field(default_factory=list, description="设定依据（法规名称及条款/文号）")
    faq: list[FAQ] = Field(default_factory=list)
    form_fields: list[FormField] = Field(default_factory=list, description="预审时检查的表单字段")

    @field_validator("item_type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        if v not in ITEM_TYPES:
            raise ValueError(f"事项类型“{v}”不在 {'、'.join(ITEM_TYPES)} 之内")
        return v

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if c not in CHANNELS]
        if bad:
            raise ValueError(f"办理渠道“{'、'.join(bad)}”不在 {'、'.join(CHANNELS)} 之内")
        return v


class BundleStep(BaseModel):
    item: str = Field(description="事项编码")
    order: int = Field(1, ge=1, description="办理顺序，相同顺序可并行")
    situation: str = Field("", description="在本件事中预先确定的情形编码")
    note: str = ""
    optional: bool = False


class Bundle(BaseModel):
    """一件事一次办: a life event served by several items in order."""

    code: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    aliases: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    steps: list[BundleStep] = Field(min_length=1)


class Condition(BaseModel):
    """One eligibility condition of a policy over an enterprise-profile field."""

    field: Literal[
        "industry", "size", "area", "age_years", "revenue", "headcount", "qualifications", "ownership"
    ]
    op: Literal["in", "not_in", ">=", "<=", ">", "<", "==", "has_any", "has_all"]
    value: Any
    label: str = Field("", description="条件的原文表述")

    @model_validator(mode="after")
    def _fits(self) -> Condition:
        """The operator must suit the field and the value its operator: a condition stored wrong would otherwise
        fail (or silently compare characters) for every enterprise at matching time."""
        numeric = self.field in ("age_years", "revenue", "headcount")
        if self.op in (">=", "<=", ">", "<", "=="):
            if not numeric:
                raise ValueError(f"“{self.field}”不是数值字段，不能用 {self.op} 比较")
            if isinstance(self.value, bool) or not isinstance(self.value, int | float):
                raise ValueError(f"“{self.field}”的条件值须为数字（如 500，而不是“500万”）")
        elif self.op in ("has_any", "has_all"):
            if self.field != "qualifications":
                raise ValueError(f"{self.op} 只用于资质（qualifications）")
            if not isinstance(self.value, list | str) or not self.value:
                raise ValueError("资质条件须给出资质名称或名称列表")
        elif numeric or not isinstance(self.value, list | str) or not self.value:
            raise ValueError(f"{self.op} 须用于文字字段，条件值为一个或一组文字")
        return self


class Policy(BaseModel):
    code: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=300)
    issuer: str = ""
    summary: str = ""
    benefit: str = Field("", description="扶持内容")
    conditions: list[Condition] = Field(default_factory=list)
    exempt_application: bool = Field(False, description="免申即享")
    legal_basis: list[str] = Field(default_factory=list)
    status: Literal["draft", "reviewed"] = Field("reviewed", description="条件是否经人工审核")
    valid_until: date | None = None


class Catalogue(BaseModel):
    """An import/export unit; any part may be empty."""

    items: list[ServiceItem] = Field(default_factory=list)
    bundles: list[Bundle] = Field(default_factory=list)
    policies: list[Policy] = Field(default_factory=list)
    aliases: dict[str, list[str]] = Field(default_factory=dict, description="同义词词典：规范词 → 口语说法")


# ---- results -----------------------------------------------------------------------------------------


class RowError(BaseModel):
    row: int = Field(description="行号（CSV/XLSX 从 2 起，表头为第 1 行；JSON 为数组下标 + 1）")
    sheet: str = ""
    code: str = ""
    field: str = ""
    message: str


class ImportReport(BaseModel):
    mode: Literal["all_or_nothing"] = "all_or_nothing"
    items: int = 0
    bundles: int = 0
    policies: int = 0
    aliases: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ItemSummary(BaseModel):
    code: str
    name: str
    department: str
    item_type: str
    subject: str


class Question(BaseModel):
    key: str = Field(description="问题的维度，如 户籍地")
    text: str
    options: list[str]


class Candidate(BaseModel):
    kind: Literal["item", "bundle"]
    code: str
    name: str
    department: str = ""
    score: float
    reasons: list[str] = Field(default_factory=list, description="命中的名称、别名或关键词")
    situation: str | None = Field(None, description="已确定的情形编码")


class MatchResult(BaseModel):
    query: str
    expanded: list[str] = Field(default_factory=list, description="同义词扩展出的规范词")
    answers: dict[str, str] = Field(
        default_factory=dict, description="已知的情形条件（从问题中识别或用户回答）"
    )
    candidates: list[Candidate]
    questions: list[Question] = Field(
        default_factory=list, description="为区分情形还需回答的问题（最少集合）"
    )
    mode: Literal["rules", "model"] = "rules"


class ChecklistEntry(BaseModel):
    name: str
    form: str
    count: int
    source: str
    required: bool
    condition: str = ""
    key: str
    items: list[str] = Field(default_factory=list, description="需要此材料的事项名称")


class Checklist(BaseModel):
    code: str
    name: str
    kind: Literal["item", "bundle"]
    situation: dict[str, str] = Field(default_factory=dict, description="事项编码 → 情形名称")
    materials: list[ChecklistEntry]
    steps: list[str]
    promised_days: int | None = None
    legal_days: int | None = None
    fee: str = ""
    channels: list[str] = Field(default_factory=list)
    location: str = ""
    unresolved: list[Question] = Field(default_factory=list, description="尚未确定情形时的问题")
    shared_saved: int = Field(0, description="一件事中因共享而少交的材料份数")


class Finding(BaseModel):
    field: str
    level: Literal["missing", "invalid", "warning"]
    message: str


class PrecheckResult(BaseModel):
    code: str
    passed: bool
    findings: list[Finding]
    provided: list[str]
    missing_materials: list[str]


class EnterpriseProfile(BaseModel):
    name: str = ""
    industry: str = ""
    size: Literal["", "微型", "小型", "中型", "大型"] = ""
    area: str = ""
    established: date | None = None
    age_years: float | None = None
    revenue: float | None = Field(None, description="上年营业收入（万元）")
    headcount: int | None = None
    qualifications: list[str] = Field(default_factory=list)
    ownership: str = ""


class ConditionCheck(BaseModel):
    label: str
    field: str
    passed: bool | None = Field(description="null 表示画像缺少该信息，无法判断")
    explanation: str


class PolicyMatch(BaseModel):
    code: str
    name: str
    benefit: str
    eligible: bool
    unknown: int
    checks: list[ConditionCheck]
    exempt_application: bool
    status: str
