"""Personalised materials lists for one item (chosen 情形) or a life-event bundle (shared materials merged)."""

from __future__ import annotations

from haoban.apps.guide.match import consistent, questions_for
from haoban.apps.guide.schemas import (
    Bundle,
    Checklist,
    ChecklistEntry,
    Material,
    Question,
    ServiceItem,
    Situation,
)


def resolve_situation(
    item: ServiceItem, answers: dict[str, str], preset: str = ""
) -> tuple[Situation | None, list[Question]]:
    if not item.situations:
        return None, []
    if preset:
        for s in item.situations:
            if s.code == preset:
                return s, []
    left = consistent(item.situations, answers)
    if len(left) == 1:
        return left[0], []
    return None, questions_for(item.situations, answers)


def item_materials(item: ServiceItem, situation: Situation | None) -> list[Material]:
    mats = list(item.materials)
    if situation:
        mats += situation.materials
    return mats


def _entry(m: Material, item_name: str) -> ChecklistEntry:
    return ChecklistEntry(
        name=m.name,
        form=m.form,
        count=m.count,
        source=m.source,
        required=m.required,
        condition=m.condition,
        key=m.ref,
        items=[item_name],
    )


def item_checklist(item: ServiceItem, answers: dict[str, str] | None = None) -> Checklist:
    situation, questions = resolve_situation(item, answers or {})
    entries: dict[str, ChecklistEntry] = {}
    for m in item_materials(item, situation):
        entries.setdefault(m.ref, _entry(m, item.name))
    return Checklist(
        code=item.code,
        name=item.name,
        kind="item",
        situation={item.code: situation.name} if situation else {},
        materials=list(entries.values()),
        steps=item.steps,
        promised_days=item.promised_days,
        legal_days=item.legal_days,
        fee=item.fee,
        channels=item.channels,
        location=item.location,
        unresolved=questions,
    )


def bundle_checklist(
    bundle: Bundle, items: dict[str, ServiceItem], answers: dict[str, str] | None = None
) -> Checklist:
    """Merge the materials of every item in the bundle; a material several items need is brought once."""
    answers = answers or {}
    entries: dict[str, ChecklistEntry] = {}
    chosen: dict[str, str] = {}
    unresolved: dict[str, Question] = {}
    steps: list[str] = []
    saved = 0
    stage_days: dict[int, int] = {}
    for step in sorted(bundle.steps, key=lambda s: s.order):
        item = items[step.item]
        situation, questions = resolve_situation(item, answers, step.situation)
        if situation:
            chosen[item.code] = situation.name
        for q in (
            questions if not step.optional else ()
        ):  # an optional step's 情形 can wait for its own checklist
            unresolved.setdefault(q.key, q)
        note = f"（{step.note}）" if step.note else ""
        steps.append(
            f"第{step.order}步：{item.name}（{item.department}）{'［按需］' if step.optional else ''}{note}"
        )
        if item.promised_days is not None:
            stage_days[step.order] = max(stage_days.get(step.order, 0), item.promised_days)
        for m in item_materials(item, situation):
            if step.optional and not m.required:
                continue
            if m.ref in entries:
                if item.name not in entries[m.ref].items:
                    entries[m.ref].items.append(item.name)
                    saved += 1
                entries[m.ref].required = entries[m.ref].required or (m.required and not step.optional)
            else:
                e = _entry(m, item.name)
                e.required = m.required and not step.optional
                entries[m.ref] = e
    channels = sorted({c for s in bundle.steps for c in items[s.item].channels})
    return Checklist(
        code=bundle.code,
        name=bundle.name,
        kind="bundle",
        situation=chosen,
        materials=list(entries.values()),
        steps=steps,
        promised_days=sum(stage_days.values()) if stage_days else None,
        channels=channels,
        location="政务服务中心“一件事”综合窗口",
        unresolved=list(unresolved.values()),
        shared_saved=saved,
    )
