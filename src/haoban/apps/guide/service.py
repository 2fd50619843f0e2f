"""GuideService: the one entry point every front (library, CLI, API, console) uses for the 办事 assistant.

It keeps the catalogue in the database (haoban.apps.guide.models), an in-memory match index rebuilt when
the catalogue changes (checked by a cheap signature query, so several processes stay consistent), and
routes each call through permissions (guide.read / guide.write) and the audit log.
"""

from __future__ import annotations

import json
import threading
from importlib import resources
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select

from haoban.apps.guide.catalogue import CatalogueInvalid, export_catalogue, parse_catalogue
from haoban.apps.guide.checklist import bundle_checklist, item_checklist
from haoban.apps.guide.match import MatchIndex, extract_answers, questions_for
from haoban.apps.guide.models import GuideAlias, GuideBundle, GuideItem, GuidePolicy
from haoban.apps.guide.policy_match import draft_conditions, match_policy, rank
from haoban.apps.guide.precheck import precheck as precheck_impl
from haoban.apps.guide.schemas import (
    Bundle,
    Candidate,
    Catalogue,
    Checklist,
    Condition,
    EnterpriseProfile,
    ImportReport,
    ItemSummary,
    MatchResult,
    Policy,
    PolicyMatch,
    PrecheckResult,
    Question,
    RowError,
    ServiceItem,
)
from haoban.errors import ContentBlocked, InvalidInput, LLMError, NotFound
from haoban.knowledge.service import KnowledgeService
from haoban.logs import get_logger, log_event
from haoban.safety.auth import PLATFORM, SYSTEM, Actor, allowed, authorize
from haoban.safety.guard import BLOCKED_REPLY

log = get_logger("guide")
MAX_POLICY_TEXT = 20_000

MAX_QUERY_CHARS = 300
MAX_IMPORT_BYTES = 20 * 1024 * 1024
# One record a line ({"item": …} / {"bundle": …} / {"policy": …} / {"aliases": …}); .jsonl is in package-data.
DEMO_FILE = "catalogue.jsonl"


def demo_catalogue() -> dict[str, Any]:
    """The owned demo catalogue (written for this project from public knowledge of common procedures)."""
    cat: dict[str, Any] = {"items": [], "bundles": [], "policies": [], "aliases": {}}
    text = (resources.files("haoban.apps.guide") / "data" / DEMO_FILE).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            for kind, key in (("item", "items"), ("bundle", "bundles"), ("policy", "policies")):
                if kind in row:
                    cat[key].append(row[kind])
            cat["aliases"].update(row.get("aliases", {}))
    return cat


class _Intent(BaseModel):
    codes: list[str] = Field(default_factory=list, description="最符合请求的事项或一件事编码，按可能性排序")
    answers: dict[str, str] = Field(default_factory=dict, description="从请求中能确定的情形条件")


class GuideService:
    def __init__(self, knowledge: KnowledgeService, gateway: Any = None):
        self.knowledge = knowledge
        self.db = knowledge.db
        self.audit = knowledge.audit
        self.gateway = gateway if gateway is not None and getattr(gateway, "available", False) else None
        self._index: MatchIndex | None = None
        self._signature: tuple | None = None
        self._lock = threading.Lock()

    # ---- catalogue ---------------------------------------------------------------------------------

    def import_catalogue(self, data: bytes, fmt: str, *, actor: Actor = SYSTEM) -> ImportReport:
        """Validate the whole file, then write all of it (upsert by code) or nothing."""
        authorize(actor, "guide.write", PLATFORM)
        if len(data) > MAX_IMPORT_BYTES:
            raise InvalidInput(
                f"目录文件超过 {MAX_IMPORT_BYTES // 1024 // 1024} MB 上限", code="GUIDE_IMPORT_TOO_LARGE"
            )
        cat, errors = parse_catalogue(data, fmt)
        with self.db.session() as s:
            known = set(s.scalars(select(GuideItem.code)).all()) | {i.code for i in cat.items}
            situations = {i.code: {x.code for x in i.situations} for i in cat.items}
            for row in s.execute(select(GuideItem.code, GuideItem.data)).all():
                situations.setdefault(row.code, {x["code"] for x in row.data.get("situations", [])})
            for n, b in enumerate(cat.bundles, start=1):
                for st in b.steps:
                    if st.item not in known:
                        errors.append(
                            RowError(
                                row=n,
                                sheet="一件事",
                                code=b.code,
                                field="包含事项",
                                message=f"事项编码“{st.item}”不在目录中",
                            )
                        )
                    elif st.situation and st.situation not in situations.get(st.item, set()):
                        errors.append(
                            RowError(
                                row=n,
                                sheet="一件事",
                                code=b.code,
                                field="包含事项",
                                message=f"事项“{st.item}”没有情形“{st.situation}”",
                            )
                        )
            report = ImportReport(
                items=len(cat.items),
                bundles=len(cat.bundles),
                policies=len(cat.policies),
                aliases=len(cat.aliases),
                errors=errors,
            )
            if errors:
                self.audit.record(
                    actor,
                    "guide.import",
                    "guide_catalogue",
                    None,
                    result="error",
                    detail={"format": fmt, "errors": len(errors)},
                )
                first = errors[0]
                where = (f"［{first.sheet}］" if first.sheet else "") + (
                    f"第 {first.row} 行" if first.row else ""
                )
                raise CatalogueInvalid(
                    f"事项目录校验未通过（{len(errors)} 处错误，如{where}：{first.message}），未导入任何内容",
                    detail=[e.model_dump() for e in errors[:200]],
                )
            created = updated = 0
            for model, rows, extra in (
                (
                    GuideItem,
                    cat.items,
                    lambda r: {"name": r.name, "department": r.department, "item_type": r.item_type},
                ),
                (GuideBundle, cat.bundles, lambda r: {"name": r.name}),
                (GuidePolicy, cat.policies, lambda r: {"name": r.name, "status": r.status}),
            ):
                existing = (
                    {
                        o.code: o
                        for o in s.scalars(select(model).where(model.code.in_([r.code for r in rows])))
                    }
                    if rows
                    else {}
                )
                for r in rows:
                    values = {"data": r.model_dump(mode="json"), **extra(r)}
                    if r.code in existing:
                        for k, v in values.items():
                            setattr(existing[r.code], k, v)
                        updated += 1
                    else:
                        s.add(model(code=r.code, **values))
                        created += 1
            for canonical, variants in cat.aliases.items():
                row = s.scalar(select(GuideAlias).where(GuideAlias.canonical == canonical))
                if row:
                    row.variants = variants
                else:
                    s.add(GuideAlias(canonical=canonical, variants=variants))
            report.created, report.updated = created, updated
        self.audit.record(
            actor,
            "guide.import",
            "guide_catalogue",
            None,
            detail={"format": fmt, "created": created, "updated": updated},
        )
        log_event(log, "guide catalogue imported", created=created, updated=updated)
        return report

    def catalogue(self) -> Catalogue:
        with self.db.session() as s:
            return Catalogue(
                items=[
                    ServiceItem.model_validate(d)
                    for d in s.scalars(select(GuideItem.data).order_by(GuideItem.code))
                ],
                bundles=[
                    Bundle.model_validate(d)
                    for d in s.scalars(select(GuideBundle.data).order_by(GuideBundle.code))
                ],
                policies=[
                    Policy.model_validate(d)
                    for d in s.scalars(select(GuidePolicy.data).order_by(GuidePolicy.code))
                ],
                aliases={
                    a.canonical: list(a.variants)
                    for a in s.scalars(select(GuideAlias).order_by(GuideAlias.canonical))
                },
            )

    def export_catalogue(self, fmt: str = "json", *, actor: Actor = SYSTEM) -> bytes:
        authorize(actor, "guide.read")
        data = export_catalogue(self.catalogue(), fmt)
        self.audit.record(actor, "guide.export", "guide_catalogue", None, detail={"format": fmt})
        return data

    def load_demo(self) -> ImportReport | None:
        """Import the owned demo catalogue once (an empty catalogue only); later calls change nothing."""
        with self.db.session() as s:
            if s.scalar(select(func.count()).select_from(GuideItem)):
                return None
        return self.import_catalogue(
            json.dumps(demo_catalogue(), ensure_ascii=False).encode("utf-8"), "json", actor=SYSTEM
        )

    def stats(self) -> dict[str, int]:
        with self.db.session() as s:
            return {
                "items": s.scalar(select(func.count()).select_from(GuideItem)) or 0,
                "departments": s.scalar(select(func.count(func.distinct(GuideItem.department)))) or 0,
                "bundles": s.scalar(select(func.count()).select_from(GuideBundle)) or 0,
                "policies": s.scalar(select(func.count()).select_from(GuidePolicy)) or 0,
            }

    def list_items(self, department: str | None = None, *, actor: Actor = SYSTEM) -> list[ItemSummary]:
        authorize(actor, "guide.read")
        with self.db.session() as s:
            q = select(GuideItem).order_by(GuideItem.department, GuideItem.code)
            if department:
                q = q.where(GuideItem.department == department)
            return [
                ItemSummary(
                    code=r.code,
                    name=r.name,
                    department=r.department,
                    item_type=r.item_type,
                    subject=r.data.get("subject", "个人"),
                )
                for r in s.scalars(q)
            ]

    def get_item(self, code: str, *, actor: Actor = SYSTEM) -> ServiceItem:
        authorize(actor, "guide.read")
        with self.db.session() as s:
            data = s.scalar(select(GuideItem.data).where(GuideItem.code == code))
        if data is None:
            raise NotFound(f"事项“{code}”不存在", code="GUIDE_ITEM_NOT_FOUND")
        return ServiceItem.model_validate(data)

    def list_bundles(self, *, actor: Actor = SYSTEM) -> list[Bundle]:
        authorize(actor, "guide.read")
        with self.db.session() as s:
            return [
                Bundle.model_validate(d)
                for d in s.scalars(select(GuideBundle.data).order_by(GuideBundle.code))
            ]

    def get_bundle(self, code: str, *, actor: Actor = SYSTEM) -> Bundle:
        authorize(actor, "guide.read")
        with self.db.session() as s:
            data = s.scalar(select(GuideBundle.data).where(GuideBundle.code == code))
        if data is None:
            raise NotFound(f"一件事“{code}”不存在", code="GUIDE_BUNDLE_NOT_FOUND")
        return Bundle.model_validate(data)

    def list_policies(self, *, actor: Actor = SYSTEM) -> list[Policy]:
        """Reviewed policies; drafts only for those who maintain the catalogue."""
        authorize(actor, "guide.read")
        drafts = allowed(actor, "guide.write")
        policies = []
        with self.db.session() as s:
            for code, data in s.execute(select(GuidePolicy.code, GuidePolicy.data).order_by(GuidePolicy.code)):
                try:
                    policies.append(Policy.model_validate(data))
                except ValidationError:
                    # Stored before conditions were validated: left out (and logged) rather than failing every match.
                    log_event(log, "guide policy invalid", code=code)
        return [p for p in policies if drafts or p.status == "reviewed"]

    # ---- matching ----------------------------------------------------------------------------------

    def index(self) -> MatchIndex:
        with self.db.session() as s:
            sig = tuple(
                s.execute(select(func.count(), func.max(m.updated_at))).one()
                for m in (GuideItem, GuideBundle, GuideAlias)
            )
        with self._lock:
            if self._index is None or sig != self._signature:
                cat = self.catalogue()
                self._index = MatchIndex(cat.items, cat.bundles, cat.aliases)
                self._signature = sig
            return self._index

    def match(
        self,
        query: str,
        answers: dict[str, str] | None = None,
        *,
        k: int = 5,
        use_model: bool = True,
        actor: Actor = SYSTEM,
    ) -> MatchResult:
        """Colloquial request → catalogue items/bundles, plus the clarifying questions still open.

        `answers` carries the user's replies to earlier questions (follow-up call with the same query).
        """
        authorize(actor, "guide.read")
        query = (query or "").strip()
        if not query:
            raise InvalidInput("请描述您要办理的事情", code="GUIDE_QUERY_EMPTY")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidInput(f"描述过长（上限 {MAX_QUERY_CHARS} 字）", code="GUIDE_QUERY_TOO_LONG")
        if not 1 <= k <= 50:
            raise InvalidInput("k 须在 1 到 50 之间")
        decision = self.knowledge.guard.check_input(query)
        if decision.blocked:
            self.audit.record(actor, "guide.match", "guide_item", None, input=decision.text, result="denied", detail=decision.summary())
            raise ContentBlocked(BLOCKED_REPLY, code="GUIDE_QUERY_BLOCKED", detail=decision.summary())
        query = decision.text  # the asker's personal data never reaches the index, the model or the log
        ix = self.index()
        known = {**extract_answers(query), **(answers or {})}
        # Only an explicit answer filters by 服务对象: words like 公司/单位 in a request are often about an
        # employer ("公司不发工资"), not the applicant.
        subject = (answers or {}).get("申请人")
        hits, expanded = ix.search(
            query, k=max(k, 15), subject=subject if subject in ("个人", "企业") else None
        )
        mode = "rules"
        if use_model and self.gateway is not None and hits:
            reordered = self._model_rerank(query, hits, ix)
            if reordered is not None:
                hits, mode = reordered, "model"
        hits = hits[:k]
        candidates = [
            Candidate(
                kind=h.entry.kind,
                code=h.entry.code,
                name=h.entry.name,
                department=h.entry.department,
                score=h.score,
                reasons=h.reasons,
            )
            for h in hits
        ]
        questions: list[Question] = []
        if hits:
            top = hits[0].entry
            if subject is None and len(hits) > 1 and top.kind == "item" and hits[1].entry.kind == "item":
                second = hits[1]
                if second.score >= 0.85 * hits[0].score and {top.subject, second.entry.subject} == {
                    "个人",
                    "企业",
                }:
                    questions.append(
                        Question(
                            key="申请人",
                            text="您是以个人还是企业（单位）身份办理？",
                            options=["个人", "企业"],
                        )
                    )
            if top.kind == "item":
                item = ix.items[top.code]
                questions += questions_for(item.situations, known)
                left = [s for s in item.situations if all(s.when.get(a, v) == v for a, v in known.items())]
                if len(left) == 1:
                    candidates[0].situation = left[0].code
        result = MatchResult(
            query=query,
            expanded=expanded,
            answers=known,
            candidates=candidates,
            questions=questions,
            mode=mode,
        )
        self.audit.record(actor, "guide.match", "guide_catalogue", None, input=query,
                          detail={"top": candidates[0].code if candidates else None, "mode": mode, "questions": len(questions)})  # fmt: skip
        return result

    def _model_rerank(self, query: str, hits: list, ix: MatchIndex) -> list | None:
        """The model picks among retrieved catalogue entries; anything it names outside them is dropped."""
        listing = "\n".join(
            f"{h.entry.code}：{h.entry.name}（{'一件事' if h.entry.kind == 'bundle' else h.entry.department}）"
            for h in hits
        )
        messages = [
            {
                "role": "system",
                "content": "你是政务服务办事引导员。只能从给出的候选事项中选择，不得编造事项。",
            },
            {
                "role": "user",
                "content": f"群众的请求：{query}\n候选事项：\n{listing}\n请按可能性从高到低列出最符合的编码（最多 5 个）。",
            },
        ]
        try:
            intent = self.gateway.chat_json(messages, _Intent, max_tokens=300)
        except LLMError as exc:
            log_event(log, "guide model intent failed, rules used", code=exc.code)
            return None
        by_code = {h.entry.code: h for h in hits}
        chosen = [by_code[c] for c in dict.fromkeys(intent.codes) if c in by_code]
        if not chosen:
            return None
        return chosen + [h for h in hits if h not in chosen]

    # ---- checklist, pre-check, bundles ---------------------------------------------------------------

    def checklist(
        self, code: str, answers: dict[str, str] | None = None, *, actor: Actor = SYSTEM
    ) -> Checklist:
        """Materials list for an item (its 情形 chosen by `answers`) or a bundle (shared materials merged)."""
        authorize(actor, "guide.read")
        ix = self.index()
        if code in ix.items:
            return item_checklist(ix.items[code], answers)
        if code in ix.bundles:
            return bundle_checklist(ix.bundles[code], ix.items, answers)
        raise NotFound(f"事项或一件事“{code}”不存在", code="GUIDE_ITEM_NOT_FOUND")

    def precheck(
        self,
        code: str,
        *,
        answers: dict[str, str] | None = None,
        provided: list[str] | None = None,
        fields: dict[str, str] | None = None,
        actor: Actor = SYSTEM,
    ) -> PrecheckResult:
        authorize(actor, "guide.read")
        checklist = self.checklist(code, answers, actor=actor)
        ix = self.index()
        if code in ix.items:
            form_fields = ix.items[code].form_fields
        else:
            seen: dict[str, Any] = {}
            for st in ix.bundles[code].steps:
                for f in ix.items[st.item].form_fields:
                    seen.setdefault(f.key, f)
            form_fields = list(seen.values())
        result = precheck_impl(
            checklist, form_fields, provided or [], {k: str(v) for k, v in (fields or {}).items()}
        )
        self.audit.record(actor, "guide.precheck", "guide_item", code, input=fields or {},
                          detail={"passed": result.passed, "findings": len(result.findings)})  # fmt: skip
        return result

    # ---- enterprise policies -----------------------------------------------------------------------

    def match_policies(
        self, profile: EnterpriseProfile, *, include_drafts: bool = False, actor: Actor = SYSTEM
    ) -> list[PolicyMatch]:
        """Every policy checked against the profile, eligible first; each condition says why it passed or failed."""
        authorize(actor, "guide.read")
        policies = [p for p in self.list_policies(actor=actor) if include_drafts or p.status == "reviewed"]
        out = rank([match_policy(p, profile) for p in policies])
        self.audit.record(actor, "guide.policy_match", "guide_policy", None, input=profile.name or None,
                          detail={"eligible": sum(m.eligible for m in out)})  # fmt: skip
        return out

    def draft_conditions(
        self, text: str, *, use_model: bool = True, actor: Actor = SYSTEM
    ) -> list[Condition]:
        """Structured conditions drafted from policy text (rules, refined by the model when configured)."""
        authorize(actor, "guide.write")  # drafting is catalogue work, and it may spend model time
        text = (text or "").strip()
        if len(text) > MAX_POLICY_TEXT:
            raise InvalidInput(f"政策原文过长（上限 {MAX_POLICY_TEXT} 字），请只提供申报条件部分", code="GUIDE_POLICY_TEXT_TOO_LONG")
        if not text:
            raise InvalidInput("请提供政策原文", code="GUIDE_POLICY_TEXT_EMPTY")
        drafted = draft_conditions(text)
        if use_model and self.gateway is not None:

            class _Drafted(BaseModel):
                conditions: list[Condition]

            try:
                got = self.gateway.chat_json(
                    [
                        {
                            "role": "user",
                            "content": f"从以下惠企政策原文中提取申报条件（结构化）：\n{text[:3000]}",
                        }
                    ],
                    _Drafted,
                    max_tokens=800,
                )
                if got.conditions:
                    drafted = got.conditions
            except LLMError as exc:
                log_event(log, "guide model draft failed, rules used", code=exc.code)
        return drafted

    # ---- legal basis → knowledge base --------------------------------------------------------------

    def resolve_basis(self, basis: str, *, actor: Actor = SYSTEM) -> dict[str, Any] | None:
        """Find the KB document a 设定依据 string names (by title or 文号); None when the KB has none."""
        import re

        title = re.search(r"《([^》]+)》", basis)
        number = re.search(r"[（(〔\[]?\S{1,12}[〔\[]\d{4}[〕\]]\d+号", basis)
        query = (number[0] if number else "") or (title[1] if title else basis)
        try:
            result = self.knowledge.search(query, actor=actor, top_k=5, mode="lexical")
        except (InvalidInput, NotFound):
            return None
        want_title = title[1] if title else ""
        for hit in result.hits:
            c = hit.citation
            if (number and c.doc_number and c.doc_number in number[0]) or (
                want_title and want_title in c.title
            ):
                return {
                    "basis": basis,
                    "document_id": c.document_id,
                    "title": c.title,
                    "url": f"/documents/{c.document_id}",
                }
        return None
