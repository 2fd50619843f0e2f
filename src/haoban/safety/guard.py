"""One content policy on the way in (questions, uploads) and out (answers), with a record of what fired.

The guard combines the layer's parts: PII masking (safety.pii), the operator's sensitive-word lexicon
(safety.lexicon), prompt-injection heuristics (safety.injection) and topic refusal rules (data/topics.json,
or the operator's own file at <data_dir>/safety/topics.json). Apps never call those parts for policy
decisions themselves; they call `check_input`, `check_upload` or `check_output` and act on the decision.
"""

from __future__ import annotations

import json
import re
import time
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from haoban.errors import InvalidInput
from haoban.safety import pii
from haoban.safety.injection import INJECTION
from haoban.safety.lexicon import LexiconService

Stage = Literal["input", "upload", "output"]
Action = Literal["allow", "mask", "review", "block"]
_SEVERITY = {"allow": 0, "mask": 1, "review": 2, "block": 3}

# Which personal information is masked where. Questions: everything personal (it is the asker's own data and
# must not sit in logs). Uploads and answers: identifiers only — official documents legitimately name
# officials and print office phone numbers, and masking those would damage the text.
INPUT_PII = pii.DEFAULT_MASK_TYPES
DOCUMENT_PII = ("id_card", "bank_card", "passport")

# A question about reporting or getting help ("发现色情网站怎么举报") names what it reports. Such a question is
# answered from the knowledge base only, so letting it through the word list cannot produce harmful text.
REPORTING = re.compile(r"举报|投诉|报警|报案|维权|求助|受骗|被骗|上当|防范|识别|打击|查处")

BLOCKED_REPLY = "您的问题涉及不宜回答的内容，本系统无法作答。如需咨询政务服务，请换一种问法，或拨打 12345 政务服务便民热线。"


class Finding(BaseModel):
    kind: Literal["pii", "lexicon", "injection", "topic"]
    rule: str = Field(description="触发的规则：个人信息类型、词库类别、注入特征或拒答话题名称")
    action: Action
    start: int
    end: int
    detail: str = Field("", description="说明（不含被脱敏的原文）")


class GuardDecision(BaseModel):
    stage: Stage
    action: Action
    text: str = Field(description="下游应使用的文本（已按策略脱敏或打码）")
    findings: list[Finding] = Field(default_factory=list)
    reason: str | None = Field(None, description="拦截或复核的原因（中文）")
    took_ms: float = 0.0

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    def summary(self) -> dict:
        """What the audit log and the answer carry: the decision and the rules, never the masked values."""
        return {
            "stage": self.stage,
            "action": self.action,
            "blocked": self.blocked,
            "reason": self.reason,
            "rules": sorted({f"{f.kind}:{f.rule}" for f in self.findings}),
        }


class TopicRule(BaseModel):
    name: str
    pattern: str
    reason: str
    action: Action = "block"


def load_topic_rules(data_dir: Path | None = None) -> list[TopicRule]:
    """The operator's rules if they wrote some, else the shipped defaults. Bad files fail loudly at start-up."""
    custom = data_dir / "safety" / "topics.json" if data_dir else None
    raw = custom.read_text(encoding="utf-8") if custom and custom.exists() else (
        resources.files("haoban.safety") / "data" / "topics.json"
    ).read_text(encoding="utf-8")  # fmt: skip
    where = str(custom) if custom and custom.exists() else "内置规则"
    try:
        rules = [TopicRule.model_validate(r) for r in json.loads(raw)]
        for r in rules:
            re.compile(r.pattern)
    except (ValueError, re.error) as e:  # JSON, validation and pattern errors all name the file
        raise InvalidInput(f"拒答话题规则文件有误（{where}）：{e}", code="TOPIC_RULES_INVALID") from e
    return rules


class Guard:
    def __init__(self, lexicon: LexiconService | None, topic_rules: list[TopicRule] | None = None):
        self.lexicon = lexicon
        self.topic_rules = topic_rules if topic_rules is not None else load_topic_rules()
        self._topics = [(r, re.compile(r.pattern)) for r in self.topic_rules]

    def check_input(self, text: str) -> GuardDecision:
        """A question or request from a user: mask their personal data, stop blocked content and topics."""
        return self._check("input", text, INPUT_PII, topics=True, injection=True)

    def check_upload(self, text: str) -> GuardDecision:
        """A document (or a citizen's request) being recorded: identifiers masked; content the lexicon would block
        is flagged for review instead. Official documents quote what they forbid (打击色情、代开发票管理),
        and a staff member's upload or a citizen's 12345 request must not be lost to a word list."""
        return self._check("upload", text, DOCUMENT_PII, topics=False, injection=True)

    def check_output(self, text: str) -> GuardDecision:
        """An answer on its way out: the same lexicon, identifiers masked."""
        return self._check("output", text, DOCUMENT_PII, topics=False, injection=False)

    def _check(self, stage: Stage, text: str, pii_types: tuple[str, ...], *, topics: bool, injection: bool) -> GuardDecision:
        t0 = time.perf_counter()
        findings: list[Finding] = []
        reasons: list[str] = []
        masked = pii.mask(text, "tag" if stage == "input" else "partial", pii_types)
        for s in masked.spans:
            findings.append(Finding(kind="pii", rule=s.type, action="mask", start=s.start, end=s.end, detail=s.label))
        out = masked.text
        if self.lexicon is not None:
            # Checked on the masked text, so a phone number never matches a term by accident.
            result = self.lexicon.check(out)
            lenient = stage == "upload" or (stage == "input" and REPORTING.search(text) is not None)
            for m in result.matches:
                action: Action = "mask" if m.action == "mask" else m.action if m.action in ("review", "block") else "allow"
                if lenient and action == "block":
                    action = "review"
                findings.append(Finding(kind="lexicon", rule=m.category, action=action, start=m.start, end=m.end,
                                        detail=f"{m.category}类词条（{m.variant}）"))  # fmt: skip
            if result.decision == "block" and not lenient:
                reasons.append("含有禁止类敏感词（" + "、".join(sorted({m.category for m in result.matches if m.action == "block"})) + "）")
            elif result.decision in ("review", "block"):
                reasons.append("含有需人工复核的词语（" + "、".join(sorted({m.category for m in result.matches if m.action in ("review", "block")})) + "）")
            to_mask = [m for m in result.matches if m.action == "mask"]
            if to_mask:
                from haoban.safety.lexicon import apply_mask

                out = apply_mask(out, to_mask)
        if injection:
            for m in INJECTION.finditer(out):
                # Not blocked: the Q&A path drops the instruction and answers the rest; uploads keep the text
                # as data (the model prompt fences it off). The record says it happened.
                findings.append(Finding(kind="injection", rule="prompt_injection", action="review" if stage == "upload" else "allow",
                                        start=m.start(), end=m.end(), detail="疑似提示词注入"))  # fmt: skip
        if topics:
            for rule, rx in self._topics:
                m = rx.search(text)  # the original: "查李明的身份证号" must still read as a request about a person
                if m:
                    findings.append(Finding(kind="topic", rule=rule.name, action=rule.action, start=m.start(), end=m.end(), detail=rule.reason))
                    reasons.append(rule.reason)
        action = max((f.action for f in findings), key=_SEVERITY.__getitem__, default="allow")
        return GuardDecision(
            stage=stage, action=action, text=out, findings=findings, reason="；".join(dict.fromkeys(reasons)) or None,
            took_ms=round((time.perf_counter() - t0) * 1000, 2),
        )  # fmt: skip
