"""The 公文库: saved documents with versions, scoped to the author's department, audited."""

from __future__ import annotations

import pytest

from haoban.apps.gongwen.service import GongwenService
from haoban.errors import EmptyFile, Forbidden, InvalidInput, NotFound
from haoban.safety.auth import SYSTEM

PASSWORD = "pass-word-1"
V1 = "××市人民政府关于做好防汛工作的通知\n各区人民政府：\n为做好防汛工作，现通知如下。\n一、压实责任\n特此通知。\n××市人民政府\n2025年5月6日"
V2 = V1.replace("一、压实责任", "一、压实责任\n二、加强值守")


@pytest.fixture
def world(service):
    u = service.users
    u.create_department("某省", actor=SYSTEM)
    u.create_department("甲市", "/某省", actor=SYSTEM)
    u.create_department("乙市", "/某省", actor=SYSTEM)
    u.create_user("clerk_a", PASSWORD, ["staff"], "/某省/甲市", actor=SYSTEM)
    u.create_user("clerk_b", PASSWORD, ["staff"], "/某省/乙市", actor=SYSTEM)
    u.create_user("boss", PASSWORD, ["staff"], "/某省", actor=SYSTEM)
    u.create_user("viewer", PASSWORD, ["viewer"], "/某省/甲市", actor=SYSTEM)
    actors = {name: u.login(name, PASSWORD)[0] for name in ("clerk_a", "clerk_b", "boss", "viewer")}
    return GongwenService(service), actors


def test_versions_are_kept(world):
    gw, who = world
    first = gw.save(V1, actor=who["clerk_a"])
    assert first.title == "××市人民政府关于做好防汛工作的通知" and first.doc_type == "通知" and first.version == 1
    second = gw.save(V2, doc_id=first.id, note="增加值守要求", actor=who["clerk_a"])
    assert second.id == first.id and second.version == 2
    assert [(v.number, v.note) for v in second.versions] == [(1, ""), (2, "增加值守要求")]
    assert gw.get_document(first.id, version=1, actor=who["clerk_a"]).text == V1
    assert gw.get_document(first.id, actor=who["clerk_a"]).text == V2
    with pytest.raises(NotFound):
        gw.get_document(first.id, version=3, actor=who["clerk_a"])


def test_department_scope(world):
    gw, who = world
    doc = gw.save(V1, actor=who["clerk_a"])
    # The province above sees it; the sibling city does not even learn that it exists.
    assert [d.id for d in gw.list_documents(actor=who["boss"])] == [doc.id]
    assert gw.list_documents(actor=who["clerk_b"]) == []
    with pytest.raises(NotFound):
        gw.get_document(doc.id, actor=who["clerk_b"])
    with pytest.raises(NotFound):
        gw.save(V2, doc_id=doc.id, actor=who["clerk_b"])
    with pytest.raises(NotFound):
        gw.delete_document(doc.id, actor=who["clerk_b"])
    with pytest.raises(Forbidden):  # a read-only user has no 公文 tools at all
        gw.list_documents(actor=who["viewer"])
    gw.delete_document(doc.id, actor=who["boss"])
    assert gw.list_documents(actor=who["clerk_a"]) == []


def test_audited(world, service):
    gw, who = world
    doc = gw.save(V1, actor=who["clerk_a"])
    gw.get_document(doc.id, actor=who["clerk_a"])
    entries = service.audit.list(resource_type="gongwen", limit=20)[1]
    assert [e.action for e in entries] == ["gongwen.read", "gongwen.save"]
    assert {e.actor_name for e in entries} == {"clerk_a"}
    assert service.audit.verify().ok


def test_bad_input(world):
    gw, who = world
    with pytest.raises(EmptyFile):
        gw.save("  \n ", actor=who["clerk_a"])
    with pytest.raises(InvalidInput):
        gw.save("字" * 600_000, actor=who["clerk_a"])
    with pytest.raises(NotFound):
        gw.get_document("nope", actor=who["clerk_a"])


def test_saved_documents_are_the_dedup_corpus(world):
    gw, who = world
    doc = gw.save(V1, actor=who["clerk_a"])
    draft = "为做好防汛工作，现通知如下。各区要落实行政首长负责制，层层压实防汛责任。"
    report = gw.dedup(draft, actor=who["clerk_a"])
    assert report.duplicated_sentences and report.duplicated_sentences[0].sources[0].doc_id == doc.id
    assert gw.dedup(draft, exclude=[doc.id], actor=who["clerk_a"]).duplicated_sentences == []
    # Another city's clerk is not shown this city's documents as sources.
    assert gw.dedup(draft, actor=who["clerk_b"]).duplicated_sentences == []
    gw.delete_document(doc.id, actor=who["clerk_a"])
    assert gw.dedup(draft, actor=who["clerk_a"]).duplicated_sentences == []


def test_dedup_against_a_knowledge_base(world, service):
    from haoban.knowledge.service import TextItem

    gw, who = world
    service.create_kb("政策库")
    service.add_texts("政策库", [TextItem(text="各地区要加强汛期值班值守，严格执行领导带班和二十四小时值班制度。", source="p1")])
    report = gw.dedup("请各区加强汛期值班值守，严格执行领导带班和二十四小时值班制度。", corpus="政策库", actor=who["clerk_a"])
    assert report.duplicated_sentences[0].sources[0].title
