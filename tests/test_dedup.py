"""智能查重: sentence-level duplicate check against a corpus (haoban.apps.gongwen.dedup)."""

from __future__ import annotations

import pytest

from haoban.apps.gongwen.dedup import DedupIndex, DedupService, similarity
from haoban.apps.gongwen.dedup.text import checkable_sentences, normalize
from haoban.errors import Forbidden, InvalidInput, NotFound, TextTooLong
from haoban.knowledge.service import TextItem
from haoban.safety.auth import SYSTEM, Actor

DOC_A = """关于加强农村人居环境整治工作的通知
各县（市、区）人民政府，市政府各部门：
为深入推进农村人居环境整治，持续改善农村生产生活条件，现就有关事项通知如下。
一、明确工作目标
到年底，全市农村生活垃圾收运处置体系实现行政村全覆盖，农村卫生厕所普及率达到百分之九十以上。
二、压实工作责任
各县（市、区）要落实属地管理责任，主要负责同志亲自抓，分管负责同志具体抓，确保各项任务按期完成。
特此通知。
"""

DOC_B = """关于做好今冬明春森林防火工作的意见
当前已进入森林防火紧要期，各地要充分认识做好森林防火工作的重要性和紧迫性。
要加强野外火源管控，严禁在林区野外用火，对违规用火行为依法从严查处。
要加强应急值守，严格执行领导带班和二十四小时值班制度，确保信息报送及时准确。
"""

DOC_C = """关于开展全民健身月活动的通知
为贯彻全民健身国家战略，市体育局决定在九月份组织开展全民健身月系列活动。
各社区要结合实际组织群众性体育比赛，广泛吸引居民参与，营造全民健身的浓厚氛围。
"""

FRESH = """今年以来，我区围绕优化营商环境目标，先后出台了十二项便企利民举措。
下一步，区政务服务中心将推行周末延时服务，方便上班族办理户籍和社保业务。
请各街道于下月十日前报送本辖区重点企业名单，逾期未报的视为无新增需求。
"""


@pytest.fixture
def index(tmp_path) -> DedupIndex:
    idx = DedupIndex(tmp_path / "corpus")
    idx.add("a", "农村人居环境整治通知", DOC_A, {"doc_number": "某政发〔2024〕3号"})
    idx.add("b", "森林防火意见", DOC_B)
    idx.add("c", "全民健身月通知", DOC_C)
    return idx


def _span_of(doc: str, sentence: str) -> tuple[int, int]:
    start = doc.index(sentence)
    return start, start + len(sentence)


def test_normalize_ignores_width_punctuation_and_space():
    assert normalize("各县（市、区）要落实ＡＢＣ１２３ 责任。") == normalize("各县(市,区)要落实abc123责任")
    assert normalize("國務院") == "国务院"


def test_sentences_skip_short_and_boilerplate():
    sents, skipped = checkable_sentences("特此通知。\n好的。\n要加强野外火源管控，严禁在林区野外用火。")
    assert [s.norm for s in sents] == [normalize("要加强野外火源管控，严禁在林区野外用火。")]
    assert skipped == 2
    assert sents[0].paragraph == 2


def test_exact_copy_found_with_source_and_span(index: DedupIndex):
    copied = "要加强野外火源管控，严禁在林区野外用火，对违规用火行为依法从严查处。"
    draft = f"关于秋季安全生产的通知\n{FRESH.splitlines()[0]}\n{copied}\n"
    report = index.check(draft)
    assert len(report.duplicated_sentences) == 1
    dup = report.duplicated_sentences[0]
    assert draft[dup.start : dup.end] == copied and dup.paragraph_index == 2
    src = dup.sources[0]
    assert (src.doc_id, src.title, src.similarity) == ("b", "森林防火意见", 1.0)
    assert (src.start, src.end) == _span_of(DOC_B, copied)
    assert DOC_B[src.start : src.end] == src.text
    assert src.paragraph_index == 2
    non_space = sum(1 for c in draft if not c.isspace())
    assert report.duplicate_ratio == pytest.approx(len(copied) / non_space, abs=1e-3)
    assert report.checked_sentences == 3 and report.corpus_documents == 3


def test_near_duplicates_found(index: DedupIndex):
    original = (
        "各县（市、区）要落实属地管理责任，主要负责同志亲自抓，分管负责同志具体抓，确保各项任务按期完成。"
    )
    edited = [
        "各县(市,区)要落实属地管理责任;主要负责同志亲自抓;分管负责同志具体抓;确保各项任务按期完成。",  # punctuation
        "各县（市、区）要切实落实属地管理责任，主要负责同志亲自抓，分管同志具体抓，确保各项任务如期完成。",  # edits
        "各乡镇要落实属地管理责任，主要负责同志亲自抓，分管负责同志具体抓，确保全年各项任务按期完成。",  # words
    ]
    for text in edited:
        report = index.check(text)
        assert len(report.duplicated_sentences) == 1, text
        dup = report.duplicated_sentences[0]
        assert 0.7 <= dup.similarity <= 1.0
        assert dup.sources[0].doc_id == "a"
        assert (dup.sources[0].start, dup.sources[0].end) == _span_of(DOC_A, original)
        assert dup.sources[0].meta["doc_number"] == "某政发〔2024〕3号"


def test_fresh_text_not_flagged(index: DedupIndex):
    report = index.check(FRESH)
    assert report.checked_sentences == 3
    assert report.duplicated_sentences == [] and report.duplicate_ratio == 0.0


def test_threshold_and_exclude(index: DedupIndex):
    text = "各乡镇要落实属地管理责任，主要负责同志亲自抓，分管负责同志具体抓，确保全年各项任务按期完成。"
    assert index.check(text, threshold=0.99).duplicated_sentences == []
    assert index.check(text, exclude_doc_ids=["a"]).duplicated_sentences == []


def test_similarity_scale():
    a = normalize("各县要落实属地管理责任，主要负责同志亲自抓，确保各项任务按期完成。")
    assert similarity(a, a) == 1.0
    assert similarity(a, normalize("请各街道于下月十日前报送本辖区重点企业名单。")) < 0.4


def test_shared_sentence_lists_several_sources(tmp_path):
    idx = DedupIndex(tmp_path / "shared")
    shared = "要加强应急值守，严格执行领导带班和二十四小时值班制度，确保信息报送及时准确。"
    idx.add("x1", "甲", f"第一份文件的开头说明了背景情况和主要目的。\n{shared}")
    idx.add("x2", "乙", f"{shared}\n第二份文件另外强调了督查问责的具体办法。")
    dup = idx.check(shared).duplicated_sentences[0]
    assert [s.doc_id for s in dup.sources] == ["x1", "x2"]
    assert [s.paragraph_index for s in dup.sources] == [1, 0]


def test_remove_and_replace(index: DedupIndex):
    copied = "各社区要结合实际组织群众性体育比赛，广泛吸引居民参与，营造全民健身的浓厚氛围。"
    assert index.check(copied).duplicated_sentences
    assert index.remove("c") is True
    assert index.remove("c") is False
    assert index.check(copied).duplicated_sentences == []
    assert len(index) == 2
    # Re-adding the same id replaces the document.
    index.add("b", "森林防火意见（修订）", DOC_C)
    report = index.check(copied)
    assert [s.doc_id for s in report.duplicated_sentences[0].sources] == ["b"]
    assert (
        index.check(
            "要加强野外火源管控，严禁在林区野外用火，对违规用火行为依法从严查处。"
        ).duplicated_sentences
        == []
    )


def test_persistence_across_reopen(index: DedupIndex, tmp_path):
    index.close()
    again = DedupIndex(tmp_path / "corpus")
    assert len(again) == 3
    report = again.check("当前已进入森林防火紧要期，各地要充分认识做好森林防火工作的重要性和紧迫性。")
    assert report.duplicated_sentences[0].sources[0].doc_id == "b"
    # A second open instance (another process, in effect) sees the first one's writes.
    index.add("d", "新增", "新增的文件要求各单位建立健全安全生产责任制，层层签订责任书。")
    assert again.check("各单位建立健全安全生产责任制，层层签订责任书。").duplicated_sentences


def test_segments_merge_and_rebuild(tmp_path):
    idx = DedupIndex(tmp_path / "m")
    for i in range(10):  # one segment per add; tiers merge them
        idx.add(f"d{i}", f"文{i}", f"第{i}号文件规定，各单位应当在每季度第一个月报送第{i}类统计数据。")
    assert idx.stats().segments < 10
    for i in range(8):
        idx.remove(f"d{i}")
    stats = idx.stats()
    assert stats.documents == 2 and stats.lsh_entries <= 2 * 16 * 3  # dead entries compacted away
    idx.rebuild()
    assert idx.stats().segments == 1
    hit = idx.check("第9号文件规定，各单位应当在每季度第一个月报送第9类统计数据。").duplicated_sentences
    assert hit[0].sources[0].doc_id == "d9"


@pytest.mark.parametrize(
    ("text", "error", "code"),
    [
        ("", InvalidInput, "DEDUP_EMPTY_TEXT"),
        ("   \n\t ", InvalidInput, "DEDUP_EMPTY_TEXT"),
        ("字" * 100_001, TextTooLong, "DEDUP_TEXT_TOO_LONG"),
        ("\x00\x01\x02\x03garbage\x04\x05\x06", InvalidInput, "DEDUP_TEXT_GARBAGE"),
        ("only latin letters here, no Chinese at all.", InvalidInput, "DEDUP_TEXT_GARBAGE"),
    ],
)
def test_bad_input(index: DedupIndex, text, error, code):
    with pytest.raises(error) as exc:
        index.check(text)
    assert exc.value.code == code
    assert any("\u4e00" <= c <= "\u9fff" for c in exc.value.message)


def test_short_text_gets_notice(index: DedupIndex):
    report = index.check("特此通知。")
    assert report.checked_sentences == 0 and report.notice and "8 个汉字" in report.notice


def test_bad_threshold(index: DedupIndex):
    with pytest.raises(InvalidInput):
        index.check(FRESH, threshold=1.5)


# ---- the service: corpora, knowledge-base sync, permissions -----------------------------------------

CLERK_B = Actor("u-b", "乙市业务员", "user", frozenset({"staff"}), "d-b", "/四川省/乙市")
CLERK_A = Actor("u-a", "甲市业务员", "user", frozenset({"staff"}), "d-a", "/四川省/甲市")
VIEWER = Actor("u-v", "只读", "user", frozenset({"viewer"}), "d-a", "/四川省/甲市")


@pytest.fixture
def dedup(service):
    service.users.create_department("四川省", actor=SYSTEM)
    service.users.create_department("甲市", "/四川省", actor=SYSTEM)
    service.users.create_department("乙市", "/四川省", actor=SYSTEM)
    service.create_kb("甲市公文库", visibility="restricted", department="/四川省/甲市")
    service.add_texts(
        "甲市公文库", [TextItem(text=DOC_A, source="a.txt"), TextItem(text=DOC_B, source="b.txt")]
    )
    svc = DedupService(service)
    yield svc
    svc.close()


def test_kb_corpus_sync_is_incremental(dedup, service):
    copied = "当前已进入森林防火紧要期，各地要充分认识做好森林防火工作的重要性和紧迫性。"
    report = dedup.check(copied, corpus="kb:甲市公文库", actor=CLERK_A)
    src = report.duplicated_sentences[0].sources[0]
    assert src.title and src.meta["kb_id"] and report.corpus_documents == 2
    assert (dedup.root / f"kb-{src.meta['kb_id']}" / "index.sqlite").is_file()
    again = dedup.sync_kb("甲市公文库", actor=CLERK_A)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 2)
    service.add_texts("甲市公文库", [TextItem(text=DOC_C, source="c.txt")])
    doc_b = next(d for d in service.list_documents("甲市公文库")[1] if d.source == "b.txt")
    service.delete_document(doc_b.id)
    sync = dedup.sync_kb("甲市公文库", actor=CLERK_A)
    assert (sync.added, sync.removed, sync.unchanged) == (1, 1, 1)
    assert dedup.check(copied, corpus="kb:甲市公文库", actor=CLERK_A).duplicated_sentences == []


def test_unreadable_kb_is_refused(dedup):
    with pytest.raises(NotFound):
        dedup.check(DOC_A, corpus="kb:甲市公文库", actor=CLERK_B)
    with pytest.raises(NotFound):
        dedup.sync_kb("甲市公文库", actor=CLERK_B)
    with pytest.raises(Forbidden):  # a viewer may read the base but not use the 公文 tools
        dedup.check(DOC_A, corpus="kb:甲市公文库", actor=VIEWER)


def test_unknown_corpus(dedup):
    with pytest.raises(NotFound) as exc:
        dedup.check(DOC_A, corpus="no-such")
    assert exc.value.code == "DEDUP_CORPUS_NOT_FOUND"
    with pytest.raises(NotFound):
        dedup.check(DOC_A, corpus="kb:不存在的库")


def test_archive_sources_limited_to_department_branch(dedup):
    dedup.register("arch-a", "甲市存档", DOC_A, actor=CLERK_A)
    dedup.register("arch-c", "全省通用", DOC_C, {"department": None}, actor=SYSTEM)
    copied_a = "到年底，全市农村生活垃圾收运处置体系实现行政村全覆盖，农村卫生厕所普及率达到百分之九十以上。"
    copied_c = "为贯彻全民健身国家战略，市体育局决定在九月份组织开展全民健身月系列活动。"
    assert dedup.check(copied_a, actor=CLERK_A).duplicated_sentences
    assert dedup.check(copied_a, actor=CLERK_B).duplicated_sentences == []  # another city's archive
    assert dedup.check(copied_c, actor=CLERK_B).duplicated_sentences  # platform-wide
    with pytest.raises(NotFound):
        dedup.unregister("arch-a", actor=CLERK_B)
    dedup.unregister("arch-a", actor=CLERK_A)
    assert dedup.check(copied_a, actor=CLERK_A).duplicated_sentences == []
