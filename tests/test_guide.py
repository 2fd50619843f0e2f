"""智能办事助手 through the library: catalogue files, matching, questions, checklists, pre-check, policies.

Real SQLite on a temp data directory; the catalogue is the owned demo catalogue shipped in the package,
bad files are built in each test.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from openpyxl import Workbook

from haoban.apps.guide.catalogue import ITEM_COLUMNS
from haoban.apps.guide.schemas import EnterpriseProfile
from haoban.apps.guide.service import GuideService
from haoban.errors import Forbidden, InvalidInput, LLMTimeout, NotFound, UnsupportedFormat
from haoban.knowledge.schemas import DocumentMeta
from haoban.knowledge.service import TextItem
from haoban.safety.auth import ANONYMOUS, Actor

VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example number


@pytest.fixture
def guide(service) -> GuideService:
    g = GuideService(service)
    assert g.load_demo() is not None
    return g


@pytest.fixture
def empty(service) -> GuideService:
    return GuideService(service)


def csv_bytes(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=[h for _, h, _ in ITEM_COLUMNS])
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode("utf-8")


def good_row(code: str, name: str = "测试事项") -> dict:
    return {
        "事项编码": code,
        "事项名称": name,
        "事项类型": "公共服务",
        "实施部门": "测试局",
        "办理渠道": "窗口；网办",
        "申请材料": json.dumps([{"name": "居民身份证"}], ensure_ascii=False),
        "承诺时限": "3",
    }


# ---- catalogue ---------------------------------------------------------------------------------------


def test_demo_catalogue_size_and_idempotent(guide: GuideService):
    s = guide.stats()
    assert s["items"] >= 60 and s["departments"] >= 10 and s["bundles"] >= 8 and s["policies"] >= 10
    assert guide.load_demo() is None
    assert guide.stats() == s
    items = guide.catalogue().items
    assert all(i.materials for i in items)
    assert sum(1 for i in items if i.situations) >= 30


@pytest.mark.parametrize("fmt", ["json", "xlsx"])
def test_export_import_round_trip(guide: GuideService, service, tmp_path, fmt):
    from haoban.config import Settings
    from haoban.knowledge.service import KnowledgeService

    data = guide.export_catalogue(fmt)
    other = KnowledgeService(Settings(data_dir=tmp_path / "other", embedding_backend="none"), embedder=None)
    try:
        g2 = GuideService(other)
        report = g2.import_catalogue(data, fmt)
        assert report.ok and report.created == report.items + report.bundles + report.policies
        assert g2.catalogue() == guide.catalogue()
    finally:
        other.close()


def test_csv_export_import_round_trip_items(guide: GuideService, empty: GuideService):
    data = guide.export_catalogue("csv")
    assert data.startswith(b"\xef\xbb\xbf")
    report = empty.import_catalogue(data, "csv")
    assert report.items == guide.stats()["items"]
    assert empty.get_item("GA-SFZ-001") == guide.get_item("GA-SFZ-001")


def test_reimport_updates_instead_of_duplicating(guide: GuideService):
    data = guide.export_catalogue("json")
    report = guide.import_catalogue(data, "json")
    assert report.created == 0 and report.updated > 0


def test_bad_csv_rows_reported_and_nothing_imported(empty: GuideService):
    rows = [
        good_row("T-1"),
        {**good_row("T-2"), "事项名称": ""},
        {**good_row("T-3"), "承诺时限": "三天"},
        {**good_row("T-4"), "事项类型": "行政审批"},
        {**good_row("T-5"), "申请材料": "[{name: 身份证"},
        {**good_row("T-6"), "办理渠道": "电话"},
        good_row("T-1", "重复编码"),
    ]
    with pytest.raises(InvalidInput) as exc:
        empty.import_catalogue(csv_bytes(rows), "csv")
    assert exc.value.code == "GUIDE_IMPORT_INVALID"
    errors = exc.value.detail
    by_row = {e["row"]: e["message"] for e in errors if e["row"]}
    assert by_row[3] == "事项名称：必填"
    assert by_row[4] == "承诺时限：应为整数"
    assert "事项类型“行政审批”不在" in by_row[5]
    assert "申请材料：不是合法的 JSON" in by_row[6]
    assert "办理渠道“电话”" in by_row[7]
    assert any("编码“T-1”在文件中重复" in e["message"] for e in errors)
    assert empty.stats()["items"] == 0  # the good row was not written either


def test_xlsx_bad_bundle_reference_blocks_whole_import(empty: GuideService):
    wb = Workbook()
    ws = wb.active
    ws.title = "事项"
    ws.append([h for _, h, _ in ITEM_COLUMNS])
    ws.append([good_row("X-1").get(h, "") for _, h, _ in ITEM_COLUMNS])
    wb.create_sheet("一件事").append(["编码", "名称", "说明", "别名", "关键词", "包含事项"])
    wb["一件事"].append(["B-1", "测试一件事", "", "", "", json.dumps([{"item": "X-1"}, {"item": "NO-SUCH"}])])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(InvalidInput) as exc:
        empty.import_catalogue(buf.getvalue(), "xlsx")
    [err] = exc.value.detail
    assert err["sheet"] == "一件事" and err["row"] == 1 and "“NO-SUCH”不在目录中" in err["message"]
    assert empty.stats() == {"items": 0, "departments": 0, "bundles": 0, "policies": 0}


def test_broken_files_get_chinese_errors(empty: GuideService):
    with pytest.raises(InvalidInput, match="XLSX 文件无法打开"):
        empty.import_catalogue(b"PK\x03\x04 not a workbook", "xlsx")
    with pytest.raises(InvalidInput, match="JSON 文件无法解析"):
        empty.import_catalogue(b"{items: [", "json")
    with pytest.raises(UnsupportedFormat):
        empty.import_catalogue(b"x", "doc")
    with pytest.raises(InvalidInput, match="表头缺少列"):
        empty.import_catalogue("名称,部门\n甲,乙\n".encode(), "csv")
    with pytest.raises(InvalidInput, match="编码无法识别"):
        empty.import_catalogue(b"\xff\xfe\x00\xd8" * 10, "csv")


def test_gb18030_csv_accepted(empty: GuideService):
    report = empty.import_catalogue(
        csv_bytes([good_row("G-1", "国标编码事项")]).decode().encode("gb18030"), "csv"
    )
    assert report.ok and empty.get_item("G-1").name == "国标编码事项"


def test_visitor_cannot_import_and_unknown_code_is_404(guide: GuideService):
    with pytest.raises(Forbidden):
        guide.import_catalogue(b"[]", "json", actor=ANONYMOUS)
    viewer = Actor(id="u1", name="查看员", kind="user", roles=frozenset({"viewer"}))
    with pytest.raises(Forbidden):
        guide.import_catalogue(b"[]", "json", actor=viewer)
    assert guide.match("办护照", actor=ANONYMOUS).candidates[0].code == "GA-CRJ-001"
    with pytest.raises(NotFound):
        guide.get_item("NOPE")
    with pytest.raises(NotFound):
        guide.checklist("NOPE")


# ---- matching and questions --------------------------------------------------------------------------


def test_newborn_request_finds_bundle(guide: GuideService):
    r = guide.match("我刚生了孩子要办什么")
    assert r.candidates[0].code == "LE-BIRTH" and r.candidates[0].kind == "bundle"
    assert "新生儿" in r.expanded
    assert {"GA-HJ-001", "WJ-CS-001"} & {c.code for c in r.candidates[1:]}


def test_clarifying_question_then_follow_up_resolves_situation(guide: GuideService):
    r = guide.match("身份证丢了咋补")
    top = r.candidates[0]
    assert top.code == "GA-SFZ-002" and top.situation is None
    assert [q.key for q in r.questions] == ["户籍地"] and set(r.questions[0].options) == {"本地", "外地"}
    r2 = guide.match("身份证丢了咋补", {"户籍地": "外地"})
    assert r2.candidates[0].situation == "remote" and r2.questions == []


def test_answers_found_in_the_request_need_no_question(guide: GuideService):
    r = guide.match("我是外地户口，身份证掉了")
    assert (
        r.candidates[0].code == "GA-SFZ-002" and r.candidates[0].situation == "remote" and r.questions == []
    )
    assert r.answers["户籍地"] == "外地"


def test_question_set_is_minimal(guide: GuideService):
    # 居住证: four 情形 over two dimensions; 是否首次=否 already separates the renewal one.
    r = guide.match("第一次办居住证")
    assert r.candidates[0].code == "GA-JZZ-001"
    assert [q.key for q in r.questions] == ["居住条件"]


def test_empty_and_overlong_queries_rejected(guide: GuideService):
    with pytest.raises(InvalidInput, match="请描述"):
        guide.match("   ")
    with pytest.raises(InvalidInput, match="过长"):
        guide.match("办" * 301)


def test_catalogue_change_rebuilds_index(guide: GuideService):
    assert all(c.code != "NEW-1" for c in guide.match("无人机飞行报备").candidates)
    guide.import_catalogue(
        json.dumps(
            {
                "items": [
                    {
                        "code": "NEW-1",
                        "name": "无人机飞行活动报备",
                        "department": "市公安局",
                        "aliases": ["无人机报备"],
                    }
                ]
            },
            ensure_ascii=False,
        ).encode(),
        "json",
    )
    assert guide.match("无人机飞行报备").candidates[0].code == "NEW-1"


class FakeGateway:
    available = True

    def __init__(self, codes=None, fail=False):
        self.codes, self.fail, self.calls = codes or [], fail, 0

    def chat_json(self, messages, schema, **kwargs):
        self.calls += 1
        if self.fail:
            raise LLMTimeout()
        return schema(codes=self.codes)


def test_model_may_reorder_but_only_catalogue_items_come_back(service, guide: GuideService):
    g = GuideService(service, FakeGateway(["INVENTED-ITEM", "GA-SFZ-001"]))
    r = g.match("身份证的事")
    assert r.mode == "model" and r.candidates[0].code == "GA-SFZ-001"
    assert "INVENTED-ITEM" not in {c.code for c in r.candidates}
    failing = FakeGateway(fail=True)
    r2 = GuideService(service, failing).match("身份证丢了")
    assert failing.calls == 1 and r2.mode == "rules" and r2.candidates[0].code == "GA-SFZ-002"
    assert guide.match("身份证的事", use_model=False).mode == "rules"


# ---- checklists and pre-check ----------------------------------------------------------------------------


def test_item_checklist_depends_on_situation(guide: GuideService):
    first = guide.checklist("GA-JZZ-001", {"是否首次": "是", "居住条件": "住所"})
    names = [m.name for m in first.materials]
    assert "房屋租赁合同或不动产权证书" in names and "劳动合同或营业执照" not in names
    assert first.situation == {"GA-JZZ-001": "首次申领（以住所为条件）"} and first.unresolved == []
    open_ = guide.checklist("GA-JZZ-001")
    assert {q.key for q in open_.unresolved} == {"是否首次", "居住条件"}


def test_bundle_checklist_merges_shared_materials(guide: GuideService):
    c = guide.checklist("LE-HOUSE")
    deeds = [m for m in c.materials if m.key == "不动产权证书"]
    assert len(deeds) == 1 and len(deeds[0].items) >= 4
    assert c.shared_saved >= 5
    assert c.steps[0].startswith("第1步：存量房买卖合同网签备案")
    births = guide.checklist("LE-BIRTH")
    assert "出生医学证明" in [m.name for m in births.materials]
    assert births.situation["YB-CB-001"] == "新生儿参保"  # preset in the bundle, no question


def test_precheck_reports_missing_and_invalid(guide: GuideService):
    bad_id = VALID_ID[:-1] + "1"
    future = (date.today() + timedelta(days=3)).isoformat()
    r = guide.precheck(
        "GA-HJ-001",
        answers={"婚姻状况": "婚内"},
        provided=["出生医学证明", "身份证"],
        fields={"child_name": "小明", "birth_date": future, "id_number": bad_id, "phone": "12345"},
    )
    msgs = [f.message for f in r.findings]
    assert not r.passed
    assert "申报人（父或母）身份证号码校验位不正确，请核对是否输错" in msgs
    assert "出生日期不能晚于今天" in msgs
    assert "联系电话应为 11 位手机号或带区号的固定电话" in msgs
    assert any(m.startswith("缺少材料：结婚证") for m in msgs)
    assert "出生医学证明" in r.provided


def test_precheck_passes_when_complete(guide: GuideService):
    item = guide.checklist("GA-HJ-001", {"婚姻状况": "婚内"})
    r = guide.precheck(
        "GA-HJ-001",
        answers={"婚姻状况": "婚内"},
        provided=[m.name for m in item.materials],
        fields={
            "child_name": "小明",
            "birth_date": "2026-01-02",
            "id_number": VALID_ID,
            "phone": "13800138000",
        },
    )
    assert r.passed, r.findings
    r2 = guide.precheck("GA-HJ-001", provided=[m.name for m in item.materials], fields={"id_number": "1234"})
    kinds = {(f.field, f.level) for f in r2.findings}
    assert (
        ("child_name", "missing") in kinds
        and ("id_number", "invalid") in kinds
        and ("情形:婚姻状况", "warning") in kinds
    )


# ---- enterprise policies -----------------------------------------------------------------------------


def test_policy_matching_explains_each_condition(guide: GuideService):
    profile = EnterpriseProfile(
        name="某科技公司",
        industry="信息传输、软件和信息技术服务业",
        size="小型",
        area="本市",
        established=date.today() - timedelta(days=400),
        revenue=800,
        headcount=25,
        qualifications=["高新技术企业", "科技型中小企业"],
    )
    matches = {m.code: m for m in guide.match_policies(profile)}
    assert matches["P-002"].eligible and matches["P-010"].eligible and matches["P-004"].eligible
    assert not matches["P-005"].eligible
    failed = [c for c in matches["P-005"].checks if c.passed is False]
    assert any("制造业" in c.explanation for c in failed)
    assert "P-012" not in matches  # draft policy hidden until reviewed
    ranked = guide.match_policies(profile)
    assert all(m.eligible for m in ranked[: sum(x.eligible for x in ranked)])
    sparse = {m.code: m for m in guide.match_policies(EnterpriseProfile(size="小型"))}
    assert sparse["P-004"].unknown == 2 and not sparse["P-004"].eligible


def test_conditions_drafted_from_policy_text(guide: GuideService):
    conds = guide.draft_conditions(
        "对在本市注册、成立不超过3年、从业人员50人以下且年营业收入1000万元以下的小微企业，给予房租补贴。"
    )
    got = {(c.field, c.op): c.value for c in conds}
    assert got[("age_years", "<=")] == 3 and got[("headcount", "<=")] == 50 and got[("revenue", "<=")] == 1000
    assert got[("size", "in")] == ["微型", "小型"] and got[("area", "in")] == ["本市"]
    with pytest.raises(InvalidInput):
        guide.draft_conditions(" ")


def test_legal_basis_resolves_to_kb_document(guide: GuideService, service):
    service.create_kb("法规库")
    meta = DocumentMeta(title="中华人民共和国居民身份证法", issuer="全国人民代表大会常务委员会")
    service.add_texts(
        "法规库",
        [
            TextItem(
                text="第一章 总则\n第一条 为了证明居住在中华人民共和国境内的公民的身份，制定本法。",
                source="law:idcard",
                meta=meta,
            )
        ],
    )
    hit = guide.resolve_basis("《中华人民共和国居民身份证法》第五条")
    assert (
        hit
        and hit["title"] == "中华人民共和国居民身份证法"
        and hit["url"] == f"/documents/{hit['document_id']}"
    )
    assert guide.resolve_basis("《不存在的条例》第一条") is None


def test_conditions_must_suit_their_field_and_expired_policies_never_match():
    from datetime import date

    from pydantic import ValidationError

    from haoban.apps.guide.policy_match import match_policy
    from haoban.apps.guide.schemas import Condition, EnterpriseProfile, Policy

    for bad in (
        {"field": "revenue", "op": ">=", "value": "500万"},  # a number written as text
        {"field": "industry", "op": "has_any", "value": "制造业"},  # would compare single characters
        {"field": "headcount", "op": "in", "value": ["10"]},
    ):
        with pytest.raises(ValidationError):
            Condition.model_validate(bad)
    policy = Policy(code="P-T", name="测试补贴", conditions=[Condition(field="headcount", op="<=", value=100)],
                    valid_until=date(2025, 12, 31))  # fmt: skip
    profile = EnterpriseProfile(name="某公司", headcount=12)
    assert match_policy(policy, profile, today=date(2025, 6, 1)).eligible
    late = match_policy(policy, profile, today=date(2026, 1, 1))
    assert not late.eligible and "到期" in late.checks[-1].explanation
