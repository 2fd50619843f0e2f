"""Metadata of 公文 from text. The excerpts are written for these tests in the usual layouts."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haoban.knowledge.parse import extract_metadata
from haoban.knowledge.parse.base import clean_layout_text
from haoban.knowledge.parse.metadata import chinese_number, parse_date

# Layout of documents as published on government websites: title, number, addressee … signature, date.
WEB_STYLE = """国务院办公厅关于进一步做好
基层政务公开标准化规范化工作的意见
国办发〔2021〕17号
各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
为贯彻落实党中央、国务院关于全面推进政务公开的部署，经国务院同意，现提出以下意见。
一、总体要求
坚持以人民为中心，到2023年基本建成全国统一的基层政务公开标准体系。
二、主要任务
（一）完善目录。各地区要在2021年底前完成目录编制。
国务院办公厅
2021年5月10日
（此件公开发布）"""

# Printed layout (GB/T 9704): masthead, number, then the title, and a Chinese-numeral date.
MASTHEAD_STYLE = """示范省人民政府文件
示政发［2019］7号
示范省人民政府
关于印发农村人居环境整治实施方案的通知
各市、县人民政府，省政府各部门：
现将《农村人居环境整治实施方案》印发给你们，请认真贯彻执行。
示范省人民政府
二〇一九年一月二十七日
（此件主动公开）"""

ORDER_STYLE = """中华人民共和国国务院令
第　７０９号
《示范管理条例》已经2019年2月20日国务院第40次常务会议通过，现予公布，自2019年5月1日起施行。
总理　某某某
2019年3月2日
示范管理条例
第一章　总则
第一条　为了规范示范管理，制定本条例。"""


def test_web_style_document():
    meta = extract_metadata(WEB_STYLE)
    assert meta == {
        "title": "国务院办公厅关于进一步做好基层政务公开标准化规范化工作的意见",
        "issuer": "国务院办公厅",
        "doc_number": "国办发〔2021〕17号",
        "written_date": datetime.date(2021, 5, 10),
        "publish_date": None,
    }


def test_masthead_style_document():
    meta = extract_metadata(MASTHEAD_STYLE)
    assert meta["title"] == "示范省人民政府关于印发农村人居环境整治实施方案的通知"
    assert meta["doc_number"] == "示政发〔2019〕7号"
    assert meta["issuer"] == "示范省人民政府"
    assert meta["written_date"] == datetime.date(2019, 1, 27)


def test_order_document():
    meta = extract_metadata(ORDER_STYLE)
    assert meta["doc_number"] == "国务院令第709号"
    assert meta["issuer"] == "国务院"
    assert meta["title"] == "示范管理条例"
    assert meta["written_date"] == datetime.date(2019, 3, 2)


def test_order_number_on_one_line():
    meta = extract_metadata(
        "示范市人民政府令第285号\n《示范市物业管理办法》已经市政府常务会议通过，现予公布。"
    )
    assert meta["doc_number"] == "示范市人民政府令第285号"
    assert meta["issuer"] == "示范市人民政府"
    assert meta["title"] == "示范市物业管理办法"


@pytest.mark.parametrize(
    "line",
    ["京政发〔2020〕3号", "京政发[2020]3号", "京政发［2020］3号", "京政发(2020)3号", "京政发（2020）3号",
     "京政发 〔 2020 〕 3 号", "京政发〔２０２０〕３号", "（京政发〔2020〕3号）", "京政发〔2020〕3号　签发人：张某"],
)  # fmt: skip
def test_doc_number_brackets_normalised(line: str):
    assert (
        extract_metadata(f"北京市人民政府关于某事项的通知\n{line}\n各区人民政府：\n正文。")["doc_number"]
        == "京政发〔2020〕3号"
    )


def test_masthead_announcement_without_addressee():
    text = "示范市市场监督管理局文件\n示市监〔2022〕8号\n示范市市场监督管理局\n关于规范价格行为的公告\n为维护市场秩序，现就有关事项公告如下。"
    meta = extract_metadata(text)
    assert meta["title"] == "示范市市场监督管理局关于规范价格行为的公告"
    assert meta["issuer"] == "示范市市场监督管理局"


def test_info_box_line_is_not_a_title():
    meta = extract_metadata("索引号： | 11350000/2022-00012 | 分类： | 通知\n各有关单位要认真执行。")
    assert meta["title"] is None


def test_doc_number_cited_in_body_is_not_taken():
    text = "关于做好安全生产工作的通知\n各单位：\n根据《国务院办公厅关于加强安全生产的通知》（国办发〔2016〕82号）要求，现通知如下。"
    assert extract_metadata(text)["doc_number"] is None


def test_joint_issuers_and_forwarding():
    text = "国务院办公厅、中央军委办公厅关于加强\n某某工作的通知\n国办发〔1996〕25号\n正文。"
    assert extract_metadata(text)["issuer"] == "国务院办公厅、中央军委办公厅"
    text = "国务院办公厅转发国家发展改革委关于\n某某意见的通知\n国办发〔2020〕1号\n正文。"
    assert extract_metadata(text)["issuer"] == "国务院办公厅"


def test_issuer_from_signature_when_title_has_none():
    text = "关于开展2022年度安全检查的通知\n各科室：\n请于月底前完成自查。\n示范县应急管理局\n2022年3月1日"
    meta = extract_metadata(text)
    assert meta["title"] == "关于开展2022年度安全检查的通知"
    assert meta["issuer"] == "示范县应急管理局"
    assert meta["written_date"] == datetime.date(2022, 3, 1)


def test_joint_signature_on_one_line():
    text = "关于联合开展检查的通知\n各单位：\n请配合检查。\n示范市教育局　示范市财政局\n2022年3月1日"
    assert extract_metadata(text)["issuer"] == "示范市教育局、示范市财政局"


def test_written_date_ignores_attachment_dates():
    text = (
        WEB_STYLE
        + "\n附件\n某某工作情况报告\n国务院办公厅：\n现将情况报告如下。\n示范省人民政府\n2021年4月2日"
    )
    assert extract_metadata(text)["written_date"] == datetime.date(2021, 5, 10)


def test_title_hint_wins():
    meta = extract_metadata(WEB_STYLE, title_hint="教育部关于某事项的通知")
    assert meta["title"] == "教育部关于某事项的通知"
    assert meta["issuer"] == "教育部"


def test_labelled_fields():
    text = (
        "索引号： | 000014349/2019-00007 | 主题分类： | 市场监管\n"
        "发文机关： | 国务院 | 成文日期： | 2019年01月27日\n"
        "标　　题： | 国务院关于某事项的意见\n"
        "发文字号： | 国发[2019]5号 | 发布日期： | 2019年02月15日\n"
        "正文第一段。"
    )
    meta = extract_metadata(text)
    assert meta == {
        "title": "国务院关于某事项的意见",
        "issuer": "国务院",
        "doc_number": "国发〔2019〕5号",
        "written_date": datetime.date(2019, 1, 27),
        "publish_date": datetime.date(2019, 2, 15),
    }


def test_publish_date_label_in_text():
    text = "关于某事项的公告\n发布时间：2023-04-05 10:00　来源：某局\n正文。"
    assert extract_metadata(text)["publish_date"] == datetime.date(2023, 4, 5)


def test_spaced_title_is_compacted():
    text = "国务院关于棉粮挂钩\n几 个 问 题 的 通 知\n国发〔1981〕88号\n正文。"
    assert extract_metadata(text)["title"] == "国务院关于棉粮挂钩几个问题的通知"


def test_not_a_government_document():
    meta = extract_metadata("今天天气很好，我们去公园散步，看到很多人在锻炼身体，还有人在湖边钓鱼。")
    assert meta == {
        "title": None,
        "issuer": None,
        "doc_number": None,
        "written_date": None,
        "publish_date": None,
    }
    assert extract_metadata("")["title"] is None


@pytest.mark.parametrize(
    "text,value",
    [
        ("十", 10),
        ("三", 3),
        ("十二", 12),
        ("二十", 20),
        ("二十七", 27),
        ("三十一", 31),
        ("27", 27),
        ("十十", None),
        ("甲", None),
    ],
)
def test_chinese_number(text: str, value: int | None):
    assert chinese_number(text) == value


@pytest.mark.parametrize(
    "text,value",
    [
        ("二〇一九年一月二十七日", datetime.date(2019, 1, 27)),
        ("一九九六年十二月三十日", datetime.date(1996, 12, 30)),
        ("二○○四年十月十五日", datetime.date(2004, 10, 15)),
        ("2019年01月27日", datetime.date(2019, 1, 27)),
        ("２０１９年１月２７日", datetime.date(2019, 1, 27)),
        ("2019-02-15 08:00", datetime.date(2019, 2, 15)),
        ("2019/2/5", datetime.date(2019, 2, 5)),
        ("2019.02.15", datetime.date(2019, 2, 15)),
        ("2019年2月30日", None),
        ("无日期", None),
    ],
)
def test_parse_date(text: str, value: datetime.date | None):
    assert parse_date(text) == value


def test_metadata_survives_hard_wrapped_layout():
    """The same document as it comes off PDF pages: wrapped at 28 characters, with page numbers."""
    lines = []
    for line in WEB_STYLE.split("\n"):
        lines += [line[i : i + 28] for i in range(0, len(line), 28)] or [""]
    body = [f"第{i}段正文，" + "这是为了让正文足够长而重复的内容" * 3 + "。" for i in range(8)]
    for paragraph in body:
        lines += [paragraph[i : i + 28] for i in range(0, len(paragraph), 28)]
    lines.insert(9, "— 1 —")
    cleaned = clean_layout_text("\n".join(lines))
    assert all(paragraph in cleaned.split("\n") for paragraph in body)
    assert "— 1 —" not in cleaned
    meta = extract_metadata(cleaned)
    assert meta["title"] == "国务院办公厅关于进一步做好基层政务公开标准化规范化工作的意见"
    assert meta["doc_number"] == "国办发〔2021〕17号"


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            list("国务院办公厅关于发〔〕[]()（）年月日号第令：:，。、\n 0123456789一二十〇文件《》|")
        ),
        max_size=300,
    )
)
def test_never_raises(text: str):
    meta = extract_metadata(text)
    assert set(meta) == {"title", "issuer", "doc_number", "written_date", "publish_date"}
