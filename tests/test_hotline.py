"""Hotline library: lifecycle (legal and illegal moves), SLA over the holiday calendar, router training and
retraining on corrections, rules override, duplicates, statistics. Real SQLite; the demo tickets the project owns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from conftest import make_settings
from haoban.apps.hotline import HotlineService
from haoban.apps.hotline.classify import FieldClassifier
from haoban.apps.hotline.dedup import find_similar
from haoban.apps.hotline.router import Router
from haoban.apps.hotline.schemas import TicketIn, TransitionIn
from haoban.apps.hotline.sla import SHANGHAI, HolidayCalendar, deadline, sla_state
from haoban.apps.hotline.urgency import assess
from haoban.errors import IllegalTransition, InvalidInput, NotFound
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import Actor

DEMO = [json.loads(x) for x in (resources.files("haoban.apps.hotline") / "data" / "demo_tickets.jsonl").read_text(encoding="utf-8").splitlines()]
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # a Friday, 10:00 in Shanghai


@pytest.fixture(scope="module")
def hotline(tmp_path_factory):
    ks = KnowledgeService(make_settings(tmp_path_factory.mktemp("hotline")), embedder=None)
    svc = HotlineService(ks)
    assert svc.load_demo(limit=150) == 150
    yield svc
    ks.close()


def cal() -> HolidayCalendar:
    return HolidayCalendar.load()


def local(ts: datetime) -> datetime:
    return ts.astimezone(SHANGHAI)


# ---- SLA -------------------------------------------------------------------------------------------


def test_working_days_skip_national_day_and_count_makeup_saturday():
    # 2025-09-30 (Tue) + 3 working days: 10-01..08 are holidays, Sat 10-11 is a working day → 9, 10, 11 Oct.
    due = cal().add_working_days(datetime(2025, 9, 30, 9, tzinfo=SHANGHAI), 3)
    assert local(due).date().isoformat() == "2025-10-11" and local(due).hour == 23


def test_spring_festival_2026_and_makeup_days():
    c = cal()
    assert not c.is_working_day(datetime(2026, 2, 16).date())  # 春节
    assert c.is_working_day(datetime(2026, 2, 14).date())  # Saturday made a working day
    assert c.is_working_day(datetime(2026, 2, 28).date())
    due = c.add_working_days(datetime(2026, 2, 13, 15, tzinfo=SHANGHAI), 2)  # Fri → Sat 14 (work), Tue 24
    assert local(due).date().isoformat() == "2026-02-24"


def test_deadline_rules_urgent_hours_and_unknown_year_flagged():
    start = datetime(2026, 5, 1, 1, tzinfo=UTC)
    d = deadline(cal(), start, "投诉", "特急")
    assert d.due_at == start + timedelta(hours=2) and "特急" in d.rule
    d = deadline(cal(), start, "投诉", "一般")  # 劳动节 5.1–5.5; 6, 7, 8, Sat 9 (调休上班), Mon 11
    assert local(d.due_at).date().isoformat() == "2026-05-11" and d.calendar_known
    assert not deadline(cal(), datetime(2031, 3, 3, tzinfo=UTC), "咨询", "一般").calendar_known


def test_sla_state_warns_before_deadline():
    received = NOW - timedelta(hours=10)
    assert sla_state(NOW + timedelta(hours=1), received, NOW, True) == "warning"
    assert sla_state(NOW + timedelta(hours=30), received, NOW, True) == "ok"
    assert sla_state(NOW - timedelta(minutes=1), received, NOW, True) == "overdue"
    assert sla_state(NOW - timedelta(minutes=1), received, NOW, False) == "none"


# ---- lifecycle -------------------------------------------------------------------------------------


def test_full_lifecycle_is_timestamped_attributed_and_audited(hotline: HotlineService):
    agent = Actor(id="u-agent", name="坐席小李", kind="user", roles=frozenset({"agent", "staff"}))
    t = hotline.intake(TicketIn(text="人民路有一个井盖缺失，晚上很危险", caller_phone="13912345678"), actor=agent)
    assert t.status == "received" and t.caller_masked and "12345" not in t.caller_masked and t.urgency == "紧急"
    steps = [TransitionIn(action="dispatch", department="区城市管理和综合执法局"), TransitionIn(action="sign"),
             TransitionIn(action="start"), TransitionIn(action="reply", reply="已补装井盖"),
             TransitionIn(action="visit", satisfaction="满意"), TransitionIn(action="close")]
    for body in steps:
        t = hotline.transition(t.id, body, actor=agent)
    assert t.status == "closed" and t.closed_at and t.satisfaction == "满意"
    d = hotline.get(t.number)
    assert [e.action for e in d.events] == ["intake", "dispatch", "sign", "start", "reply", "visit", "close"]
    assert all(e.actor_name == "坐席小李" for e in d.events)
    _, entries = hotline.audit.list(actor_id="u-agent", resource_type="ticket", limit=50)
    assert {"hotline.intake", "hotline.dispatch", "hotline.close"} <= {e.action for e in entries}


def test_illegal_transitions_raise_409_with_chinese_message(hotline: HotlineService):
    t = hotline.intake(TicketIn(text="请问社保卡丢了怎么补办"))
    with pytest.raises(IllegalTransition) as e:
        hotline.transition(t.id, TransitionIn(action="close"))
    assert e.value.status == 409 and "不能执行“办结”" in e.value.message and "派单" in e.value.message
    with pytest.raises(IllegalTransition):
        hotline.transition(t.id, TransitionIn(action="sign"))
    with pytest.raises(InvalidInput):  # dispatch without a department loses nothing
        hotline.transition(t.id, TransitionIn(action="dispatch"))
    with pytest.raises(InvalidInput):
        hotline.transition(t.id, TransitionIn(action="fly"))
    assert hotline.get(t.id).ticket.status == "received"
    with pytest.raises(NotFound):
        hotline.transition("no-such-ticket", TransitionIn(action="sign"))


def test_return_redispatch_extension_reopen(hotline: HotlineService):
    t = hotline.intake(TicketIn(text="江南名苑楼下餐馆油烟很大"))
    hotline.transition(t.id, TransitionIn(action="dispatch", department="区城市管理和综合执法局"))
    hotline.transition(t.id, TransitionIn(action="return", reason="不属于本部门职责"))
    t = hotline.transition(t.id, TransitionIn(action="redispatch", department="区生态环境分局"))
    assert t.department == "区生态环境分局" and t.return_count == 1 and t.labels_verified
    hotline.transition(t.id, TransitionIn(action="sign"))
    due = hotline.transition(t.id, TransitionIn(action="request_extension", days=3, reason="需要现场检测")).due_at
    with pytest.raises(InvalidInput):
        hotline.transition(t.id, TransitionIn(action="request_extension", days=3, reason="再延"))
    plain = Actor(id="u2", name="办理员", kind="user", roles=frozenset({"staff"}))
    from haoban.errors import Forbidden

    with pytest.raises(Forbidden):
        hotline.transition(t.id, TransitionIn(action="approve_extension"), actor=plain)
    t = hotline.transition(t.id, TransitionIn(action="approve_extension"))
    assert t.due_at > due and t.extension["state"] == "approved"
    for body in [TransitionIn(action="start"), TransitionIn(action="reply", reply="已责令安装油烟净化器"),
                 TransitionIn(action="visit", satisfaction="不满意")]:
        t = hotline.transition(t.id, body)
    t = hotline.transition(t.id, TransitionIn(action="reopen", reason="市民不满意"))
    assert t.status == "processing" and t.reopen_count == 1


# ---- intelligence ----------------------------------------------------------------------------------


def test_router_trained_on_demo_routes_and_explains(hotline: HotlineService):
    report = hotline.model_report()
    assert report and report["fields"]["department"]["examples"] >= 100
    [r] = hotline.classify(["桂园小区自来水发黄有异味，烧开后有沉淀"])
    assert r.department == "区水务局" and r.domain == "水务"
    feats = [f[0] for f in r.predictions["department"]["features"]]
    assert feats and any("水" in f for f in feats)


def test_rules_override_model_and_report_which_fired(hotline: HotlineService):
    [r] = hotline.classify(["老板拖欠工资两个月了，一直不发工资"])
    assert r.department == "区人力资源和社会保障局" and r.confidence == 1.0
    assert [x["id"] for x in r.rules] == ["QZ-01"]
    [r] = hotline.classify(["幸福里社区楼道堆放杂物很多"])
    assert r.department == "城东街道办事处" and "QZ-07" in [x["id"] for x in r.rules]


def test_low_confidence_goes_to_review_queue(hotline: HotlineService):
    t = hotline.intake(TicketIn(text="你好"))
    assert t.needs_review and "置信度" in t.review_reason
    assert t.id in {x.id for x in hotline.list(review=True, limit=500).items}


def test_retrain_learns_from_corrections(tmp_path):
    ks = KnowledgeService(make_settings(tmp_path), embedder=None)
    try:
        svc = HotlineService(ks)
        svc.load_demo(limit=120)
        v1 = svc.model_report()["version"]
        text = "星光剧场演出门票退票难，要求退票"
        before = svc.classify([text])[0].department
        for i in range(6):
            t = svc.intake(TicketIn(text=f"{text}，第{i + 1}次反映星光剧场退票问题"))
            svc.correct(t.id, request_type="投诉", domain="文化旅游", department="区文化和旅游局")
        report = svc.train()
        assert report.version == v1 + 1 and "区文化和旅游局" in report.fields["department"]["classes"]
        after = svc.classify([text])[0]
        assert after.department == "区文化和旅游局" != before and after.model_version == report.version
    finally:
        ks.close()


def test_training_with_too_little_data_is_a_clear_error(tmp_path):
    ks = KnowledgeService(make_settings(tmp_path), embedder=None)
    try:
        with pytest.raises(InvalidInput, match="至少需要 20 条"):
            HotlineService(ks).train()
        with pytest.raises(NotFound, match="尚未训练"):
            HotlineService(ks).classify(["你好"])
    finally:
        ks.close()


def test_field_classifier_calibrated_probabilities():
    texts = [r["text"] for r in DEMO]
    clf = FieldClassifier().fit(texts, [r["request_type"] for r in DEMO])
    p = clf.proba(texts[:20])
    assert p.shape[1] == len(clf.classes) and abs(p.sum(1) - 1).max() < 1e-6
    router = Router.train(texts, {"department": [r["department"] for r in DEMO]})
    hold = router.report["fields"]["department"]["holdout"]
    assert hold["accuracy"] > 0.8 and 0 <= hold["ece"] <= 1


def test_duplicates_found_and_merged(hotline: HotlineService):
    a = hotline.intake(TicketIn(text="滨江路有一根水管爆裂，水漫到马路上了，请尽快派人抢修", location="滨江路"))
    b = hotline.intake(TicketIn(text="又有人反映：滨江路有一根水管爆裂，水漫到马路上了，麻烦尽快抢修", location="滨江路"))
    assert a.id in [d["id"] for d in b.suggestion["duplicates"]]
    unrelated = find_similar("学校门口需要增设减速带", NOW, [], [("滨江路水管爆裂", NOW, [])])
    assert unrelated == []
    m = hotline.transition(b.id, TransitionIn(action="merge", into=a.number))
    assert m.status == "merged" and m.merged_into == a.id
    assert b.number in hotline.get(a.id).merged
    with pytest.raises(InvalidInput):
        hotline.transition(a.id, TransitionIn(action="merge", into=a.id))


def test_urgency_risk_words_escalate():
    r = assess("我实在活不下去了，想自杀")
    assert r.urgency == "特急" and r.escalate and "自杀" in r.risk_words
    assert assess("请问公积金怎么提取").urgency == "一般"


def test_stats_and_hotspots(hotline: HotlineService):
    s = hotline.stats()
    assert s.total >= 150 and s.departments
    d = s.departments[0]
    assert 0 <= d.on_time_rate <= 1 and 0 <= d.score <= 100
    assert sum(s.by_request_type.values()) == s.total


def test_bad_intake_is_rejected_and_nothing_stored(hotline: HotlineService):
    before = hotline.list(limit=1).total
    with pytest.raises(InvalidInput):
        hotline.intake(TicketIn.model_construct(text="   ", channel="电话", attachments=[]))
    assert hotline.list(limit=1).total == before


def test_handling_department_sees_only_its_own_tickets(tmp_path):
    from haoban.safety.auth import SYSTEM

    ks = KnowledgeService(make_settings(tmp_path), embedder=None)
    try:
        ks.users.create_department("某区", actor=SYSTEM)
        ks.users.create_department("区城市管理和综合执法局", "/某区", actor=SYSTEM)
        ks.users.create_department("区人力资源和社会保障局", "/某区", actor=SYSTEM)
        ks.users.create_user("cg", "pass-word-1", ["staff"], "/某区/区城市管理和综合执法局", actor=SYSTEM)
        ks.users.create_user("center", "pass-word-1", ["agent"], "/某区", actor=SYSTEM)
        cg = ks.users.login("cg", "pass-word-1")[0]
        center = ks.users.login("center", "pass-word-1")[0]
        svc = HotlineService(ks)
        mine = svc.intake(TicketIn(text="人民路井盖缺失", department="区城市管理和综合执法局"), actor=center)
        other = svc.intake(TicketIn(text="公司拖欠工资三个月", department="区人力资源和社会保障局"), actor=center)
        assert {t.id for t in svc.list(actor=cg).items} == {mine.id}
        assert {t.id for t in svc.list(actor=center).items} == {mine.id, other.id}  # the 12345 centre sees all
        assert svc.get(mine.id, actor=cg).ticket.id == mine.id
        with pytest.raises(NotFound):
            svc.get(other.id, actor=cg)
        with pytest.raises(NotFound):
            svc.transition(other.id, TransitionIn(action="dispatch", department="区城市管理和综合执法局"), actor=cg)
        assert svc.stats(actor=cg).total == 1
    finally:
        ks.close()


def test_correction_keeps_dispatch_trail_and_recomputes_deadline(hotline: HotlineService):
    t = hotline.intake(TicketIn(text="建议在幸福小区增设一处公交站", request_type="建议", department="区交通运输局"))
    fixed = hotline.correct(t.id, request_type="咨询")
    assert fixed.request_type == "咨询" and fixed.due_at != t.due_at and fixed.sla_rule.startswith("咨询")
    hotline.transition(t.id, TransitionIn(action="dispatch", department="区交通运输局"))
    with pytest.raises(InvalidInput) as e:
        hotline.correct(t.id, department="区住房和城乡建设局")
    assert e.value.code == "HOTLINE_USE_REDISPATCH"


def test_concurrent_model_saves_get_their_own_versions(tmp_path):
    import threading

    from haoban.apps.hotline.router import ModelStore

    store = ModelStore(tmp_path / "models")
    texts = ["路灯坏了", "井盖缺失", "拖欠工资", "社保缴费", "噪音扰民", "占道经营"] * 3
    labels = ["城管", "城管", "人社", "人社", "城管", "城管"] * 3
    router = Router({"department": FieldClassifier().fit(texts, labels)}, {"fields": {}}, 0)
    versions: list[int] = []
    threads = [threading.Thread(target=lambda: versions.append(store.save(Router(router.classifiers, {"fields": {}}, 0)))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(versions) == [1, 2, 3, 4] and store.versions() == [1, 2, 3, 4]
    assert store.current().version == 4
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".")]  # no half-written folders


def test_a_reroute_confirms_only_the_department(tmp_path):
    ks = KnowledgeService(make_settings(tmp_path), embedder=None)
    try:
        svc = HotlineService(ks)
        t = svc.intake(TicketIn(text="小区电梯经常故障困人", request_type="投诉", domain="城建", department="区市场监管局"))
        svc.transition(t.id, TransitionIn(action="dispatch", department="区市场监管局"))
        svc.transition(t.id, TransitionIn(action="redispatch", department="区住房和城乡建设局", reason="电梯维保归住建"))
        with ks.db.session() as s:
            from haoban.apps.hotline.models import Ticket

            row = s.get(Ticket, t.id)
            assert row.labels_verified and row.verified_fields == ["department"]
        fixed = svc.correct(t.id, domain="住建")
        with ks.db.session() as s:
            assert s.get(Ticket, fixed.id).verified_fields == ["department", "domain"]
    finally:
        ks.close()


def test_stats_are_aggregated_exactly(tmp_path):
    """The figures come from GROUP BY queries; every rule of the 考评 is checked on rows with known answers."""
    from haoban.apps.hotline.models import Ticket

    ks = KnowledgeService(make_settings(tmp_path), embedder=None)
    try:
        svc = HotlineService(ks)
        now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
        day = timedelta(days=1)
        base = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 3月2日 01:00 Beijing time
        rows = [
            # 城管: replied on time (satisfied), replied late (unsatisfied, reopened), closed on time without a
            # reply time, open and overdue, open with 10% of its time left (warning), merged (not counted).
            dict(department="城管局", status="closed", replied_at=base + day, due_at=base + 2 * day, satisfaction="满意"),
            dict(department="城管局", status="visited", replied_at=base + 3 * day, due_at=base + 2 * day,
                 satisfaction="不满意", reopen_count=1),
            dict(department="城管局", status="closed", closed_at=base + day, due_at=base + 2 * day),
            dict(department="城管局", status="processing", due_at=now - day),
            dict(department="城管局", status="signed", received_at=now - 9 * day, due_at=now + day),
            dict(department="城管局", status="merged", due_at=now - day),
            # 人社: dispatched, not yet signed (not responded), deadline far away.
            dict(department="人社局", status="dispatched", received_at=now - day, due_at=now + 9 * day),
            # Still at intake: counted in the totals, not in any department's 考评.
            dict(department=None, status="received", needs_review=True),
        ]
        with ks.db.session() as s:
            for i, r in enumerate(rows):
                r.setdefault("received_at", base)
                s.add(Ticket(number=f"T{i}", text="测试诉求", domain="城建", request_type="投诉", places=["人民路"], **r))
            s.commit()
        st = svc.stats(now=now)
        assert st.total == 8 and st.review_queue == 1
        assert st.by_status["已合并"] == 1 and st.by_request_type == {"投诉": 8}
        assert (st.overdue, st.warning) == (1, 1)  # the merged one is not running
        assert st.by_day["2026-03-02"] == 6  # received at 17:00 UTC on 1 March
        depts = {d.department: d for d in st.departments}
        assert set(depts) == {"城管局", "人社局"}
        cg = depts["城管局"]
        assert (cg.total, cg.responded, cg.closed, cg.on_time, cg.overdue_open) == (5, 5, 3, 2, 1)
        assert cg.satisfaction_rate == 0.5 and cg.reopen_rate == 0.2
        assert depts["人社局"].responded == 0 and depts["人社局"].satisfaction_rate is None
        # Hotspot: the cell (城建, 人民路, ISO week of 2 March 2026) holds that week's tickets but the merged one.
        assert [(h.domain, h.place, h.week, h.count) for h in st.hotspots][0] == ("城建", "人民路", "2026-W10", 5)
        assert svc.stats(start=now - 2 * day, now=now).total == 1  # only the 人社 ticket is that recent
    finally:
        ks.close()
