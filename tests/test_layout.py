"""智能排版: the GB/T 9704 DOCX, checked in its XML and, when LibreOffice is installed, measured in the PDF
it renders to (scripts/install-system-deps.sh installs libreoffice-writer-nogui and the CJK fonts)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from haoban.apps.gongwen.document import parse_text
from haoban.apps.gongwen.layout import (
    DEBIAN_FONT_MAP,
    LINE_PITCH,
    LayoutOptions,
    reconstruct,
    relayout,
    render_docx,
    render_text,
)
from haoban.errors import InvalidInput

DATA = Path(__file__).parent / "data" / "gongwen"
NOTICE = (DATA / "layout_notice.txt").read_text("utf-8")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _xml(docx: bytes, part: str = "word/document.xml") -> str:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return z.read(part).decode("utf-8")


def _paragraphs(docx: bytes):
    from docx import Document

    return Document(io.BytesIO(docx)).element.body.iter(f"{W}p")


def _runs_with(docx: bytes, text: str) -> list:
    found = []
    for p in _paragraphs(docx):
        for r in p.iter(f"{W}r"):
            if text in "".join(t.text or "" for t in r.iter(f"{W}t")):
                found.append(r)
    return found


def _font(run) -> tuple[str, int]:
    rpr = run.find(f"{W}rPr")
    return rpr.find(f"{W}rFonts").get(f"{W}eastAsia"), int(rpr.find(f"{W}sz").get(f"{W}val"))


@pytest.fixture(scope="module")
def docx() -> bytes:
    return render_docx(parse_text(NOTICE))


def test_page_geometry_and_grid(docx):
    xml = _xml(docx)
    assert 'w:pgSz w:w="11906" w:h="16838"' in xml  # A4
    assert 'w:top="2098"' in xml and 'w:left="1587"' in xml  # 37 mm, 28 mm
    assert 'w:bottom="1984"' in xml and 'w:right="1474"' in xml  # 35 mm, 26 mm → 版心 156 × 225 mm
    assert f'w:docGrid w:type="linesAndChars" w:linePitch="{LINE_PITCH}"' in xml
    assert LINE_PITCH * 22 <= 12756 < LINE_PITCH * 23  # 22 lines fill 225 mm
    styles = _xml(docx, "word/styles.xml")
    assert f'w:line="{LINE_PITCH}" w:lineRule="exact"' in styles
    assert 'w:widowControl w:val="0"' in styles


def test_fonts_by_element(docx):
    assert _font(_runs_with(docx, "农村饮水安全保障工作的通知")[0]) == ("方正小标宋_GBK", 44)  # 2号
    assert _font(_runs_with(docx, "农村饮水安全是群众最关心")[0]) == ("仿宋_GB2312", 32)  # 3号
    assert _font(_runs_with(docx, "一、总体要求")[0])[0] == "黑体"
    assert _font(_runs_with(docx, "（一）加强水源保护。")[0])[0] == "楷体_GB2312"
    # only the heading sentence of "（一）…。正文" takes 楷体
    assert _font(_runs_with(docx, "各乡镇要按照")[0])[0] == "仿宋_GB2312"
    assert _font(_runs_with(docx, "1.实施城乡供水一体化工程")[0])[0] == "仿宋_GB2312"
    assert _font(_runs_with(docx, "附件1")[0])[0] == "黑体"
    assert _font(_runs_with(docx, "机密★6个月")[0])[0] == "黑体"


def test_red_masthead_and_rule(docx):
    mark = _runs_with(docx, "青川县人民政府文件")[0]
    assert mark.find(f"{W}rPr/{W}color").get(f"{W}val") == "FF0000"
    assert _font(mark)[0] == "方正小标宋_GBK"
    xml = _xml(docx)
    assert 'w:bottom w:val="single" w:sz="12" w:space="0" w:color="FF0000"' in xml


def test_page_numbers_alternate(docx):
    assert "w:evenAndOddHeaders" in _xml(docx, "word/settings.xml")
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        footers = [z.read(n).decode() for n in z.namelist() if n.startswith("word/footer")]
    joined = "".join(footers)
    assert "PAGE" in joined and "— " in joined and 'w:jc w:val="right"' in joined and 'w:jc w:val="left"' in joined
    assert 'w:sz w:val="28"' in joined  # 4号


def test_record_on_even_page(docx):
    xml = _xml(docx)
    assert 'w:type w:val="evenPage"' in xml
    assert "抄送：县委各部门" in xml and "2025年3月19日印发" in xml


def test_font_substitution():
    doc = parse_text(NOTICE)
    sub = render_docx(doc, options=LayoutOptions(fonts="substitute"))
    assert _font(_runs_with(sub, "农村饮水安全保障工作的通知")[0])[0] == DEBIAN_FONT_MAP["方正小标宋_GBK"]
    assert _font(_runs_with(sub, "（一）加强水源保护。")[0])[0] == "AR PL UKai CN"
    custom = render_docx(doc, options=LayoutOptions(fonts="substitute", font_map={"黑体": "SimHei"}))
    assert _font(_runs_with(custom, "一、总体要求")[0])[0] == "SimHei"
    assert _font(_runs_with(custom, "农村饮水安全是群众")[0])[0] == "仿宋_GB2312"  # not in the map: unchanged


def test_upward_document_puts_signer_right():
    text = "××县人民政府文件\n×府发〔2025〕3号    签发人：张三\n××县人民政府关于申请防汛资金的请示\n市人民政府：\n请予批准。\n妥否，请批示。\n××县人民政府\n2025年4月1日"
    docx = render_docx(parse_text(text))
    xml = _xml(docx)
    assert "签发人：" in xml and 'w:tab w:val="right"' in xml
    assert _font(_runs_with(docx, "张三")[0])[0] == "楷体_GB2312"


def test_render_text_and_bad_input():
    text = render_text(parse_text(NOTICE))
    assert "\n　　农村饮水安全是群众" in text
    with pytest.raises(InvalidInput):
        render_docx("不是公文")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        relayout("   ")


MESSY = (
    "青川县人民政府关于加强 农村饮水安全工作的通知 青府发〔2025〕7号 各乡镇人民政府,县政府各部门:\n"
    "为进一步加强农村饮水安全保障工作,现就有关事项通知如下.一、总体要求坚持以人民为中心的发展思想,全面提升\n"
    "农村供水保障水平.二、重点任务(一)加强水源保护.各乡镇要划定保护范围.1.实施城乡供水一体化工程.(1)对小型\n"
    "工程配备消毒设备.附件:1.领导小组成员名单 2.任务分解表 青川县人民政府 2025年3月18日 (此件公开发布)"
)


def test_reconstruct_messy_text():
    lines = reconstruct(MESSY).split("\n")
    assert lines[0] == "青川县人民政府关于加强农村饮水安全工作的通知"
    assert lines[1] == "青府发〔2025〕7号"
    assert lines[2] == "各乡镇人民政府，县政府各部门："
    assert "一、总体要求" in lines
    assert "坚持以人民为中心的发展思想，全面提升农村供水保障水平。" in lines  # broken line joined
    assert "（一）加强水源保护。各乡镇要划定保护范围。" in lines
    assert "1.实施城乡供水一体化工程。" in lines
    assert "（1）对小型工程配备消毒设备。" in lines
    doc = parse_text("\n".join(lines))
    assert doc.doc_number and doc.doc_number.text == "青府发〔2025〕7号"
    assert doc.addressee and doc.addressee.text == "各乡镇人民政府，县政府各部门"
    assert [p.text for p in doc.attachment_notes] == ["1.领导小组成员名单", "2.任务分解表"]
    assert doc.signatory and doc.signatory.text == "青川县人民政府"
    assert doc.date and doc.date.text == "2025年3月18日"
    assert doc.note and doc.note.text == "（此件公开发布）"
    assert [p.level for p in doc.body if p.level] == [1, 1, 2, 3, 4]
    assert relayout(MESSY)[:2] == b"PK"


# --- measured in the PDF -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    from haoban.apps.gongwen.layout_check import docx_to_pdf, soffice

    if soffice() is None:
        pytest.skip("未安装 LibreOffice（soffice）：运行 scripts/install-system-deps.sh 后再测版面")
    pytest.importorskip("pdfplumber", reason="pdfplumber 在 test 依赖里：pip install -e '.[test]'")
    from haoban.apps.gongwen.layout_check import check_pdf

    docx = render_docx(parse_text(NOTICE), options=LayoutOptions(fonts="substitute"))
    pdf = docx_to_pdf(docx, profile_dir=tmp_path_factory.mktemp("lo-profile"))
    return check_pdf(pdf), pdf


def test_pdf_layout_checks(measured):
    report, _ = measured
    assert report.passed, report.failures
    assert report.pages >= 5  # the fixture runs over several pages: body, 2 attachments, 版记
    assert report.full_pages >= 2 and set(report.lines_per_full_page) == {22}
    assert report.full_lines >= 20 and max(report.chars_per_full_line) <= 28
    assert sum(c == 28 for c in report.chars_per_full_line) >= 0.8 * report.full_lines
    assert abs(report.left_margin_mm - 28) < 1 and abs(report.top_margin_mm - 37) < 1


def test_pdf_page_numbers_and_colours(measured):
    import pdfplumber

    report, pdf = measured
    for name in ("page_numbers", "page_number_side", "red_masthead", "red_rule", "title_centred",
                 "record_bottom", "record_even_page"):
        assert report.checks[name], name
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        first = doc.pages[0]
        red = [c for c in first.chars if c["text"] == "青" and c["size"] > 30]
        assert red and tuple(red[0]["non_stroking_color"]) == (1.0, 0.0, 0.0)
        footer = "".join(c["text"] for c in first.chars if c["top"] > 262 * 72 / 25.4)
        assert footer.replace(" ", "") == "—1—"


def test_order_format_has_no_separator_line():
    text = "中华人民共和国国务院令\n第707号\n现公布《××条例》，自2019年1月1日起施行。\n总理 李克强\n2018年12月18日"
    docx = render_docx(parse_text(text))
    assert '<w:color w:val="FF0000"/>' in _xml(docx)  # red mark
    assert "w:pBdr" not in _xml(docx)  # 命令格式: no 版头 separator line
