"""Lexical ranking details: character bigrams next to words, and how a question becomes search terms."""

from __future__ import annotations

from haoban.knowledge.prepare import index_tokens
from haoban.knowledge.service import KnowledgeService, TextItem
from haoban.text.segment import BIGRAM_MARK, char_bigrams, query_tokens, tokenize


def test_char_bigrams_cover_chinese_runs_only():
    assert char_bigrams("北京市，ABC 食堂") == ["#北京", "#京市", "#食堂"]
    assert char_bigrams("一") == [] and char_bigrams("2020 abc") == []
    assert all(b.startswith(BIGRAM_MARK) for b in char_bigrams("新冠肺炎疫情防控"))


def test_query_tokens_drop_question_words_and_do_not_bridge_them():
    words, bigrams = query_tokens("如何申请失业保险金？需要哪些材料")
    assert "如何" not in words and "哪些" not in words and "需要" not in words
    assert "申请" in words and "材料" in words
    # A bigram never spans a removed word or punctuation: nothing like "何申", "金需" or "些材".
    assert not {"#何申", "#金需", "#些材", "#如何"} & set(bigrams)
    assert "#材料" in bigrams and "#申请" in bigrams


def test_query_words_are_plain_segmentation():
    # Search mode would add 京市 for 北京市; a query keeps the plain words (bigrams cover the parts).
    words, _ = query_tokens("北京市学校食堂")
    assert "京市" not in words and "京市" in tokenize("北京市学校食堂")


def test_index_tokens_hold_words_and_bigrams():
    toks = index_tokens(["标题"], "第一章", "企业复工复产")
    assert toks[0] == "标题" and "复工" in toks and "#工复" in toks and "#一章" in toks


def test_bigrams_find_a_passage_jieba_segments_differently(service: KnowledgeService):
    service.create_kb("库")
    service.add_texts(
        "库",
        [
            TextItem(text="关于小微企业所得税减半征收的通知\n对小型微利企业年应纳税所得额不超过100万元的部分减半征收。", source="a"),
            TextItem(text="关于做好春季农业生产的通知\n各地要抓好春耕备耕，保障农资供应。", source="b"),
            TextItem(text="关于企业职工培训补贴的通知\n企业开展以工代训的，按每人每月500元给予补贴。", source="c"),
        ],
    )
    # "微利企业" is no dictionary word in the question's segmentation; its bigrams still meet the passage.
    hits = service.search("小型微利企业所得税怎么减免", ["库"], mode="lexical").hits
    assert hits and hits[0].citation.title.startswith("关于小微企业所得税")
    # Highlights still mark whole words of the question in the passage.
    assert hits[0].highlights


OLD_FORMAT_TEXTS = [
    TextItem(text="关于小微企业所得税减半征收的通知\n对小型微利企业年应纳税所得额不超过100万元的部分减半征收。", source="a"),
    TextItem(text="关于做好春季农业生产的通知\n各地要抓好春耕备耕，保障农资供应。", source="b"),
    TextItem(text="关于企业职工培训补贴的通知\n企业开展以工代训的，按每人每月500元给予补贴。", source="c"),
]


def _old_format_base(settings) -> str:
    """A base as an older version wrote it: tokens without bigrams, one segment without a format (format 1)."""
    import json

    import bm25s
    from sqlalchemy import select

    from haoban.knowledge.index import SEGMENT_IDS
    from haoban.store.models import Chunk, LexicalSegment

    svc = KnowledgeService(settings, embedder=None)
    try:
        svc.create_kb("库", visibility="public")
        svc.add_texts("库", OLD_FORMAT_TEXTS)
        kb_id = svc.kb_id("库")
        with svc.db.session() as s:
            (seg_id,) = s.scalars(select(LexicalSegment.id).where(LexicalSegment.kb_id == kb_id)).all()
            rows = s.execute(select(Chunk.id, Chunk.document_id, Chunk.tokens).where(Chunk.segment_id == seg_id)).all()
            for cid, _doc, tokens in rows:
                s.get(Chunk, cid).tokens = " ".join(t for t in tokens.split() if not t.startswith(BIGRAM_MARK))
        seg_dir = svc._kb_dir(kb_id) / seg_id
        model = bm25s.BM25()
        model.index([[t for t in r[2].split() if not t.startswith(BIGRAM_MARK)] for r in rows], show_progress=False)
        model.save(str(seg_dir), show_progress=False)
        ids = {"chunk_ids": [r[0] for r in rows], "doc_ids": [r[1] for r in rows]}
        (seg_dir / SEGMENT_IDS).write_text(json.dumps(ids), encoding="utf-8")
        return kb_id
    finally:
        svc.close()


def _tokenising(monkeypatch, gate=None, fail_after=None) -> list[int]:
    """Count (and optionally hold or break) the rebuild's tokenising of chunks, done in this process for that."""
    from haoban.knowledge import prepare, retokenise
    from haoban.knowledge import service as service_module

    real = prepare.index_tokens
    calls: list[int] = []

    def counted(*args):
        if gate is not None:
            assert gate.wait(30)
        if fail_after is not None and len(calls) >= fail_after:
            raise RuntimeError("模拟进程在重建中途退出")
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(service_module, "UPGRADE_IN_SUBPROCESS", False)
    monkeypatch.setattr(retokenise, "index_tokens", counted)
    return calls


def test_older_format_index_is_rebuilt_in_the_background_while_search_goes_on(settings, monkeypatch):
    """A base indexed before character bigrams existed gets them from a background rebuild; searches meanwhile
    use the old segment (and say so), progress is reported, and the rebuilt segment is swapped in."""
    import threading

    import httpx
    from sqlalchemy import select

    from haoban.knowledge.index import LEXICAL_FORMAT
    from haoban.store.models import Chunk
    from server import running_server

    kb_id = _old_format_base(settings)
    gate = threading.Event()
    calls = _tokenising(monkeypatch, gate=gate)
    svc = KnowledgeService(settings, embedder=None)
    try:
        with running_server(settings, svc) as base, httpx.Client(base_url=base, timeout=30) as client:
            res = client.post("/api/search", json={"query": "小型微利企业所得税怎么减免", "kbs": ["库"], "mode": "lexical"}).json()
            assert res["hits"] and res["hits"][0]["citation"]["title"].startswith("关于小微企业所得税")
            assert "关键词索引正在后台升级" in res["notice"]
            progress = client.get(f"/api/kbs/{kb_id}/index-upgrade").json()
            assert progress["outdated"] and progress["running"] and progress["total"] == 3 and progress["done"] == 0
            assert [seg.format for seg in svc.view(kb_id).segments] == [1]  # still the old segment

            gate.set()
            assert svc.wait_for_index_upgrades(30)
            progress = client.get(f"/api/kbs/{kb_id}/index-upgrade").json()
            assert progress == {"kb_id": kb_id, "outdated": False, "running": False, "done": 3, "total": 3, "error": None}
            res = client.post("/api/search", json={"query": "小型微利企业所得税怎么减免", "kbs": ["库"], "mode": "lexical"}).json()
            assert res["hits"][0]["citation"]["title"].startswith("关于小微企业所得税") and res["notice"] is None
        view = svc.view(kb_id)
        assert [seg.format for seg in view.segments] == [LEXICAL_FORMAT] and not view.outdated
        assert any(t.startswith(BIGRAM_MARK) for t in view.segments[0].bm25.vocab_dict)
        with svc.db.session() as s:
            assert all(BIGRAM_MARK in t for t in s.scalars(select(Chunk.tokens).where(Chunk.kb_id == kb_id)))
        assert len(calls) == 3
    finally:
        gate.set()
        svc.close()


def test_upgrade_progress_reads_segment_formats_without_loading_the_index(settings, monkeypatch):
    """The console asks on every visit of a base's page: a current index is not loaded just to answer, an
    older one is found from its files and its rebuild started."""
    gate = __import__("threading").Event()
    _tokenising(monkeypatch, gate=gate)
    svc = KnowledgeService(settings, embedder=None)
    try:
        svc.create_kb("新库", visibility="public")
        svc.add_texts("新库", OLD_FORMAT_TEXTS)
        new_id = svc.kb_id("新库")
        svc._views.clear()
        progress = svc.index_upgrade_progress("新库")
        assert not progress.outdated and not progress.running and new_id not in svc._views
    finally:
        svc.close()

    old_id = _old_format_base(settings)
    svc = KnowledgeService(settings, embedder=None)
    try:
        progress = svc.index_upgrade_progress("库")
        assert progress.outdated and progress.running
        gate.set()
        assert svc.wait_for_index_upgrades(30)
        assert not svc.index_upgrade_progress("库").outdated and not svc.view(old_id).outdated
    finally:
        gate.set()
        svc.close()


def test_an_interrupted_rebuild_leaves_the_old_index_usable_and_resumes(settings, monkeypatch):
    from haoban.knowledge import service as service_module
    from haoban.knowledge.index import LEXICAL_FORMAT

    kb_id = _old_format_base(settings)
    monkeypatch.setattr(service_module, "UPGRADE_BATCH", 1)  # a transaction per chunk: the first one is kept
    _tokenising(monkeypatch, fail_after=1)
    svc = KnowledgeService(settings, embedder=None)
    try:
        svc.view(kb_id)
        svc.wait_for_index_upgrades(30)
        progress = svc.index_upgrade_progress("库")
        assert progress.outdated and not progress.running and progress.done == 1 and "模拟" in progress.error
        # The old segment still answers, and the failed rebuild is not retried on every search.
        res = svc.search("企业职工培训补贴", ["库"], mode="lexical")
        assert res.hits and "关键词索引正在后台升级" in res.notice
        assert not svc.index_upgrade_progress("库").running
    finally:
        svc.close()

    calls = _tokenising(monkeypatch)  # after a restart: works again
    svc = KnowledgeService(settings, embedder=None)
    try:
        assert svc.view(kb_id).outdated
        assert svc.wait_for_index_upgrades(30)
        assert len(calls) == 2  # the chunk done before the interruption is not tokenised again
        assert [seg.format for seg in svc.view(kb_id).segments] == [LEXICAL_FORMAT]
        assert svc.search("小型微利企业所得税怎么减免", ["库"], mode="lexical").notice is None
    finally:
        svc.close()


def test_a_merge_keeps_the_oldest_format_of_its_segments(settings, monkeypatch):
    """Compaction while a rebuild is pending must not label old tokens as the new format. The rebuild here
    runs as in production: tokenising in a child process."""
    from haoban.knowledge.index import LEXICAL_FORMAT
    from haoban.knowledge.retokenise import TokeniserProcess

    answered: list[int] = []
    real_call = TokeniserProcess.__call__
    monkeypatch.setattr(TokeniserProcess, "__call__", lambda self, items: answered.append(len(items)) or real_call(self, items))

    kb_id = _old_format_base(settings)
    svc = KnowledgeService(settings, embedder=None)
    try:
        svc.add_texts("库", [TextItem(text="关于失业保险金申领的通知\n失业人员可在线申领失业保险金。", source="d")])
        old, new = svc._view(kb_id, False).segments
        assert (old.format, new.format) == (1, LEXICAL_FORMAT)
        svc._merge_segments(kb_id, [old.id, new.id], [])
        (merged,) = svc._view(kb_id, False).segments
        assert merged.format == 1
        assert svc.view(kb_id).outdated and svc.wait_for_index_upgrades(60)  # and the rebuild then fixes it
        view = svc.view(kb_id)
        assert [seg.format for seg in view.segments] == [LEXICAL_FORMAT] and svc._upgrades[kb_id].error is None
        assert svc.search("小型微利企业所得税怎么减免", ["库"], mode="lexical").hits[0].citation.title.startswith("关于小微企业")
        # The child's tokens are exactly what ingest makes.
        from sqlalchemy import select

        from haoban.knowledge.prepare import index_tokens, title_tokens
        from haoban.store.models import Chunk, Document

        with svc.db.session() as s:
            rows = s.execute(select(Chunk.tokens, Document.title, Chunk.heading_path, Chunk.text).join(Document)).all()
        assert all(tok == " ".join(index_tokens(title_tokens(t), p, x)) for tok, t, p, x in rows)
        assert answered == [3]  # the three old chunks went through the child; the new one needed nothing
    finally:
        svc.close()


def test_coverage_counts_query_terms_in_a_chunk_and_across_its_document(tmp_path):
    import numpy as np

    from haoban.knowledge.index import KBView, read_segment, write_segment

    tokens = [["失业", "保险金", "申领"], ["材料", "身份证"], ["失业", "登记"], ["其他"]]
    write_segment(tmp_path / "s1", ["c1", "c2", "c3", "c4"], ["d1", "d1", "d2", "d3"], tokens)
    seg = read_segment(tmp_path / "s1")
    view = KBView(1, [seg], [np.array([True, True, True, True])], 4)
    chunk_cov, doc_cov, size = view.coverage(["失业", "保险金", "材料", "没有的词"], ["c1", "c3", "c4", "gone"], ["d1", "d2", "d3"])
    # A term the base lacks still counts in the total, so nothing reaches 1 here.
    assert 0 < chunk_cov[1] < chunk_cov[0] < doc_cov[0] < 1
    assert chunk_cov[2] == 0 and chunk_cov[3] == 0  # no query term; not in the base
    assert doc_cov[1] == chunk_cov[1] and doc_cov[2] == 0
    assert size.tolist() == [2, 1, 1]
    # Deleted chunks no longer count for their document.
    view = KBView(2, [seg], [np.array([True, False, True, True])], 3)
    _, doc_cov2, size2 = view.coverage(["失业", "保险金", "材料", "没有的词"], ["c1"], ["d1"])
    assert doc_cov2[0] < doc_cov[0] and size2.tolist() == [1]


def test_cli_upgrades_an_older_index_in_the_foreground(settings, tmp_path):
    """`haoban kb upgrade-index` as an operator runs it (a real subprocess, the real tokeniser child process)."""
    import os
    import subprocess
    import sys

    from haoban.knowledge.index import LEXICAL_FORMAT

    kb_id = _old_format_base(settings)
    env = {
        **os.environ,
        "HAOBAN_DATA_DIR": str(settings.data_dir),
        "HAOBAN_EMBEDDING_BACKEND": "none",
        "HAOBAN_CONFIG": str(tmp_path / "none.toml"),
    }
    cli = [sys.executable, "-m", "haoban.cli", "kb", "upgrade-index", "库"]
    first = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "关键词索引升级完成：重新分词 3 个段落" in first.stdout
    svc = KnowledgeService(settings, embedder=None)
    try:
        assert [seg.format for seg in svc._view(kb_id, False).segments] == [LEXICAL_FORMAT]
    finally:
        svc.close()
    again = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "无需升级" in again.stdout
    missing = subprocess.run([*cli[:-1], "不存在的库"], env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "不存在" in missing.stderr
