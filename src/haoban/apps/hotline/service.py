"""The hotline service: intake, routing, lifecycle, duplicates, training, statistics. Every front calls this.

Reads and writes authorize the actor first and are written to the audit log after.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from haoban.apps.hotline import dedup, reply, stats, urgency
from haoban.apps.hotline.lifecycle import ACTIONS, OPEN, STATUS_LABELS, TERMINAL, allowed_actions, plan
from haoban.apps.hotline.models import Ticket, TicketEvent
from haoban.apps.hotline.router import FIELDS, REVIEW_THRESHOLD, ModelStore, Router
from haoban.apps.hotline.schemas import (
    ClassifyOut,
    EventOut,
    SimilarOut,
    StatsOut,
    TicketDetail,
    TicketIn,
    TicketOut,
    TicketPage,
    TrainReport,
    TransitionIn,
)
from haoban.apps.hotline.sla import SHANGHAI, HolidayCalendar, aware, deadline, sla_rules, sla_state
from haoban.errors import InvalidInput, NotFound
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import SYSTEM, Actor, allowed, authorize
from haoban.safety.models import Department

DIRECT_ANSWER_CONFIDENCE = 0.6  # Q&A evidence at or above this → a direct answer is offered for a 咨询
DEDUP_LOOKBACK_DAYS = 14
Progress = Callable[[int, int, str], None]


def mask_phone(phone: str | None) -> str | None:
    """The caller's number for display: the PII layer's partial mask (first 3 and last 4 digits kept)."""
    if not phone:
        return None
    from haoban.safety.pii import mask

    masked = mask(phone).text
    if masked != phone:
        return masked
    # Numbers the detector does not recognise (short landlines, extensions) are still never shown whole.
    digits = re.sub(r"\D", "", phone)
    return digits[:3] + "*" * max(len(digits) - 7, 1) + digits[-4:] if len(digits) >= 8 else "*" * len(digits)


def _now() -> datetime:
    return datetime.now(UTC)


class HotlineService:
    def __init__(self, knowledge: KnowledgeService, qa: Any = None, gateway: Any = None):
        self.knowledge = knowledge
        self.db = knowledge.db
        self.audit = knowledge.audit
        self.qa = qa  # anything with .ask(question, use_model=..., actor=...) → Answer; None: no direct answers
        self.gateway = gateway
        root = knowledge.settings.data_dir / "hotline"
        self.models = ModelStore(root / "models")
        self.calendar = HolidayCalendar.load(root / "holidays.json")

    # ---- intake ------------------------------------------------------------------------------------

    def intake(self, data: TicketIn, *, actor: Actor = SYSTEM, now: datetime | None = None,
               verified: bool = False, check_duplicates: bool = True) -> TicketOut:
        authorize(actor, "hotline.intake")
        text = (data.text or "").strip()
        if not text:
            raise InvalidInput("诉求内容不能为空", code="HOTLINE_TEXT_EMPTY")
        now = now or _now()
        received = aware(data.received_at) or now
        # A citizen's request is always recorded, whatever words it uses: the guard masks identity numbers
        # (handlers need names and addresses) and sends content the lexicon flags to a person instead.
        guard = self.knowledge.guard.check_upload(text)
        text = guard.text
        try:
            router = self.models.current()
        except Exception:  # noqa: BLE001 - a damaged model file must not stop a citizen's request being recorded
            logging.getLogger("haoban.hotline").exception("hotline router unavailable")
            router = None
        routing = router.route(text, data.location) if router else None
        preds = routing.predictions if routing else {}
        risk = urgency.assess(text)
        level = urgency.higher(data.urgency or "一般", risk.urgency)
        rtype = data.request_type or (preds["request_type"].label if "request_type" in preds else None)
        domain = data.domain or (preds["domain"].label if "domain" in preds else None)
        department = data.department or (routing.department if routing else None)
        places = reply.places(f"{data.location or ''} {text}")
        due = deadline(self.calendar, received, rtype, level)
        suggestion: dict[str, Any] = routing.as_dict() if routing else {"predictions": {}, "rules": [], "model_version": None}
        suggestion["escalate"] = risk.escalate
        if not due.calendar_known:
            suggestion["calendar_notice"] = "受理日期所在年份的节假日安排未录入，时限只按周末计算"
        needs_review = bool(routing.needs_review) if routing and not data.department else not department
        review_reason = (routing.review_reason if routing else "尚未训练分派模型") if needs_review else ""
        if guard.action in ("review", "block"):
            suggestion["guard"] = guard.summary()
            needs_review = True
            review_reason = "；".join(filter(None, [review_reason, f"安全策略提示：{guard.reason or '含需复核的内容'}"]))
        direct = self._direct_answer(text, actor) if rtype == "咨询" and not verified else None
        fields = dict(
            channel=data.channel, text=text, caller_name=data.caller_name, caller_phone=data.caller_phone,
            caller_masked=mask_phone(data.caller_phone), location=data.location, occurred_at=aware(data.occurred_at),
            received_at=received, request_type=rtype, domain=domain, category=data.category, department=department,
            urgency=level, sentiment=risk.sentiment, risk_words=risk.risk_words, urgency_score=risk.score,
            summary=reply.summary(text), keywords=reply.keywords(text), places=places, attachments=data.attachments,
            status="received", due_at=due.due_at, sla_rule=due.rule, suggestion=suggestion, needs_review=needs_review,
            review_reason=review_reason, labels_verified=verified, verified_fields=list(FIELDS) if verified else [],
            direct_answer=direct, created_at=now, updated_at=now,
        )  # fmt: skip
        for attempt in range(5):
            try:
                out = self._insert(fields, actor, check_duplicates)
                break
            except IntegrityError:
                if attempt == 4:  # five agents took calls in the same instant five times running
                    raise
        self.audit.record(actor, "hotline.intake", "ticket", out.id, input=text,
                          detail={"number": out.number, "department": out.department, "review": out.needs_review})
        return out

    def _insert(self, fields: dict[str, Any], actor: Actor, check_duplicates: bool) -> TicketOut:
        """One transaction; a ticket number taken by a concurrent intake fails the unique index and is retried."""
        now = fields["created_at"]
        with self.db.session() as s:
            t = Ticket(number=self._number(s, fields["received_at"]), **fields)
            s.add(t)
            s.flush()
            if check_duplicates:
                similar = self._similar(s, t)
                if similar:
                    t.suggestion = {**t.suggestion, "duplicates": [c.model_dump(mode="json") for c in similar[:3]]}
            self._event(s, t, "intake", None, "received", actor, now, data={"channel": t.channel, "urgency": t.urgency})
            return self._out(t, now)

    def _direct_answer(self, text: str, actor: Actor) -> dict[str, Any] | None:
        if self.qa is None:
            return None
        try:
            ans = self.qa.ask(text, use_model=False, actor=actor)
        except Exception:  # noqa: BLE001 - a Q&A failure must never stop intake
            return None
        if getattr(ans, "mode", "refusal") == "refusal" or ans.confidence < DIRECT_ANSWER_CONFIDENCE:
            return None
        cites = [{"title": c.title, "doc_number": c.doc_number, "document_id": c.document_id} for c in ans.citations[:3]]
        return {"text": ans.text, "confidence": round(ans.confidence, 3), "citations": cites}

    @staticmethod
    def _number(s: Session, received: datetime) -> str:
        day = received.astimezone(SHANGHAI).strftime("%Y%m%d")
        last = s.scalar(select(func.max(Ticket.number)).where(Ticket.number.like(f"{day}%")))
        return f"{day}{int(last[len(day):]) + 1 if last else 1:05d}"

    # ---- reading -----------------------------------------------------------------------------------

    def get(self, ref: str, *, actor: Actor = SYSTEM, now: datetime | None = None) -> TicketDetail:
        authorize(actor, "hotline.read")
        now = now or _now()
        with self.db.session() as s:
            scope = self._scope(s, actor)
            t = self._resolve(s, ref, scope)
            events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.seq)).all()
            similar = self._similar(s, t) if t.status not in TERMINAL else []
            similar = [c for c in similar if scope is None or c.department in scope]
            merged = s.scalars(select(Ticket.number).where(Ticket.merged_into == t.id)).all()
            out = self._out(t, now)
        draft = self._draft(out)
        self.audit.record(actor, "hotline.read", "ticket", out.id)
        return TicketDetail(
            ticket=out,
            events=[self._event_out(e) for e in events],
            # Only the steps this actor may take (e.g. 督办、重办 are for the hotline's administrators).
            allowed_actions=[
                {"action": a, "label": ACTIONS[a].label, "needs": list(ACTIONS[a].needs)}
                for a in allowed_actions(out.status)
                if allowed(actor, ACTIONS[a].permission)
            ],
            similar=similar,
            suggested_reply=draft,
            merged=list(merged),
        )

    def list(self, *, status: str | None = None, department: str | None = None, review: bool | None = None,
             sla: str | None = None, q: str | None = None, limit: int = 50, offset: int = 0,
             actor: Actor = SYSTEM, now: datetime | None = None) -> TicketPage:
        authorize(actor, "hotline.read")
        if not 1 <= limit <= 500 or offset < 0:
            raise InvalidInput("limit 须在 1–500 之间，offset 不能为负", code="HOTLINE_PAGE_INVALID")
        if status and status not in STATUS_LABELS and status != "open":
            raise InvalidInput(f"未知的工单状态“{status}”", code="HOTLINE_STATUS_INVALID", detail=list(STATUS_LABELS))
        now = now or _now()
        stmt = select(Ticket)
        if status == "open":
            stmt = stmt.where(Ticket.status.in_(OPEN))
        elif status:
            stmt = stmt.where(Ticket.status == status)
        if department:
            stmt = stmt.where(Ticket.department == department)
        if review is not None:
            stmt = stmt.where(Ticket.needs_review.is_(review), Ticket.status.not_in(TERMINAL))
        if q:
            stmt = stmt.where(or_(Ticket.text.contains(q), Ticket.number == q))
        if sla in ("overdue", "warning"):
            stmt = stmt.where(Ticket.status.in_(OPEN), Ticket.due_at.is_not(None))
        with self.db.session() as s:
            scope = self._scope(s, actor)
            if scope is not None:
                stmt = stmt.where(Ticket.department.in_(scope))
            if sla in ("overdue", "warning"):
                rows = [self._out(t, now) for t in s.scalars(stmt.order_by(Ticket.due_at))]
                rows = [r for r in rows if r.sla_state == sla]
                total, items = len(rows), rows[offset : offset + limit]
            else:
                total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
                order = (Ticket.urgency_score.desc(), Ticket.received_at.desc())
                items = [self._out(t, now) for t in s.scalars(stmt.order_by(*order).limit(limit).offset(offset))]
        self.audit.record(actor, "hotline.list", "ticket", None, detail={"status": status, "total": total})
        return TicketPage(total=total, items=items)

    def overdue(self, *, actor: Actor = SYSTEM, now: datetime | None = None) -> list[TicketOut]:
        """Open tickets past their deadline, then those close to it (warnings)."""
        over = self.list(sla="overdue", limit=500, actor=actor, now=now).items
        warn = self.list(sla="warning", limit=500, actor=actor, now=now).items
        return over + warn

    # ---- lifecycle ---------------------------------------------------------------------------------

    def transition(self, ref: str, body: TransitionIn, *, actor: Actor = SYSTEM, now: datetime | None = None) -> TicketOut:
        now = now or _now()
        authorize(actor, "hotline.read")
        with self.db.session() as s:
            # Take the row's write lock before reading its status, so two agents acting on one ticket at once
            # are serialised and the second sees the first one's result (and may be refused).
            s.execute(update(Ticket).where(or_(Ticket.id == ref, Ticket.number == ref)).values(updated_at=Ticket.updated_at))
            t = self._resolve(s, ref, self._scope(s, actor))
            act = plan(t.status, body.action)
            authorize(actor, act.permission)
            self._require(act.needs, body)
            before = t.status
            data: dict[str, Any] = {}
            note = body.reason or ""
            if act.name in ("dispatch", "redispatch"):
                dept = body.department.strip()  # type: ignore[union-attr]
                if act.name == "redispatch" and dept == t.department and before == "dispatched":
                    raise InvalidInput("改派的部门与当前承办部门相同", code="HOTLINE_SAME_DEPARTMENT")
                data = {"from": t.department, "to": dept}
                if dept != t.department and t.department:
                    # A person re-routed it: the department (only) becomes training data.
                    t.labels_verified = True
                    t.verified_fields = sorted({*(t.verified_fields or []), "department"})
                suggested = (t.suggestion or {}).get("department")
                data["suggested"] = suggested
                t.department = dept
                t.needs_review, t.review_reason = False, ""
            elif act.name == "return":
                t.return_count += 1
            elif act.name in ("answer", "reply"):
                t.reply = body.reply.strip()  # type: ignore[union-attr]
                t.replied_at = now
                note = note or t.reply[:200]
            elif act.name == "visit":
                t.satisfaction = body.satisfaction
                data = {"satisfaction": body.satisfaction}
            elif act.name == "close":
                t.closed_at = now
            elif act.name == "reopen":
                t.reopen_count += 1
                t.closed_at = None
                t.due_at = self.calendar.add_working_days(now, 5)
                t.sla_rule = "重办：5 个工作日"
            elif act.name == "supervise":
                t.supervised = True
            elif act.name == "request_extension":
                limit = sla_rules()["extension_max_days"]
                if body.days > limit:  # type: ignore[operator]
                    raise InvalidInput(f"延期不能超过 {limit} 个工作日", code="HOTLINE_EXTENSION_TOO_LONG")
                if t.extension and t.extension.get("state") == "pending":
                    raise InvalidInput("已有待审批的延期申请", code="HOTLINE_EXTENSION_PENDING")
                t.extension = {"state": "pending", "days": body.days, "reason": body.reason, "by": actor.name}
                data = {"days": body.days}
            elif act.name in ("approve_extension", "reject_extension"):
                if not t.extension or t.extension.get("state") != "pending":
                    raise InvalidInput("没有待审批的延期申请", code="HOTLINE_NO_EXTENSION")
                if act.name == "approve_extension":
                    base = aware(t.due_at) or now
                    t.due_at = self.calendar.add_working_days(base, int(t.extension["days"]))
                    t.extension = {**t.extension, "state": "approved", "approved_by": actor.name}
                else:
                    t.extension = {**t.extension, "state": "rejected", "rejected_by": actor.name}
                data = {"due_at": aware(t.due_at).isoformat() if t.due_at else None}  # type: ignore[union-attr]
            elif act.name == "merge":
                if not body.into:
                    raise InvalidInput("合并须指定目标工单（into）", code="HOTLINE_MERGE_TARGET")
                target = self._resolve(s, body.into)
                if target.id == t.id or target.merged_into or target.status == "merged":
                    raise InvalidInput("不能合并到自身或已被合并的工单", code="HOTLINE_MERGE_TARGET")
                t.merged_into = target.id
                data = {"into": target.number}
                self._event(s, target, "merged_in", target.status, target.status, actor, now, note=f"并入重复工单 {t.number}")
            if act.target:
                t.status = act.target
            if t.first_response_at is None and act.name in ("sign", "answer"):
                t.first_response_at = now
            t.updated_at = now
            self._event(s, t, act.name, before, t.status, actor, now, note=note, data=data)
            out = self._out(t, now)
        self.audit.record(actor, f"hotline.{act.name}", "ticket", out.id, input=note or None,
                          detail={"from": before, "to": out.status, **data})
        return out

    @staticmethod
    def _require(needs: tuple[str, ...], body: TransitionIn) -> None:
        names = {"department": "承办部门", "reason": "原因", "reply": "答复内容", "satisfaction": "满意度", "days": "延期天数"}
        missing = [names[n] for n in needs if getattr(body, n) in (None, "") or (isinstance(getattr(body, n), str) and not getattr(body, n).strip())]
        if missing:
            raise InvalidInput(f"该操作需要填写：{'、'.join(missing)}", code="HOTLINE_FIELD_REQUIRED")

    def correct(self, ref: str, *, request_type: str | None = None, domain: str | None = None,
                department: str | None = None, actor: Actor = SYSTEM) -> TicketOut:
        """An agent fixes the labels; the ticket becomes training data for the next `train`."""
        authorize(actor, "hotline.handle")
        now = _now()
        with self.db.session() as s:
            t = self._resolve(s, ref, self._scope(s, actor))
            before = {"request_type": t.request_type, "domain": t.domain, "department": t.department}
            changes = {k: v for k, v in {"request_type": request_type, "domain": domain, "department": department}.items() if v}
            if not changes:
                raise InvalidInput("请至少修改一项：诉求类型、领域或承办部门", code="HOTLINE_FIELD_REQUIRED")
            if "department" in changes and changes["department"] != t.department and t.status != "received":
                # Once dispatched, the department changes only through 改派/退单, which keep the trail and the SLA.
                raise InvalidInput("工单已派出，更换承办部门请使用“改派”", code="HOTLINE_USE_REDISPATCH")
            for k, v in changes.items():
                setattr(t, k, v)
            if "request_type" in changes and t.status in OPEN and self._standard_deadline(t):
                # The time limit follows the request type (e.g. 咨询 vs 投诉), unless it was extended or reopened.
                due = deadline(self.calendar, aware(t.received_at), t.request_type, t.urgency)  # type: ignore[arg-type]
                t.due_at, t.sla_rule = due.due_at, due.rule
                changes = {**changes, "due_at": due.due_at.isoformat()}
            t.labels_verified, t.needs_review, t.review_reason = True, False, ""
            t.verified_fields = sorted({*(t.verified_fields or []), *(k for k in changes if k in FIELDS)})
            t.updated_at = now
            self._event(s, t, "correct", t.status, t.status, actor, now, data={"before": before, "after": changes})
            out = self._out(t, now)
        self.audit.record(actor, "hotline.correct", "ticket", out.id, detail={"before": before, "after": changes})
        return out

    @staticmethod
    def _standard_deadline(t: Ticket) -> bool:
        extended = bool(t.extension and t.extension.get("state") == "approved")
        return not extended and not t.reopen_count

    # ---- intelligence ------------------------------------------------------------------------------

    def train(self, *, actor: Actor = SYSTEM, progress: Progress | None = None) -> TrainReport:
        """Train the router on every ticket whose labels a person confirmed (demo labels and corrections)."""
        authorize(actor, "hotline.admin")
        with self.db.session() as s:
            rows = s.execute(select(Ticket.text, Ticket.request_type, Ticket.domain, Ticket.department, Ticket.verified_fields)
                             .where(Ticket.labels_verified.is_(True), Ticket.status != "merged")).all()
        if len(rows) < 20:
            raise InvalidInput(f"已确认标注的工单只有 {len(rows)} 条，至少需要 20 条才能训练", code="HOTLINE_TRAIN_DATA")
        if progress:
            progress(0, len(FIELDS), "训练分类模型")
        texts = [r[0] for r in rows]
        # A label counts only where a person confirmed that field; elsewhere it is the model's guess (None).
        labels = {f: [r[i + 1] if f in (r[4] or ()) else None for r in rows] for i, f in enumerate(FIELDS)}
        router = Router.train(texts, labels, REVIEW_THRESHOLD)
        version = self.models.save(router)
        if progress:
            progress(len(FIELDS), len(FIELDS), f"v{version}")
        report = router.report
        self.audit.record(actor, "hotline.train", "model", f"v{version}", detail={"examples": len(rows)})
        return TrainReport(version=version, examples=report["examples"], seconds=report["seconds"], fields=report["fields"])

    def classify(self, texts: list[str], *, actor: Actor = SYSTEM) -> list[ClassifyOut]:
        authorize(actor, "hotline.read")
        router = self.models.current()
        if router is None:
            raise NotFound("尚未训练分派模型，请先运行 haoban hotline train", code="HOTLINE_MODEL_MISSING")
        out = []
        for text in texts:
            if not text or not text.strip():
                raise InvalidInput("待分类文本不能为空", code="HOTLINE_TEXT_EMPTY")
            r = router.route(text)
            risk = urgency.assess(text)
            d = r.as_dict()
            out.append(ClassifyOut(
                text=text, request_type=r.predictions["request_type"].label if "request_type" in r.predictions else None,
                domain=r.predictions["domain"].label if "domain" in r.predictions else None, department=r.department,
                confidence=round(r.confidence, 4), needs_review=r.needs_review, review_reason=r.review_reason,
                urgency=risk.urgency, sentiment=risk.sentiment, risk_words=risk.risk_words, rules=d["rules"],
                predictions=d["predictions"], model_version=r.model_version,
            ))
        self.audit.record(actor, "hotline.classify", "model", str(router.version), detail={"count": len(texts)})
        return out

    def model_report(self) -> dict[str, Any] | None:
        router = self.models.current()
        return router.report if router else None

    def _similar(self, s: Session, t: Ticket) -> list[SimilarOut]:
        since = aware(t.received_at) - timedelta(days=DEDUP_LOOKBACK_DAYS)  # type: ignore[operator]
        cands = s.scalars(select(Ticket).where(Ticket.id != t.id, Ticket.received_at >= since, Ticket.status != "merged")
                          .order_by(Ticket.received_at.desc()).limit(2000)).all()
        found = dedup.find_similar(t.text, aware(t.received_at), t.places, [(c.text, aware(c.received_at), c.places) for c in cands])  # type: ignore[misc]
        return [SimilarOut(id=cands[f.index].id, number=cands[f.index].number, summary=cands[f.index].summary,
                           status=cands[f.index].status, department=cands[f.index].department,
                           received_at=cands[f.index].received_at, text_similarity=f.text_similarity, score=f.score,
                           same_place=f.same_place, hours_apart=f.hours_apart) for f in found]

    def _draft(self, t: TicketOut) -> str:
        due = aware(t.due_at).astimezone(SHANGHAI).strftime("%m月%d日%H时") if t.due_at else None  # type: ignore[union-attr]
        ans = t.direct_answer or {}
        cites = ans.get("citations") or [{}]
        text = reply.draft_reply(t.request_type, t.department, t.summary, due, ans.get("text"), cites[0].get("title"))
        return reply.model_reply(self.gateway, t.text, text) or text

    # ---- statistics --------------------------------------------------------------------------------

    def stats(self, *, start: datetime | None = None, end: datetime | None = None, actor: Actor = SYSTEM,
              now: datetime | None = None) -> StatsOut:
        authorize(actor, "hotline.read")
        now = now or _now()
        where = []
        if start:
            where.append(Ticket.received_at >= aware(start))
        if end:
            where.append(Ticket.received_at < aware(end))
        with self.db.session() as s:
            scope = self._scope(s, actor)
            if scope is not None:
                where.append(Ticket.department.in_(scope))
            result = stats.collect(s, where, now)
        self.audit.record(actor, "hotline.stats", "ticket", None, detail={"total": result.total})
        return result

    # ---- demo --------------------------------------------------------------------------------------

    def load_demo(self, *, actor: Actor = SYSTEM, train: bool = True, limit: int | None = None,
                  progress: Progress | None = None) -> int:
        """Load the shipped demo tickets once (replaying their history), then train the router. Returns the count."""
        authorize(actor, "hotline.admin")
        with self.db.session() as s:
            if s.scalar(select(func.count()).select_from(Ticket)):
                return 0
        raw = (resources.files("haoban.apps.hotline") / "data" / "demo_tickets.jsonl").read_text(encoding="utf-8")
        rows = [json.loads(line) for line in raw.splitlines() if line.strip()][:limit]
        ids: list[str] = []
        for i, r in enumerate(rows):
            when = datetime.fromisoformat(r["received_at"])
            data = TicketIn(text=r["text"], channel=r["channel"], caller_phone=r.get("caller_phone"), received_at=when,
                            request_type=r["request_type"], domain=r["domain"], category=r.get("category"),
                            department=r["department"], urgency=r.get("urgency"))
            t = self.intake(data, actor=actor, now=when, verified="duplicate_of_index" not in r, check_duplicates=False)
            ids.append(t.id)
            self._replay(t.id, r, when, ids, actor)
            if progress:
                progress(i + 1, len(rows), t.number)
        if train:
            self.train(actor=actor)
        return len(rows)

    def _replay(self, tid: str, r: dict, when: datetime, ids: list[str], actor: Actor) -> None:
        goal = r.get("status", "received")
        path = {"received": [], "dispatched": ["dispatch"], "signed": ["dispatch", "sign"],
                "processing": ["dispatch", "sign", "start"], "replied": ["dispatch", "sign", "start", "reply"],
                "closed": ["dispatch", "sign", "start", "reply", "visit", "close"]}[goal]
        days = r.get("handle_days", 1)
        for k, action in enumerate(path):
            at = when + timedelta(hours=2 + k) if action in ("dispatch", "sign") else when + timedelta(days=days, hours=k)
            body = TransitionIn(action=action, department=r["department"], reply="已按诉求核实处理，并向市民说明情况。",
                                satisfaction=r.get("satisfaction") or "满意")
            self.transition(tid, body, actor=actor, now=min(at, _now()))

    # ---- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _resolve(s: Session, ref: str, scope: set[str] | None = None) -> Ticket:
        ref = (ref or "").strip()
        t = s.get(Ticket, ref) or s.scalar(select(Ticket).where(Ticket.number == ref))
        # Another department's work order is reported missing: a bureau does not learn what others handle.
        if t is None or (scope is not None and t.department not in scope):
            raise NotFound(f"工单“{ref}”不存在", code="HOTLINE_TICKET_NOT_FOUND")
        return t

    @staticmethod
    def _scope(s: Session, actor: Actor) -> set[str] | None:
        """Departments whose work orders the actor sees; None for all.

        The hotline centre (agents who take calls), administrators and platform-wide accounts see every
        ticket. A handling department (承办单位) sees the tickets dispatched to it or to the departments
        under it, matched by department name, since a ticket names its 承办部门 as the catalogue does.
        """
        if actor.kind == "system" or actor.department_path is None or "admin" in actor.roles or allowed(actor, "hotline.intake"):
            return None
        root = actor.department_path.rstrip("/")
        names = s.scalars(select(Department.name).where(or_(Department.path == root, Department.path.like(root + "/%"))))
        return set(names) | {root.rsplit("/", 1)[-1]}

    @staticmethod
    def _event(s: Session, t: Ticket, action: str, before: str | None, after: str, actor: Actor, at: datetime,
               note: str = "", data: dict | None = None) -> None:
        seq = (s.scalar(select(func.max(TicketEvent.seq)).where(TicketEvent.ticket_id == t.id)) or 0) + 1
        s.add(TicketEvent(ticket_id=t.id, seq=seq, action=action, from_status=before, to_status=after,
                          actor_id=actor.id, actor_name=actor.name, note=note, data=data or {}, created_at=at))

    @staticmethod
    def _event_out(e: TicketEvent) -> EventOut:
        label = ACTIONS[e.action].label if e.action in ACTIONS else {"intake": "受理", "correct": "修正分类", "merged_in": "并入重复工单"}.get(e.action, e.action)
        return EventOut(seq=e.seq, action=e.action, label=label, from_status=e.from_status, to_status=e.to_status,
                        actor_id=e.actor_id, actor_name=e.actor_name, note=e.note, data=e.data or {}, created_at=e.created_at)

    def _out(self, t: Ticket, now: datetime) -> TicketOut:
        state = sla_state(t.due_at, t.received_at, now, t.status in OPEN)
        left = (aware(t.due_at) - now).total_seconds() / 3600 if t.due_at and t.status in OPEN else None  # type: ignore[operator]
        return TicketOut(
            id=t.id, number=t.number, channel=t.channel, text=t.text, caller_masked=t.caller_masked, location=t.location,
            occurred_at=t.occurred_at, received_at=t.received_at, request_type=t.request_type, domain=t.domain,
            category=t.category, department=t.department, urgency=t.urgency, sentiment=t.sentiment,
            risk_words=t.risk_words or [], summary=t.summary, keywords=t.keywords or [], places=t.places or [],
            attachments=t.attachments or [], status=t.status, status_label=STATUS_LABELS.get(t.status, t.status),
            due_at=t.due_at, sla_rule=t.sla_rule, sla_state=state, hours_left=round(left, 1) if left is not None else None,
            needs_review=t.needs_review, review_reason=t.review_reason, labels_verified=t.labels_verified,
            merged_into=t.merged_into, direct_answer=t.direct_answer, reply=t.reply, satisfaction=t.satisfaction,
            supervised=t.supervised, reopen_count=t.reopen_count, return_count=t.return_count, extension=t.extension,
            suggestion=t.suggestion or {}, closed_at=t.closed_at, created_at=t.created_at, updated_at=t.updated_at,
        )
