"""The 公文 document model read from text: every element found, with spans into the source."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document as DocxDocument

from haoban.apps.gongwen.doctypes import get_type, type_names, type_of_title
from haoban.apps.gongwen.document import heading_of, parse_document_bytes, parse_text
from haoban.errors import EmptyFile, InvalidInput

DATA = Path(__file__).parent / "data" / "gongwen"
FULL = (DATA / "notice_full.txt").read_text("utf-8")


def _at(doc, part) -> str:
    return doc.source[part.start : part.end]


def test_every_element_of_a_full_notice():
    doc = parse_text(FULL)
    assert doc.copy_number.text == "000123"
    assert doc.secrecy.text == "秘密★1年"
    assert doc.urgency.text == "特急"
    assert doc.issuer_mark.text == "××市人民政府文件"
    assert doc.doc_number.text == "×政发〔2024〕12号"
    assert doc.title.text == "关于做好2024年防汛工作的通知"
    assert doc.doc_type == "通知"
    assert doc.addressee.text == "各区人民政府，市政府各部门"
    assert [p.level for p in doc.body] == [0, 1, 2, 3, 4, 1, 0, 0]
    assert [n.text for n in doc.attachment_notes] == ["1.防汛责任人名单", "2.应急物资清单"]
    assert doc.signatory.text == "××市人民政府"
    assert doc.date.text == "2024年5月6日"
    assert doc.note.text == "（此件公开发布）"
    assert [(a.number, a.title.text) for a in doc.attachments] == [("1", "防汛责任人名单"), ("2", "应急物资清单")]
    assert doc.cc.text == "市委各部门，市人大常委会办公室"
    assert doc.printer.text == "××市人民政府办公室"
    assert doc.print_date.text == "2024年5月7日"


def test_spans_point_into_the_source():
    doc = parse_text(FULL)
    parts = [doc.doc_number, doc.title, doc.addressee, doc.signatory, doc.date, doc.cc, *doc.attachment_notes]
    parts += doc.body
    for part in parts:
        assert _at(doc, part) == part.text


def test_written_back_in_standard_order():
    doc = parse_text(FULL)
    assert doc.to_text() == FULL.strip()
    again = parse_text(doc.to_text())
    assert again.model_dump(exclude={"source"}) == doc.model_dump(exclude={"source"})


def test_web_style_title_above_number_and_chinese_date():
    text = (
        "国务院办公厅关于黄金经济政策\n有关问题的复函\n国办函〔1996〕16号\n国家经贸委、冶金部：\n"
        "你们的请示收悉。经国务院同意，现函复如下：\n一、同意。\n国务院办公厅\n一九九六年三月四日\n"
    )
    doc = parse_text(text)
    assert doc.title.text == "国务院办公厅关于黄金经济政策有关问题的复函"
    assert doc.doc_number.text == "国办函〔1996〕16号"
    assert doc.doc_type == "函"
    assert doc.date.text == "一九九六年三月四日"
    assert doc.signatory.text == "国务院办公厅"


def test_document_printed_with_its_attachment():
    text = (
        "国务院关于印发某方案的通知\n国发〔2019〕4号\n各省、自治区、直辖市人民政府：\n"
        "现将《某方案》印发给你们，请认真贯彻执行。\n国务院\n2019年1月24日\n（此件公开发布）\n"
        "某方案\n一、总体要求\n要求如下。\n"
    )
    doc = parse_text(text)
    assert len(doc.body) == 1
    assert doc.attachments[0].title.text == "某方案"
    assert [p.level for p in doc.attachments[0].body] == [1, 0]


def test_order_number_under_the_mark():
    doc = parse_text("中华人民共和国国务院令\n第707号\n现公布《某条例》，自2019年1月1日起施行。\n总理 李克强\n2018年12月18日\n")
    assert doc.issuer_mark.text == "中华人民共和国国务院令"
    assert doc.doc_number.text == "第707号"
    assert doc.signatory.text == "总理 李克强"


def test_headings():
    assert heading_of("十二、总体要求") == (1, "十二、")
    assert heading_of("（三）压实责任") == (2, "（三）")
    assert heading_of("2.明确分工") == (3, "2.")
    assert heading_of("1.5亿元用于补助") == (0, "")
    assert heading_of("（12）其他") == (4, "（12）")


def test_doc_types():
    assert len(type_names()) == 15
    assert type_of_title("关于某事的复函").name == "函"
    assert type_of_title("关于某事的请示").one_matter
    assert get_type("令").name == "命令（令）"
    with pytest.raises(InvalidInput):
        get_type("说明")


def test_bad_input():
    with pytest.raises(EmptyFile):
        parse_text(" \n\u3000\n")
    with pytest.raises(InvalidInput):
        parse_text("字" * 600_000)
    doc = parse_text("没有任何结构的一段话")  # odd text stays in the body, never fails
    assert doc.title.text == "没有任何结构的一段话"


def test_read_from_docx(tmp_path):
    word = DocxDocument()
    for line in FULL.splitlines():
        word.add_paragraph(line)
    path = tmp_path / "notice.docx"
    word.save(path)
    doc = parse_document_bytes(path.read_bytes(), "notice.docx", max_bytes=10_000_000)
    assert doc.title.text == "关于做好2024年防汛工作的通知"
    assert doc.cc.text == "市委各部门，市人大常委会办公室"
