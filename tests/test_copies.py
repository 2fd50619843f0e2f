"""Copies of one text (a notice and its reposts) are shown once in search results, the others listed under it."""

from __future__ import annotations

import httpx
import numpy as np
from sqlalchemy import update

from conftest import admin_key, auth_headers
from haoban.knowledge import copies
from haoban.knowledge.service import KnowledgeService, TextItem
from haoban.safety.auth import SYSTEM
from haoban.store.models import Document
from server import running_server

NOTICE = """关于做好春季农业生产资料供应保障工作的通知
各市（州）农业农村局：
为确保春耕生产顺利进行，现就做好农业生产资料供应保障工作通知如下。
一、加强化肥、种子、农药的调度，各地要在3月15日前摸清本地农资库存和需求，建立缺口清单，逐日调度。
二、畅通农资运输渠道，运输农资的车辆纳入绿色通道，不得设卡拦截、不得收取通行费用。
三、加大对农资经营企业的金融支持，对受疫情影响暂时困难的企业，不得抽贷、断贷、压贷，贷款期限可延长6个月。
四、严格市场监管，严厉打击制售假劣农资、哄抬价格等违法行为，投诉举报电话12316。
五、各地要于每周五前将农资供应情况报送省农业农村厅种植业处。
特此通知。
省农业农村厅
2020年2月20日"""

# The same notice reposted by a city: a forwarding line on top, other spacing, full-width digits.
REPOST = "转发省农业农村厅关于做好春季农业生产资料供应保障工作的通知\n\n" + NOTICE.replace("\n", "\n　　").replace(
    "3月15日", "３月１５日"
)

# Same template, different content: a fifth of the text differs, so it is not a copy.
OTHER = """关于做好春季动物防疫物资供应保障工作的通知
各市（州）农业农村局：
为确保春季动物防疫工作顺利进行，现就做好防疫物资供应保障工作通知如下。
一、加强疫苗、消毒药品和防护用品的调度，各地要在3月10日前摸清本地疫苗库存和需求，建立缺口清单，逐日调度。
二、畅通防疫物资运输渠道，运输疫苗的冷链车辆纳入绿色通道，不得设卡拦截、不得收取通行费用。
三、组织开展春季集中免疫，对规模养殖场实行程序化免疫，对散养户实行集中免疫与定期补免相结合。
四、严格市场监管，严厉打击制售假劣兽药、哄抬价格等违法行为，投诉举报电话12316。
五、各地要于每周五前将春防进展情况报送省农业农村厅畜牧兽医处。
特此通知。
省农业农村厅
2020年2月21日"""


def _estimate(a: str, b: str) -> float:
    sa, sb = (copies.decode(x) for x in copies.signatures([a, b]))
    return float(np.mean(sa == sb))


def test_signatures_see_through_layout_and_tell_templates_apart():
    assert _estimate(NOTICE, NOTICE.replace("。", ". ").replace("\n", "  ")) == 1.0  # punctuation and spacing
    assert _estimate(NOTICE, REPOST) >= copies.COPY_JACCARD
    assert _estimate(NOTICE, OTHER) < 0.75
    assert copies.signatures([]) == []
    # A text with no letters or digits still gets a signature (it is hashed as it is).
    assert len(copies.signatures(["——……"])[0]) == 4 * copies.SIGNATURE_HASHES


def _base(service: KnowledgeService) -> None:
    service.create_kb("政策库")
    service.add_texts(
        "政策库",
        [TextItem(text=NOTICE, source="省厅原文"), TextItem(text=REPOST, source="市局转发"), TextItem(text=OTHER, source="动物防疫")],
    )


def test_search_shows_one_copy_and_lists_the_others(service: KnowledgeService):
    _base(service)
    docs = {d.source: d.id for d in service.list_documents("政策库")[1]}
    result = service.search("农资运输车辆绿色通道", ["政策库"], mode="lexical")
    shown = [h.citation.document_id for h in result.hits]
    assert len({docs["省厅原文"], docs["市局转发"]} & set(shown)) == 1, "only one of the two copies is shown"
    first = next(h for h in result.hits if h.citation.document_id in (docs["省厅原文"], docs["市局转发"]))
    other_copy = ({docs["省厅原文"], docs["市局转发"]} - {first.citation.document_id}).pop()
    assert [c.document_id for c in first.copies] == [other_copy]
    assert first.copies[0].title  # titles come with the reference
    assert 0.9 <= first.copies[0].similarity < 1.0  # a repost under another header: not the very same text
    # The template sibling is a different text: shown on its own, never listed as a copy.
    assert docs["动物防疫"] in shown
    assert all(docs["动物防疫"] not in [c.document_id for c in h.copies] for h in result.hits)

    unfolded = service.search("农资运输车辆绿色通道", ["政策库"], mode="lexical", fold_copies=False)
    assert {docs["省厅原文"], docs["市局转发"]} <= {h.citation.document_id for h in unfolded.hits}
    assert all(not h.copies for h in unfolded.hits)


def test_top_k_counts_shown_documents_after_folding(service: KnowledgeService):
    _base(service)
    hits = service.search("农业农村厅 通知", ["政策库"], mode="lexical", top_k=2).hits
    assert len(hits) == 2
    assert len({h.citation.document_id for h in hits}) == 2  # the folded copy did not take a slot


def test_documents_ingested_before_signatures_are_still_folded(settings):
    svc = KnowledgeService(settings, embedder=None)
    _base(svc)
    with svc.db.session() as s:
        s.execute(update(Document).values(signature=None))  # as the 0010 migration leaves older rows
    svc.close()
    fresh = KnowledgeService(settings, embedder=None)
    try:
        hits = fresh.search("农资运输车辆绿色通道", ["政策库"], mode="lexical").hits
        assert any(h.copies for h in hits)
    finally:
        fresh.close()


def test_replacing_a_copy_with_new_text_unfolds_it(service: KnowledgeService):
    _base(service)
    assert any(h.copies for h in service.search("农资运输车辆绿色通道", ["政策库"], mode="lexical").hits)
    flood = "关于做好汛前检查的通知\n各区县水务局：请于5月底前完成堤防、水库和排涝泵站的汛前检查，发现隐患立即整改，整改情况报市防汛办。"
    service.add_texts("政策库", [TextItem(text=flood, source="市局转发")])
    hits = service.search("农资运输车辆绿色通道", ["政策库"], mode="lexical").hits
    assert not any(h.copies for h in hits)


def test_a_copy_in_a_base_the_reader_cannot_see_is_not_listed(service: KnowledgeService):
    users = service.users
    users.create_department("农业农村厅", actor=SYSTEM)
    users.create_department("种植业处", "/农业农村厅", actor=SYSTEM)
    users.create_department("办公室", "/农业农村厅", actor=SYSTEM)
    users.create_user("clerk", "Passw0rd!2026", ["staff"], "/农业农村厅/办公室", actor=SYSTEM)
    service.create_kb("公开库", visibility="public")
    service.create_kb("处内库", visibility="restricted", department="/农业农村厅/种植业处")
    service.add_texts("公开库", [TextItem(text=NOTICE, source="a")])
    service.add_texts("处内库", [TextItem(text=REPOST, source="b")])
    clerk = users.login("clerk", "Passw0rd!2026")[0]
    hits = service.search("农资运输车辆绿色通道", actor=clerk, mode="lexical").hits
    assert hits and all(h.kb_id == service.get_kb("公开库").id and not h.copies for h in hits)
    # The administrator reads both bases: one document shown, the other base's copy listed under its hits.
    both = service.search("农资运输车辆绿色通道", mode="lexical").hits
    assert len({h.citation.document_id for h in both}) == 1 and all(len(h.copies) == 1 for h in both)


def test_api_returns_copies_and_can_keep_them_apart(settings):
    svc = KnowledgeService(settings, embedder=None)
    _base(svc)
    svc.close()
    with (
        running_server(settings) as base,
        httpx.Client(base_url=base, timeout=60, headers=auth_headers(admin_key(settings))) as api,
    ):
        params = {"q": "农资运输车辆绿色通道", "kb": "政策库", "mode": "lexical"}
        folded = api.get("/api/search", params=params).json()["hits"]
        assert any(h["copies"] for h in folded)
        apart = api.get("/api/search", params={**params, "fold_copies": "false"}).json()["hits"]
        assert len({h["citation"]["document_id"] for h in apart}) == len({h["citation"]["document_id"] for h in folded}) + 1
        posted = api.post("/api/search", json={"query": params["q"], "kbs": ["政策库"], "mode": "lexical"}).json()
        assert [h["copies"] for h in posted["hits"]] == [h["copies"] for h in folded]


def test_fold_puts_every_copy_under_the_best_ranked_one():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2**32, size=copies.SIGNATURE_HASHES, dtype=np.uint64).astype(np.uint32)
    near = base.copy()
    near[:6] += 1  # 95% of the hashes agree
    far = base.copy()
    far[:40] += 1  # 69%: a different text
    sigs = {"a": base, "b": near, "c": base.copy(), "d": far}
    ranked = [("a1", 1), ("d1", 1), ("b1", 1), ("a2", 1), ("c1", 1), ("x1", 1)]  # x has no signature
    doc_of = {"a1": "a", "a2": "a", "b1": "b", "c1": "c", "d1": "d", "x1": "x"}
    top, found = copies.fold(ranked, doc_of, lambda docs: {d: sigs[d] for d in docs if d in sigs}, top_k=3)
    assert top == [("a1", 1), ("d1", 1), ("a2", 1)]  # three shown entries: the copies took no slot
    assert found == {"a": [("b", 1 - 6 / 128), ("c", 1.0)]}  # with the estimated Jaccard to the shown copy
    top, found = copies.fold(ranked, doc_of, lambda docs: {d: sigs[d] for d in docs if d in sigs}, top_k=10)
    assert [c for c, _ in top] == ["a1", "d1", "a2", "x1"] and [d for d, _ in found["a"]] == ["b", "c"]
