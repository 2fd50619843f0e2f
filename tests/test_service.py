"""Knowledge bases, ingestion, re-ingestion, deletion, filters and persistence, on real SQLite and index files."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest

from haoban.errors import Conflict, InvalidInput, NotFound
from haoban.knowledge.schemas import DocumentMeta, SearchFilters
from haoban.knowledge.service import MAX_SEGMENTS, KnowledgeService, TextItem
from haoban.store.models import LexicalSegment


def titles(result) -> list[str]:
    return [h.citation.title for h in result.hits]


def test_kb_lifecycle(service: KnowledgeService):
    info = service.create_kb("政策库", "说明")
    assert info.name == "政策库" and info.document_count == 0
    assert [k.name for k in service.list_kbs()] == ["政策库"]
    assert service.get_kb(info.id).name == "政策库"
    with pytest.raises(Conflict) as e:
        service.create_kb("政策库")
    assert e.value.code == "KB_EXISTS" and "已存在" in e.value.message
    for bad in ["", "  ", "a/b", "x" * 101]:
        with pytest.raises(InvalidInput):
            service.create_kb(bad)
    service.delete_kb("政策库")
    with pytest.raises(NotFound) as e:
        service.get_kb("政策库")
    assert e.value.code == "KB_NOT_FOUND"


def test_folder_ingest_reports_bad_files_and_keeps_going(service: KnowledgeService, corpus_dir: Path):
    (corpus_dir / "坏文件.pdf").write_bytes(b"%PDF-1.4 not really a pdf" + bytes(range(256)))
    (corpus_dir / "空文件.txt").write_bytes(b"")
    (corpus_dir / "子目录").mkdir()
    (corpus_dir / "子目录" / "补充说明.txt").write_text("补充说明：居住证签注可以在网上办理。", encoding="gb18030")
    (corpus_dir / "旧格式.doc").write_bytes(b"\xd0\xcf\x11\xe0 legacy")
    service.create_kb("库")
    report = service.ingest_paths("库", [corpus_dir])

    by_name = {Path(f.source).name: f for f in report.files}
    assert report.added == 6  # five corpus files + the GB18030 file in the sub-folder
    assert by_name["坏文件.pdf"].status == "failed" and by_name["坏文件.pdf"].code == "FILE_CORRUPT"
    assert by_name["空文件.txt"].status == "failed" and by_name["空文件.txt"].code == "FILE_EMPTY"
    assert "旧格式.doc" not in by_name  # folder ingest only picks supported formats
    assert all(f.message for f in report.files if f.status == "failed")
    assert service.get_kb("库").document_count == 6

    # A file given by name with an unsupported format is reported, not skipped silently.
    report = service.ingest_paths("库", [corpus_dir / "旧格式.doc", corpus_dir / "不存在.txt"])
    codes = sorted(f.code for f in report.files)
    assert report.failed == 2 and codes == ["FILE_NOT_FOUND", "UNSUPPORTED_FORMAT"]


def test_search_cites_exact_passage(loaded: KnowledgeService):
    result = loaded.search("居住证签注手续怎么办理", top_k=3)
    assert result.mode == "lexical" and result.hits
    hit = result.hits[0]
    assert hit.citation.title == "某市居住证管理办法"
    assert "签注" in hit.text
    assert "第二章" in hit.citation.heading_path and "第四条" in hit.citation.heading_path
    doc = loaded.get_document(hit.citation.document_id)
    assert doc.text[hit.citation.start : hit.citation.end] == hit.text
    marked = {hit.text[s:e] for s, e in hit.highlights}
    assert "签注" in marked


def test_reingest_unchanged_and_replaced(loaded: KnowledgeService, corpus_dir: Path):
    target = corpus_dir / "垃圾分类条例.txt"
    again = loaded.ingest_paths("测试库", [target])
    assert again.unchanged == 1 and again.added == 0
    doc_id = again.files[0].document_id

    target.write_text(target.read_text(encoding="utf-8").replace("四类", "五类，另设大件垃圾"), encoding="utf-8")
    replaced = loaded.ingest_paths("测试库", [target])
    assert replaced.replaced == 1 and replaced.files[0].document_id == doc_id  # the document keeps its id
    assert loaded.get_kb("测试库").document_count == 5
    hits = loaded.search("大件垃圾", top_k=5).hits
    assert hits and hits[0].citation.document_id == doc_id
    assert not any("分为可回收物、有害垃圾、厨余垃圾和其他垃圾四类" in h.text for h in loaded.search("四类 垃圾", top_k=10).hits)


def test_delete_document_removes_it_from_search(loaded: KnowledgeService):
    hit = loaded.search("住房公积金提取材料", top_k=1).hits[0]
    loaded.delete_document(hit.citation.document_id)
    assert all(h.citation.document_id != hit.citation.document_id for h in loaded.search("住房公积金", top_k=10).hits)
    with pytest.raises(NotFound):
        loaded.get_document(hit.citation.document_id)


def test_filters(service: KnowledgeService):
    service.create_kb("库")
    service.add_texts(
        "库",
        [
            TextItem("关于做好失业保险稳岗返还工作的通知。企业可以申请稳岗返还。", "a", DocumentMeta(title="稳岗返还通知", issuer="人力资源社会保障部", written_date=date(2020, 3, 1), tags=["就业"])),
            TextItem("稳岗返还政策延续实施一年。", "b", DocumentMeta(title="稳岗返还延续", issuer="财政部", written_date=date(2022, 5, 1), tags=["就业", "财税"])),
            TextItem("稳岗返还旧规定，已被新规定替代。", "c", DocumentMeta(title="稳岗返还旧规", issuer="人力资源社会保障部", validity="repealed")),
        ],
    )
    q = "稳岗返还"
    assert sorted(titles(service.search(q))) == ["稳岗返还延续", "稳岗返还通知"]  # repealed hidden by default
    assert len(service.search(q, filters=SearchFilters(validity="all")).hits) == 3
    assert titles(service.search(q, filters=SearchFilters(validity="repealed"))) == ["稳岗返还旧规"]
    assert titles(service.search(q, filters=SearchFilters(issuer="财政部"))) == ["稳岗返还延续"]
    assert titles(service.search(q, filters=SearchFilters(date_from=date(2021, 1, 1)))) == ["稳岗返还延续"]
    assert titles(service.search(q, filters=SearchFilters(date_to=date(2021, 1, 1)))) == ["稳岗返还通知"]
    assert titles(service.search(q, filters=SearchFilters(tags=["财税"]))) == ["稳岗返还延续"]
    assert service.search(q, filters=SearchFilters(issuer="教育部")).hits == []

    # Marking a document repealed takes effect at once, with no re-indexing.
    doc = service.search(q, filters=SearchFilters(issuer="财政部")).hits[0].citation.document_id
    service.update_document(doc, DocumentMeta(validity="repealed"))
    assert titles(service.search(q)) == ["稳岗返还通知"]


def test_search_input_errors(loaded: KnowledgeService):
    for bad in ["", "   "]:
        with pytest.raises(InvalidInput) as e:
            loaded.search(bad)
        assert e.value.code == "QUERY_EMPTY"
    with pytest.raises(InvalidInput):
        loaded.search("查" * 1001)
    with pytest.raises(NotFound):
        loaded.search("居住证", ["没有这个库"])
    # SQL and markup in a query are just text.
    result = loaded.search("'; DROP TABLE documents; -- <script>")
    assert all("DROP" not in h.text for h in result.hits)
    assert loaded.get_kb("测试库").document_count == 5
    assert loaded.search("zzqqxx").hits == []


def test_persistence_across_restart(settings, corpus_dir: Path):
    svc = KnowledgeService(settings, embedder=None)
    svc.create_kb("库")
    svc.ingest_paths("库", [corpus_dir])
    before = [h.chunk_id for h in svc.search("融资担保费率").hits]
    svc.close()
    again = KnowledgeService(settings, embedder=None)
    assert [h.chunk_id for h in again.search("融资担保费率").hits] == before
    assert again.get_kb("库").document_count == 5
    again.close()


def test_many_small_ingests_merge_segments(service: KnowledgeService):
    service.create_kb("库")
    for i in range(MAX_SEGMENTS + 3):
        service.add_texts("库", [TextItem(f"第{i}号文件：关于开展专项检查{i}的通知。检查编号{i}。", f"doc{i}")])
    with service.db.session() as s:
        segments = s.query(LexicalSegment).count()
    assert segments <= MAX_SEGMENTS
    # Every document is still found after merging.
    for i in range(MAX_SEGMENTS + 3):
        assert any(f"检查编号{i}。" in h.text for h in service.search(f"专项检查{i}", top_k=20).hits)


def test_concurrent_search_while_ingesting(service: KnowledgeService, corpus_dir: Path):
    service.create_kb("库")
    service.ingest_paths("库", [corpus_dir])
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                assert service.search("居住证").hits
            except BaseException as exc:  # collected and re-raised in the test thread
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(12):
        service.add_texts("库", [TextItem(f"补充通知{i}：居住证办理时间调整。", f"extra{i}")])
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert service.get_kb("库").document_count == 17


def test_concurrent_readers_in_another_process_see_new_documents(settings, corpus_dir: Path):
    writer = KnowledgeService(settings, embedder=None)
    reader = KnowledgeService(settings, embedder=None)  # stands for a second API worker
    writer.create_kb("库")
    writer.ingest_paths("库", [corpus_dir])
    assert reader.search("居住证").hits
    writer.add_texts("库", [TextItem("关于开展河湖清四乱专项行动的通知。", "new")])
    assert reader.search("清四乱").hits
    writer.close()
    reader.close()


def test_text_limits(service: KnowledgeService, settings):
    service.create_kb("库")
    big = "超长文本。" * (settings.max_text_chars // 5 + 1)
    report = service.add_texts("库", [TextItem(big, "big")])
    assert report.failed == 1 and report.files[0].code == "FILE_TOO_LARGE"
    assert service.get_kb("库").document_count == 0
