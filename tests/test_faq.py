"""Importing question–answer pairs (问答对): reading XLSX/CSV/JSONL, storing pairs as documents, re-import, fronts."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
import numpy as np
import openpyxl
import pytest
from sqlalchemy import select

from conftest import admin_key, auth_headers
from haoban.errors import (
    CorruptFile,
    EmptyFile,
    EncryptedFile,
    FileTooLarge,
    Forbidden,
    InvalidInput,
    NotFound,
    ParseError,
    UnsupportedFormat,
)
from haoban.knowledge.faq import FaqColumns, read_faq, source_key
from haoban.knowledge.prepare import embedding_input, indexed_title, text_hash
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import SYSTEM
from haoban.store.models import Chunk
from server import running_server

FOG_Q = "驾车时遇到大雾怎么办"
FOG_A = "1、尽量不要开车出门。\n2、打开前后雾灯，没有雾灯可开近光灯，别开远光灯。\n3、控制车速，与前车保持足够的制动距离。"
FUND_Q = "租房可以提取住房公积金吗？"
FUND_A = "可以。职工及配偶在本市无自有住房且租赁住房的，可以按规定申请提取住房公积金支付房租。"
HEADER = ["序号", "标准问题", "答复内容", "相似问法", "类别", "责任部门", "更新时间"]


def xlsx(*sheets: tuple[str, list[list]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        ws = book.create_sheet(name)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def hotline_book(fog_answer: str = FOG_A, with_fund: bool = True) -> bytes:
    rows = [
        ["12345 热线知识库导出（2024 年 5 月）"],  # a title line above the header
        HEADER,
        [1, FOG_Q, fog_answer, "雾天开车要注意什么\n起雾了还能上路吗｜大雾天行车", "交通出行", "市应急管理局", "2024-05-01"],
        [2, "", "没有问题的答案", "", "", "", ""],
        [3, "不动产登记要多久", None, "", "住房", "市规划自然资源委", ""],
    ]
    if with_fund:
        rows.append([4, FUND_Q, FUND_A, "租房能取公积金吗 | 租房提取公积金", "住房", "住房公积金管理中心", "2024/3/8"])
    rows.append([5, "驾车时遇到大雾怎么办？", "重复的一行", "", "", "", ""])
    return xlsx(("热线知识", rows), ("填写说明", [["请按表头填写"], ["相似问法用换行分隔"]]))


# ---- reading -------------------------------------------------------------------------------------


def test_xlsx_header_under_a_title_line_every_sheet_and_skipped_rows():
    table = read_faq(hotline_book(), "热线知识.xlsx")
    assert table.format == "xlsx"
    assert [(p.question, p.row) for p in table.pairs] == [(FOG_Q, 3), (FUND_Q, 6)]
    fog, fund = table.pairs
    assert fog.answer == FOG_A
    assert fog.similar == ["雾天开车要注意什么", "起雾了还能上路吗", "大雾天行车"]
    assert (fog.category, fog.department, fog.date) == ("交通出行", "市应急管理局", date(2024, 5, 1))
    assert fund.similar == ["租房能取公积金吗", "租房提取公积金"] and fund.date == date(2024, 3, 8)
    assert table.sheets[0].columns == {
        "question": "标准问题", "answer": "答复内容", "similar": "相似问法", "category": "类别", "department": "责任部门", "date": "更新时间",
    }  # fmt: skip
    # The instructions sheet has no question/answer columns: passed over and reported, not an error.
    assert table.ignored_sheets == [{"sheet": "填写说明", "headers": ["请按表头填写"]}]
    skipped = [(k.row, k.reason) for k in table.skipped]
    assert skipped == [(4, "问题为空"), (5, "答案为空"), (7, "与第 3 行的问题重复")]


def test_csv_in_gb18030_and_utf8_bom_read_the_same(tmp_path: Path):
    text = f'问题,答案,相似问题,分类\n{FUND_Q},"{FUND_A}\n（详见办事指南）",租房能取公积金吗｜租房提取公积金,住房\n'
    gb = read_faq(text.encode("gb18030"), "a.csv")
    bom = read_faq(b"\xef\xbb\xbf" + text.encode("utf-8"), "a.csv")
    assert gb.encoding == "gb18030" and bom.encoding == "utf-8-sig"
    for table in (gb, bom):
        (pair,) = table.pairs
        assert pair.question == FUND_Q and pair.answer == FUND_A + "\n（详见办事指南）"
        assert pair.similar == ["租房能取公积金吗", "租房提取公积金"] and pair.category == "住房"
    tsv = read_faq("question\tanswer\n问一\t答一\n".encode(), "b.tsv")
    assert [(p.question, p.answer) for p in tsv.pairs] == [("问一", "答一")]


def test_jsonl_with_english_keys_list_of_similar_and_bad_lines():
    lines = [
        json.dumps({"id": 1, "question": FOG_Q, "answer": FOG_A, "similar_questions": ["雾天开车要注意什么"], "department": "应急局"}, ensure_ascii=False),
        "{not json",
        json.dumps({"question": FUND_Q, "answer": "", "department": "公积金中心"}, ensure_ascii=False),
        "[1, 2]",
    ]
    table = read_faq("\n".join(lines).encode(), "faq.jsonl")
    assert [(p.question, p.similar, p.department, p.row) for p in table.pairs] == [(FOG_Q, ["雾天开车要注意什么"], "应急局", 1)]
    assert [(k.row, k.reason) for k in table.skipped] == [(2, "不是合法的 JSON"), (3, "答案为空"), (4, "不是 JSON 对象")]
    array = read_faq(json.dumps([{"问": "问一", "答": "答一"}], ensure_ascii=False).encode(), "faq.json")
    assert [(p.question, p.answer) for p in array.pairs] == [("问一", "答一")]


def test_explicit_columns_override_detection():
    data = xlsx(("Sheet1", [["问题", "口径一", "口径二"], ["问一", "旧口径", "新口径"]]))
    assert read_faq(data, "x.xlsx").pairs[0].answer == "旧口径"  # the first header naming an answer (口径)
    (pair,) = read_faq(data, "x.xlsx", columns=FaqColumns(answer="口径二")).pairs
    assert pair.answer == "新口径"
    (pair,) = read_faq(data, "x.xlsx", columns=FaqColumns(answer="B")).pairs  # a column letter
    assert pair.answer == "旧口径"
    with pytest.raises(InvalidInput) as err:
        read_faq(data, "x.xlsx", columns=FaqColumns(answer="答复口径"))
    assert err.value.code == "FAQ_COLUMN_NOT_FOUND" and "问题、口径一、口径二" in err.value.message


def test_explicit_sheet():
    data = hotline_book()
    assert len(read_faq(data, "k.xlsx", sheet="热线知识").pairs) == 2
    with pytest.raises(ParseError) as err:
        read_faq(data, "k.xlsx", sheet="填写说明")
    assert err.value.code == "FAQ_COLUMNS_NOT_FOUND"
    with pytest.raises(InvalidInput) as err:
        read_faq(data, "k.xlsx", sheet="不存在")
    assert err.value.code == "FAQ_SHEET_NOT_FOUND" and "热线知识、填写说明" in err.value.message


def test_bad_files_get_clear_chinese_errors():
    with pytest.raises(ParseError) as err:
        read_faq("标题,内容,备注\n社保卡,到银行网点办理,无\n".encode(), "a.csv")
    assert err.value.code == "FAQ_COLUMNS_NOT_FOUND" and "标题、内容、备注" in err.value.message
    with pytest.raises(EmptyFile):
        read_faq(b"", "a.csv")
    with pytest.raises(EmptyFile):
        read_faq("问题,答案\n\n,\n".encode(), "a.csv")
    with pytest.raises(CorruptFile):
        read_faq(b"PK\x03\x04 this is no workbook", "a.xlsx")
    # An encrypted .xlsx is an OLE compound file with an EncryptionInfo stream; an old .xls is OLE without it.
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    with pytest.raises(EncryptedFile):
        read_faq(ole + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 64, "加密.xlsx")
    with pytest.raises(UnsupportedFormat) as err:
        read_faq(ole, "旧版.xls")
    assert "另存为 .xlsx" in err.value.message
    with pytest.raises(UnsupportedFormat):
        read_faq(b"x", "faq.docx")
    with pytest.raises(CorruptFile):
        read_faq(bytes(range(256)) * 20, "a.csv")  # binary, not text in any encoding
    with pytest.raises(CorruptFile) as err:
        read_faq("问题,答案\n问,答\n".encode("gb18030"), "a.csv", encoding="utf-8")
    assert err.value.code == "FAQ_ENCODING_MISMATCH"
    rows = [["问题", "答案"]] + [[f"问题{i}", f"答案{i}"] for i in range(30)]
    with pytest.raises(FileTooLarge) as err:
        read_faq(xlsx(("S", rows[:16]), ("T", rows)), "big.xlsx", max_rows=40)  # the limit is over all sheets
    assert err.value.code == "FAQ_TOO_MANY_ROWS" and "40" in err.value.message


# ---- storing -------------------------------------------------------------------------------------


@pytest.fixture
def kb(service: KnowledgeService) -> KnowledgeService:
    service.create_kb("热线知识")
    return service


def test_pairs_become_searchable_documents(kb: KnowledgeService):
    report = kb.import_faq("热线知识", hotline_book(), "热线知识.xlsx")
    assert (report.pairs, report.added, report.skipped, report.failed) == (2, 2, 3, 0)
    assert [(s.row, s.reason) for s in report.skipped_rows] == [(4, "问题为空"), (5, "答案为空"), (7, "与第 3 行的问题重复")]
    assert [(o.question, o.status, o.row) for o in report.items] == [(FOG_Q, "added", 3), (FUND_Q, "added", 6)]

    doc = kb.get_document(report.items[0].document_id)
    assert (doc.format, doc.title, doc.text, doc.issuer, doc.tags) == ("faq", FOG_Q, FOG_A, "市应急管理局", ["交通出行"])
    assert doc.aliases == ["雾天开车要注意什么", "起雾了还能上路吗", "大雾天行车"]
    assert doc.publish_date == date(2024, 5, 1) and doc.source == source_key("热线知识.xlsx", FOG_Q)

    # Found by a similar question that shares no word with the answer text (上路 appears only there).
    hit = kb.search("起雾了还能上路吗", ["热线知识"]).hits[0]
    assert hit.citation.document_id == doc.id and hit.citation.format == "faq" and hit.citation.title == FOG_Q
    hit = kb.search("租房能取公积金吗", ["热线知识"]).hits[0]
    assert hit.citation.title == FUND_Q

    # The similar questions are in every chunk's index tokens and in what the embedding model reads.
    with kb.db.session() as s:
        chunks = s.execute(select(Chunk.text, Chunk.heading_path, Chunk.tokens, Chunk.text_hash).where(Chunk.document_id == doc.id)).all()
    for text, path, tokens, h in chunks:
        assert "上路" in tokens.split() and "#上路" in tokens.split()
        assert h == text_hash(embedding_input(indexed_title(FOG_Q, "\n".join(doc.aliases)), path, text))


def test_identifiers_in_questions_are_masked_like_answers(kb: KnowledgeService):
    book = xlsx(("问答", [["问题", "答案", "相似问题"],
                          ["身份证11010519491231002X收不到验证码怎么办", "请在登录页点击重新发送，或拨打12345咨询。", "身份证号11010519491231002X忘记密码"]]))  # fmt: skip
    report = kb.import_faq("热线知识", book, "验证码.xlsx")
    doc = kb.get_document(report.items[0].document_id)
    # As in documents, ID numbers are masked; an office phone number such as 12345 is not an identifier.
    assert "11010519491231002X" not in doc.title + "".join(doc.aliases) and "收不到验证码" in doc.title
    assert {g["field"] for g in report.guarded} == {"title", "aliases"}
    assert kb.search("收不到验证码", ["热线知识"]).hits[0].citation.document_id == doc.id


class RecordingEmbedder:
    """Stands in for the E5 model only to see what text it is given (the vectors themselves do not matter here)."""

    name, dim = "recording", 8

    def __init__(self) -> None:
        self.passages: list[str] = []

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.passages += texts
        return np.ones((len(texts), self.dim), dtype=np.float32) / np.sqrt(self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return np.ones(self.dim, dtype=np.float32) / np.sqrt(self.dim)


def test_similar_questions_are_in_the_embedding_input(settings):
    emb = RecordingEmbedder()
    svc = KnowledgeService(settings, embedder=emb)
    try:
        svc.create_kb("热线知识")
        svc.import_faq("热线知识", hotline_book(), "热线知识.xlsx")
        assert svc.embed_pending() == 2
        fog = next(p for p in emb.passages if FOG_Q in p)
        assert "起雾了还能上路吗" in fog and "大雾天行车" in fog and "尽量不要开车出门" in fog
        assert svc.embedding_progress("热线知识").pending == 0  # stored under the hash ingest computed
    finally:
        svc.close()


def test_reimport_updates_in_place_keeps_or_removes_missing_pairs(kb: KnowledgeService):
    first = kb.import_faq("热线知识", hotline_book(), "热线知识.xlsx")
    fog_id = first.items[0].document_id
    again = kb.import_faq("热线知识", hotline_book(), "热线知识.xlsx")
    assert (again.added, again.updated, again.unchanged, again.missing) == (0, 0, 2, 0)

    new_answer = FOG_A + "\n4、在雾中停车，要紧靠路边停放，打开雾灯。"
    update = kb.import_faq("热线知识", hotline_book(new_answer, with_fund=False), "热线知识.xlsx")
    assert (update.added, update.updated, update.unchanged, update.removed, update.missing) == (0, 1, 0, 0, 1)
    assert update.items[0].document_id == fog_id  # the same document, its chunks replaced
    assert [m.question for m in update.missing_pairs] == [FUND_Q]
    assert kb.get_document(fog_id).text == new_answer
    assert kb.get_kb("热线知识").document_count == 2  # the missing pair is kept by default

    removed = kb.import_faq("热线知识", hotline_book(new_answer, with_fund=False), "热线知识.xlsx", remove_missing=True)
    assert (removed.unchanged, removed.removed, removed.missing) == (1, 1, 0)
    assert kb.get_kb("热线知识").document_count == 1
    assert all(h.citation.title != FUND_Q for h in kb.search("租房提取公积金", ["热线知识"]).hits)

    # Another file's pairs are its own: removing missing pairs of one file never touches the other's.
    other = kb.import_faq("热线知识", f"问题,答案\n{FUND_Q},{FUND_A}\n".encode(), "公积金.csv", remove_missing=True)
    assert (other.added, other.removed) == (1, 0)
    assert kb.get_kb("热线知识").document_count == 2


def test_an_emptied_answer_does_not_count_as_removed(kb: KnowledgeService):
    kb.import_faq("热线知识", "问题,答案\n问一,答一\n问二,答二\n".encode(), "a.csv")
    report = kb.import_faq("热线知识", "问题,答案\n问一,答一\n问二,\n".encode(), "a.csv", remove_missing=True)
    assert (report.unchanged, report.skipped, report.removed) == (1, 1, 0)
    assert kb.get_kb("热线知识").document_count == 2


def test_import_from_a_path_and_audit(kb: KnowledgeService, tmp_path: Path):
    path = tmp_path / "常见问题.jsonl"
    path.write_text(json.dumps({"问题": FOG_Q, "答案": FOG_A}, ensure_ascii=False) + "\n", encoding="utf-8")
    report = kb.import_faq("热线知识", path)
    assert report.file == "常见问题.jsonl" and report.added == 1
    total, (entry,) = kb.audit.list(action="kb.faq_import")
    assert entry.detail["added"] == 1
    with pytest.raises(NotFound):
        kb.import_faq("热线知识", tmp_path / "没有这个文件.xlsx")


def test_readers_cannot_import_and_other_departments_do_not_see_the_base(service: KnowledgeService):
    u = service.users
    u.create_department("甲市", actor=SYSTEM)
    u.create_department("乙市", actor=SYSTEM)
    u.create_user("staff_a", "pass-word-1", ["staff"], "/甲市", actor=SYSTEM)
    u.create_user("viewer_a", "pass-word-1", ["viewer"], "/甲市", actor=SYSTEM)
    u.create_user("staff_b", "pass-word-1", ["staff"], "/乙市", actor=SYSTEM)
    service.create_kb("甲市知识", visibility="internal", department="/甲市")
    data = f"问题,答案\n{FUND_Q},{FUND_A}\n".encode()
    staff = u.login("staff_a", "pass-word-1")[0]
    assert service.import_faq("甲市知识", data, "a.csv", actor=staff).added == 1
    viewer = u.login("viewer_a", "pass-word-1")[0]
    with pytest.raises(Forbidden):
        service.import_faq("甲市知识", data, "a.csv", actor=viewer)
    other = u.login("staff_b", "pass-word-1")[0]
    with pytest.raises(NotFound):
        service.import_faq("甲市知识", data, "a.csv", actor=other)
    assert service.get_kb("甲市知识").document_count == 1


# ---- fronts: CLI and REST API ----------------------------------------------------------------------


def test_cli_import_faq(tmp_path: Path):
    env = {**os.environ, "HAOBAN_DATA_DIR": str(tmp_path / "data"), "HAOBAN_EMBEDDING_BACKEND": "none",
           "HAOBAN_CONFIG": str(tmp_path / "none.toml"), "COLUMNS": "200"}  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "haoban.cli", *args], env=env, capture_output=True, text=True, timeout=120)

    assert run("kb", "create", "热线知识").returncode == 0
    book = tmp_path / "热线知识.xlsx"
    book.write_bytes(hotline_book())
    proc = run("kb", "import-faq", "热线知识", str(book))
    assert proc.returncode == 0, proc.stderr
    assert "新增 2" in proc.stdout and "跳过 3 行" in proc.stdout
    assert "第 5 行：答案为空（不动产登记要多久）" in proc.stderr and "导入问答对" in proc.stderr  # the progress bar

    book.write_bytes(hotline_book(with_fund=False))
    proc = run("kb", "import-faq", "热线知识", str(book), "--remove-missing", "--json")
    report = json.loads(proc.stdout)
    assert (report["unchanged"], report["removed"]) == (1, 1)

    proc = run("search", "起雾了还能上路吗", "-k", "热线知识")
    assert f"问：{FOG_Q}" in proc.stdout and "答：1、尽量不要开车出门" in proc.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("标题,内容\n一,二\n", encoding="utf-8")
    proc = run("kb", "import-faq", "热线知识", str(bad))
    assert proc.returncode == 5 and "FAQ_COLUMNS_NOT_FOUND" in proc.stderr and "标题、内容" in proc.stderr
    proc = run("kb", "import-faq", "热线知识", str(bad), "--question-column", "标题", "--answer-column", "内容", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["added"] == 1


def test_api_import_faq(settings, tmp_path: Path):
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=60, headers=auth_headers(admin_key(settings))) as api:
        api.post("/api/kbs", json={"name": "热线知识"}).raise_for_status()
        # A path in the upload name is dropped: only the base name keys the pairs.
        resp = api.post("/api/kbs/热线知识/faq", files={"file": ("../../etc/热线知识.xlsx", hotline_book())})
        assert resp.status_code == 200, resp.text
        report = resp.json()
        assert (report["file"], report["added"], report["skipped"]) == ("热线知识.xlsx", 2, 3)
        resp = api.post("/api/kbs/热线知识/faq", files={"file": ("热线知识.xlsx", hotline_book(with_fund=False))},
                        data={"remove_missing": "true", "sheet": "热线知识"})  # fmt: skip
        assert (resp.json()["unchanged"], resp.json()["removed"]) == (1, 1)

        hits = api.get("/api/search", params={"q": "起雾了还能上路吗", "kb": "热线知识"}).json()["hits"]
        assert hits[0]["citation"]["format"] == "faq" and hits[0]["citation"]["title"] == FOG_Q
        doc = api.get(f"/api/documents/{hits[0]['citation']['document_id']}").json()
        assert doc["aliases"] == ["雾天开车要注意什么", "起雾了还能上路吗", "大雾天行车"]

        resp = api.post("/api/kbs/热线知识/faq", files={"file": ("x.csv", "标题,内容\n一,二\n".encode())})
        body = resp.json()
        assert resp.status_code == 422 and set(body) == {"code", "message", "detail"} and body["code"] == "FAQ_COLUMNS_NOT_FOUND"
        resp = api.post("/api/kbs/热线知识/faq", files={"file": ("x.csv", "问题,答案\n一,二\n".encode())},
                        data={"question_column": "标准问题"})  # fmt: skip
        assert resp.status_code == 400 and resp.json()["code"] == "FAQ_COLUMN_NOT_FOUND"
        resp = api.post("/api/kbs/热线知识/faq", files={"file": ("x.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le"))})
        assert resp.status_code == 422 and resp.json()["code"] == "FILE_ENCRYPTED"
        resp = api.post("/api/kbs/没有这个库/faq", files={"file": ("x.csv", "问题,答案\n一,二\n".encode())})
        assert resp.status_code == 404 and resp.json()["code"] == "KB_NOT_FOUND"


def test_api_upload_size_limit(tmp_path: Path):
    from conftest import make_settings

    settings = make_settings(tmp_path, max_file_mb=0.01)
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=60, headers=auth_headers(admin_key(settings))) as api:
        api.post("/api/kbs", json={"name": "热线知识"}).raise_for_status()
        big = ("问题,答案\n" + "".join(f"问题{i},答案{i}\n" for i in range(2000))).encode()
        resp = api.post("/api/kbs/热线知识/faq", files={"file": ("big.csv", big)})
        assert resp.status_code == 413 and resp.json()["code"] == "FILE_TOO_LARGE"
        assert api.get("/api/kbs/热线知识").json()["document_count"] == 0
