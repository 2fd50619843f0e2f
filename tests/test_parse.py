"""Parsers: every format on real small files, and every failure mode."""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures_parse import (
    SAMPLE_NUMBER,
    SAMPLE_PARAGRAPHS,
    SAMPLE_TITLE,
    docx_bytes,
    encrypted_pdf_bytes,
    ofd_bytes,
    pdf_bytes,
    sample_lines,
    write,
)
from haoban.errors import (
    CorruptFile,
    EmptyFile,
    EncryptedFile,
    FileTooLarge,
    NotFound,
    ParseError,
    UnsupportedFormat,
)
from haoban.knowledge.parse import SUPPORTED_SUFFIXES, ParsedDocument, parse_bytes, parse_file

MB = 1024 * 1024
CJK = re.compile(r"[\u4e00-\u9fff]")


def parse(data: bytes, name: str, **limits) -> ParsedDocument:
    return parse_bytes(data, name, max_bytes=limits.pop("max_bytes", 20 * MB), **limits)


def assert_error(excinfo: pytest.ExceptionInfo, name: str) -> None:
    """Every error speaks Chinese and names the file."""
    err = excinfo.value
    assert CJK.search(err.message), err.message
    assert err.detail["file"] == name


def assert_sample_metadata(doc: ParsedDocument) -> None:
    assert doc.title == SAMPLE_TITLE
    assert doc.issuer == "示范市人民政府"
    assert doc.doc_number == SAMPLE_NUMBER
    assert doc.written_date == datetime.date(2023, 6, 8)


def test_supported_suffixes():
    assert SUPPORTED_SUFFIXES == frozenset({".pdf", ".docx", ".html", ".htm", ".txt", ".md", ".ofd"})


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_chinese_text_rejoined_and_page_numbers_dropped(tmp_path: Path):
    path = write(tmp_path, "通知.pdf", pdf_bytes())
    doc = parse_file(path, max_bytes=20 * MB)
    assert doc.format == "pdf"
    assert doc.extra["pages"] == 2
    # Hard-wrapped body lines are joined back into paragraphs; title lines stay apart.
    assert doc.text.split("\n") == sample_lines()
    assert "—" not in doc.text  # "— 1 —" page numbers are gone
    assert_sample_metadata(doc)


def test_pdf_with_owner_password_only_is_readable():
    doc = parse(encrypted_pdf_bytes(user_password=""), "限制编辑.pdf")
    assert SAMPLE_PARAGRAPHS[0] in doc.text


def test_pdf_with_open_password_is_encrypted_error():
    with pytest.raises(EncryptedFile) as excinfo:
        parse(encrypted_pdf_bytes(), "加密.pdf")
    assert_error(excinfo, "加密.pdf")
    assert "密码" in excinfo.value.message


def test_scanned_pdf_without_text_layer_says_ocr():
    with pytest.raises(EmptyFile) as excinfo:
        parse(pdf_bytes(with_text=False), "扫描件.pdf")
    assert_error(excinfo, "扫描件.pdf")
    assert "扫描件" in excinfo.value.message and "OCR" in excinfo.value.message


@pytest.mark.parametrize("data", [b"%PDF-1.7\nnot really a pdf", pdf_bytes()[:300], b"\x00\x01garbage" * 50])
def test_corrupt_pdf(data: bytes):
    with pytest.raises(CorruptFile) as excinfo:
        parse(data, "坏.pdf")
    assert_error(excinfo, "坏.pdf")


def test_pdf_text_over_max_chars_stops():
    with pytest.raises(FileTooLarge) as excinfo:
        parse(pdf_bytes(), "长.pdf", max_chars=100)
    assert_error(excinfo, "长.pdf")


def test_pdf_with_unmapped_font_text_is_treated_as_no_text(monkeypatch: pytest.MonkeyPatch):
    import pypdf

    # Fonts without a Unicode mapping extract as replacement or private-use characters.
    monkeypatch.setattr(pypdf.PageObject, "extract_text", lambda self, *a, **k: "\ufffd\ue001\ue002 " * 40)
    with pytest.raises(EmptyFile) as excinfo:
        parse(pdf_bytes(), "乱码.pdf")
    assert "OCR" in excinfo.value.message


# --- DOCX -----------------------------------------------------------------------------------------


def test_docx_keeps_table_in_place():
    doc = parse(docx_bytes(), "通知.docx")
    lines = doc.text.split("\n")
    table_at = lines.index("序号 | 事项名称 | 办理时限")
    assert lines[table_at - 1] == SAMPLE_PARAGRAPHS[2]
    assert lines[table_at + 1 : table_at + 4] == [
        "1 | 营业执照办理 | 3个工作日",
        "2 | 不动产登记 | 5个工作日",
        SAMPLE_PARAGRAPHS[3],
    ]
    assert doc.extra["tables"] == 1
    assert_sample_metadata(doc)


def test_docx_title_from_core_properties():
    assert parse(docx_bytes(title="Microsoft Word - 文档1"), "a.docx").title == SAMPLE_TITLE  # tool junk
    # A title the text bears out is used even where the text alone would not find it.
    assert parse(docx_bytes(title="提升行政效能的通知"), "a.docx").title == "提升行政效能的通知"
    # A stale one (templates keep the title of the document they were made from) loses to the text.
    assert parse(docx_bytes(title="关于去年春节值班的通知"), "a.docx").title == SAMPLE_TITLE


def _docx_of(paragraphs: list[str], title: str) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_stale_title_still_beats_nothing():
    data = _docx_of(["请各科室于周五前报送值班表，逾期不报的视为无人值班。"], "值班安排")
    assert parse(data, "a.docx").title == "值班安排"


def test_docx_content_controls_are_read():
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    document.add_paragraph("控件前的段落。")
    inside = document.add_paragraph("控件里的段落。")
    document.add_paragraph("控件后的段落。")
    sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")
    inside._p.addprevious(sdt)
    sdt.append(content)
    content.append(inside._p)
    out = io.BytesIO()
    document.save(out)
    assert parse(out.getvalue(), "控件.docx").text == "控件前的段落。\n控件里的段落。\n控件后的段落。"


def _zip(parts: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        docx_bytes()[:1000],  # truncated zip
        b"PK\x03\x04" + b"\x00" * 200,
        _zip({"hello.txt": "不是 Word 文件"}),  # zip without the Word parts
    ],
)
def test_corrupt_docx(data: bytes):
    with pytest.raises(CorruptFile) as excinfo:
        parse(data, "坏.docx")
    assert_error(excinfo, "坏.docx")


def test_docx_with_broken_xml_is_corrupt():
    original = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    parts = {info.filename: original.read(info).decode("utf-8", "replace") for info in original.infolist()}
    parts["word/document.xml"] = parts["word/document.xml"][:500]
    with pytest.raises(CorruptFile):
        parse(_zip(parts), "坏.docx")


def test_old_doc_renamed_to_docx_and_password_protected_docx():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    with pytest.raises(UnsupportedFormat) as excinfo:
        parse(ole, "旧版.docx")
    assert ".doc" in excinfo.value.message
    with pytest.raises(EncryptedFile) as excinfo:
        parse(ole + "EncryptionInfo".encode("utf-16-le"), "加密.docx")
    assert_error(excinfo, "加密.docx")


# --- HTML -----------------------------------------------------------------------------------------

GOV_PAGE = """<!DOCTYPE html>
<html><head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>示范市人民政府关于进一步优化政务服务提升行政效能的通知_示范市人民政府门户网站</title>
<meta name="ArticleTitle" content="示范市人民政府关于进一步优化政务服务提升行政效能的通知">
<meta name="PubDate" content="2023-06-12 09:30">
<meta name="ContentSource" content="示范市人民政府办公室">
<style>p {{ color: red }}</style>
<script>var 统计 = "不应出现";</script>
</head><body>
<header><a href="/">首页</a></header>
<nav>网站导航 政务公开 办事服务</nav>
<div class="article">
<h1>示范市人民政府关于进一步优化政务服务<br>提升行政效能的通知</h1>
<p>示政发〔2023〕12号</p>
<p>各区人民政府，市政府各委、办、局，各有关单位：</p>
<p>　　为深入推进政务服务标准化、规范化、
   便利化，现就有关事项通知如下。</p>
<table><tr><th>序号</th><th>事项</th></tr><tr><td>1</td><td>朱镕基同志题词的展馆预约</td></tr></table>
<p style="text-align:right">示范市人民政府</p>
<p style="text-align:right">2023年6月8日</p>
</div>
<footer>版权所有 示范市人民政府</footer>
</body></html>"""


@pytest.mark.parametrize("charset,encoding", [("gb2312", "gbk"), ("GBK", "gbk"), ("utf-8", "utf-8")])
def test_html_declared_charset(charset: str, encoding: str):
    # 镕 is outside GB2312 proper: pages declaring gb2312 still use it, so gb2312 must read as GB18030.
    doc = parse(GOV_PAGE.format(charset=charset).encode(encoding), "page.html")
    lines = doc.text.split("\n")
    assert lines[:2] == ["示范市人民政府关于进一步优化政务服务", "提升行政效能的通知"]
    assert "为深入推进政务服务标准化、规范化、便利化，现就有关事项通知如下。" in lines
    assert "1 | 朱镕基同志题词的展馆预约" in lines
    for junk in ("首页", "网站导航", "版权所有", "不应出现", "color"):
        assert junk not in doc.text
    assert doc.format == "html"
    assert doc.title == "示范市人民政府关于进一步优化政务服务提升行政效能的通知"
    assert doc.doc_number == "示政发〔2023〕12号"
    assert doc.issuer == "示范市人民政府"
    assert doc.written_date == datetime.date(2023, 6, 8)
    assert doc.publish_date == datetime.date(2023, 6, 12)
    assert doc.extra["source"] == "示范市人民政府办公室"


def test_html_wrong_declared_charset_falls_back_to_detection():
    page = "<html><head><meta charset='utf-8'><title>关于开展安全检查的通知</title></head><body><p>请各单位于本周内完成自查。</p></body></html>"
    doc = parse(page.encode("gb18030"), "page.htm")
    assert "请各单位于本周内完成自查。" in doc.text
    assert doc.extra["encoding"] == "gb18030"
    assert doc.title == "关于开展安全检查的通知"


def test_html_site_name_title_is_ignored():
    page = "<html><head><title>示范市人民政府门户网站</title></head><body><div>首页 > 政策</div><h1>关于开展安全检查的通知</h1><p>请各单位自查。</p></body></html>"
    assert parse(page.encode(), "a.html").title == "关于开展安全检查的通知"


def test_html_title_falls_back_to_h1():
    doc = parse("<html><body><h1>政务公开指南</h1><p>正文内容。</p></body></html>".encode(), "a.html")
    assert doc.title == "政务公开指南"
    assert doc.text == "政务公开指南\n正文内容。"


def test_html_source_line_breaks_inside_chinese_are_not_spaces():
    page = "<html><body><p>第一段\n  文字\n</p>\n<p>第二段 text\n  文字</p></body></html>"
    assert parse(page.encode(), "a.html").text == "第一段文字\n第二段 text 文字"


def test_html_without_text_is_empty():
    with pytest.raises(EmptyFile):
        parse(b"<html><head><script>x=1</script></head><body><img src=a.png></body></html>", "a.html")


# --- TXT / MD -------------------------------------------------------------------------------------

TEXT = "关于做好春节期间值班工作的通知\r\n\r\n\r\n各单位：\r\n请按要求安排值班人员。  \r\n"


@pytest.mark.parametrize(
    "data,encoding",
    [
        (TEXT.encode("gb18030"), "gb18030"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16"),
    ],
)
def test_txt_encodings(data: bytes, encoding: str):
    doc = parse(data, "值班.txt")
    assert doc.extra["encoding"] == encoding
    # Line endings normalised, trailing spaces dropped, runs of blank lines squeezed to one.
    assert doc.text == "关于做好春节期间值班工作的通知\n\n各单位：\n请按要求安排值班人员。"
    assert doc.title == "关于做好春节期间值班工作的通知"
    assert doc.format == "txt"


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_txt_with_a_damaged_byte_is_kept(encoding: str):
    text = "关于做好春节期间值班工作的通知。各单位请按要求安排值班人员，确保节日期间安全稳定。" * 20
    data = bytearray(text.encode(encoding))
    data[301] = 0xFF
    doc = parse(bytes(data), "损坏一处.txt")
    assert doc.extra["encoding"] == encoding
    assert doc.text.count("\ufffd") <= 3 and "确保节日期间安全稳定" in doc.text


def test_html_with_damaged_bytes_reads_as_declared():
    page = GOV_PAGE.format(charset="gbk").encode("gbk").replace("便利化".encode("gbk"), b"\xff\x00\xff")
    doc = parse(page, "page.html")
    assert doc.extra["encoding"] == "gb18030"
    assert "现就有关事项通知如下。" in doc.text


def test_txt_big5_guessed():
    text = "本通知自發布之日起施行，請各單位認真貫徹執行。" * 5
    doc = parse(text.encode("big5"), "繁體.txt")
    assert doc.text == text


@pytest.mark.parametrize(
    "data", [bytes(range(256)) * 20, b"\x00\x00\x00abc\x00\x00" * 30, b"\x01\x02\x03\x04text" * 40]
)
def test_binary_as_txt_is_corrupt(data: bytes):
    with pytest.raises(CorruptFile) as excinfo:
        parse(data, "二进制.txt")
    assert_error(excinfo, "二进制.txt")


def test_markdown_kept_as_written():
    source = "# 政务服务指南\n\n## 一、办理流程\n\n- 网上申请\n- 窗口受理\n"
    doc = parse(source.encode(), "指南.md")
    assert doc.format == "md"
    assert doc.text == source.strip("\n")
    assert doc.title == "政务服务指南"


# --- OFD ------------------------------------------------------------------------------------------


def test_ofd_real_file(tmp_path: Path):
    doc = parse_file(write(tmp_path, "通知.ofd", ofd_bytes()), max_bytes=20 * MB)
    assert doc.format == "ofd"
    assert doc.extra["pages"] == 1
    assert doc.text.split("\n") == sample_lines()
    assert_sample_metadata(doc)


def test_ofd_docinfo_title():
    lines = ["内部资料", "第三季度工作例会纪要", "会议听取了各部门工作汇报。"]
    assert (
        parse(ofd_bytes(lines=lines, title="第三季度工作例会纪要"), "a.ofd").title == "第三季度工作例会纪要"
    )
    assert parse(ofd_bytes(lines=lines, title=None), "a.ofd").title == "内部资料"
    assert (
        parse(ofd_bytes(title="国发〔2019〕5号.ofd"), "a.ofd").title == SAMPLE_TITLE
    )  # a file name is no title


def test_ofd_without_text_is_empty():
    with pytest.raises(EmptyFile) as excinfo:
        parse(ofd_bytes(lines=[]), "扫描.ofd")
    assert "OCR" in excinfo.value.message


@pytest.mark.parametrize(
    "data",
    [
        ofd_bytes()[:400],  # truncated zip
        _zip({"Doc_0/Document.xml": "<Document/>"}),  # no OFD.xml
        _zip({"OFD.xml": "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'><ofd:DocBody>"}),  # broken XML
        _zip({"OFD.xml": "<html/>"}),  # wrong root
        b"not a zip at all",
    ],
)
def test_corrupt_ofd(data: bytes):
    with pytest.raises(CorruptFile) as excinfo:
        parse(data, "坏.ofd")
    assert_error(excinfo, "坏.ofd")


def test_encrypted_ofd():
    with pytest.raises(EncryptedFile) as excinfo:
        parse(ofd_bytes(encrypt_flag=True), "加密.ofd")
    assert_error(excinfo, "加密.ofd")


# --- limits and formats ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
def test_zero_byte_file_is_empty(tmp_path: Path, suffix: str):
    name = f"空{suffix}"
    with pytest.raises(EmptyFile) as excinfo:
        parse_file(write(tmp_path, name, b""), max_bytes=MB)
    assert_error(excinfo, name)


def test_whitespace_only_text_is_empty():
    with pytest.raises(EmptyFile):
        parse(" \r\n\u3000\n\t".encode(), "空白.txt")


def test_oversized_bytes():
    with pytest.raises(FileTooLarge) as excinfo:
        parse(b"x" * 2000, "大.txt", max_bytes=1000)
    assert_error(excinfo, "大.txt")
    assert excinfo.value.detail["size"] == 2000


def test_oversized_file_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "巨大.pdf"
    with path.open("wb") as handle:
        handle.truncate(3 * 1024 * MB)  # sparse: costs no disk

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Path, "open", no_reading)
    with pytest.raises(FileTooLarge) as excinfo:
        parse_file(path, max_bytes=50 * MB)
    assert_error(excinfo, "巨大.pdf")


def test_text_over_max_chars():
    with pytest.raises(FileTooLarge):
        parse(("一二三四五六七八九十" * 20).encode(), "长.txt", max_chars=150)


@pytest.mark.parametrize("name", ["旧文件.doc", "表格.xls", "程序.exe", "README", "图片.PNG"])
def test_unsupported_format(name: str):
    with pytest.raises(UnsupportedFormat) as excinfo:
        parse(b"whatever", name)
    assert_error(excinfo, name)
    assert "PDF" in excinfo.value.message and "OFD" in excinfo.value.message


def test_suffix_is_case_insensitive_and_path_is_stripped():
    doc = parse("正文。".encode(), "some/dir/说明.TXT")
    assert doc.format == "txt"


def test_missing_file_and_directory(tmp_path: Path):
    with pytest.raises(NotFound) as excinfo:
        parse_file(tmp_path / "没有.pdf", max_bytes=MB)
    assert excinfo.value.code == "FILE_NOT_FOUND"
    (tmp_path / "目录.txt").mkdir()
    with pytest.raises(ParseError):
        parse_file(tmp_path / "目录.txt", max_bytes=MB)


# --- robustness -----------------------------------------------------------------------------------

SUFFIXES = sorted(SUPPORTED_SUFFIXES)
VALID = {".pdf": pdf_bytes(), ".docx": docx_bytes(), ".ofd": ofd_bytes()}


def _outcome(data: bytes, suffix: str) -> None:
    try:
        doc = parse_bytes(data, f"fuzz{suffix}", max_bytes=MB, max_chars=100_000)
    except ParseError as err:
        assert CJK.search(err.message)
        assert err.detail["file"] == f"fuzz{suffix}"
    else:
        assert isinstance(doc, ParsedDocument) and doc.text.strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_never_crash(data: bytes, suffix: str):
    _outcome(data, suffix)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    suffix=st.sampled_from(sorted(VALID)),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.floats(0.05, 1)),
)
def test_damaged_real_files_never_crash(suffix: str, edits: list[tuple[float, int]], cut: float | None):
    data = bytearray(VALID[suffix])
    for where, value in edits:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: max(1, int(cut * len(data)))]
    _outcome(bytes(data), suffix)
