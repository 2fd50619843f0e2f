import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haoban.knowledge.chunk import Chunk, Heading, chunk_text, detect_headings
from haoban.text.sentences import split_sentences

REGULATION = """\
城市供水管理办法
第一章 总则
第一条【立法目的】为了加强城市供水管理，保障用水安全，制定本办法。
第二条 本办法适用于本市行政区域内的城市供水活动。
本办法所称城市供水，是指供水企业以公共供水管道及其附属设施向单位和居民供应生活、生产和其他用水。
第二章 供水设施
第一节 建设
第三条 供水企业有下列情形之一的，由主管部门责令改正：
（一）未按规定建设供水设施的；
（二）擅自停止供水的。
违反前款规定，情节严重的，依法予以处罚。
第四条规定的设施，由供水企业负责维护。
第二节 维护
第四条 供水设施的维护费用由供水企业承担。
"""

GONGWEN = """\
关于推进城市供水工作的意见
各区人民政府：
为做好城市供水工作，现提出如下意见。
一、总体要求
（一）指导思想。坚持以人民为中心，保障供水安全。全面贯彻新发展理念，统筹发展和安全，加快构建
安全、稳定、高效的城市供水体系，不断提升供水服务水平，切实增强人民群众的获得感、幸福感、安全感。
（二）基本原则。坚持统筹规划、分步实施。
1.统筹规划。科学编制供水规划。
2.分步实施。先易后难，稳步推进。
二、重点任务
（一）加强水源保护。划定水源保护区，加强日常巡查。
一、二线城市要率先完成水源地规范化建设。
1.5亿元专项资金用于管网改造。
"""


def by_text(chunks: list[Chunk], needle: str) -> Chunk:
    return next(c for c in chunks if needle in c.text)


# --- headings ---------------------------------------------------------------------------------


def test_regulation_headings():
    heads = detect_headings(REGULATION)
    assert [(h.level, h.label) for h in heads] == [
        (1, "第一章 总则"),
        (2, "第一条【立法目的】"),
        (2, "第二条"),
        (1, "第二章 供水设施"),
        (2, "第一节 建设"),
        (3, "第三条"),
        (4, "（一）未按规定建设供水设施的"),
        (4, "（二）擅自停止供水的"),
        (2, "第二节 维护"),
        (3, "第四条"),
    ]
    for h in heads:
        assert isinstance(h, Heading)
        line = REGULATION[h.start : h.end]
        assert line == line.strip() and "\n" not in line
    assert REGULATION[heads[0].start : heads[0].end] == "第一章 总则"


def test_gongwen_headings_and_false_positives():
    labels = [(h.level, h.label) for h in detect_headings(GONGWEN)]
    assert labels == [
        (1, "一、总体要求"),
        (2, "（一）指导思想"),
        (2, "（二）基本原则"),
        (3, "1.统筹规划"),
        (3, "2.分步实施"),
        (1, "二、重点任务"),
        (2, "（一）加强水源保护"),
    ]  # "一、二线城市", "1.5亿元" and "第四条规定的" are not headings


@pytest.mark.parametrize(
    "line",
    [
        "1.5亿元用于改造。",
        "一、二线城市率先推进。",
        "第三条规定的情形除外。",
        "10、20万元以下罚款。",
        "2019.12 起施行。",
        "附件中所列事项另行规定。",
        "1 15172.500",
    ],
)
def test_not_headings(line):
    assert detect_headings(f"正文。\n{line}\n") == []


def test_numbering_must_run_on():
    # Lines that start with a number out of sequence are wrapped text, not headings
    # (a restart at 1, or a gap of up to 3, is accepted).
    text = "一、甲\n二、乙\n三、丙\n四、丁\n二、是指前款\n九、跳号太多\n七、庚\n一、重新开始\n"
    labels = [h.label for h in detect_headings(text)]
    assert labels == ["一、甲", "二、乙", "三、丙", "四、丁", "七、庚", "一、重新开始"]


def test_chinese_numerals_and_indentation():
    text = "第二十三条 内容。\n\u3000\u3000第二十四条　内容。\n  （十二）项目\n(3) 细目\n"
    assert [(h.level, h.label) for h in detect_headings(text)] == [
        (1, "第二十三条"),
        (1, "第二十四条"),
        (2, "（十二）项目"),
        (3, "(3) 细目"),
    ]
    text = "第一百零四条 内容。\n第一百零五条 内容。\n第一百二十条 跳号。\n"
    assert [h.label for h in detect_headings(text)] == ["第一百零四条", "第一百零五条"]


def test_attachment_resets_the_outline():
    text = "一、正文标题\n正文内容。\n附件2\n某某管理办法\n第一条 为了规范管理，制定本办法。\n附件：相关名单\n名单内容。\n"
    heads = detect_headings(text)
    assert [(h.level, h.label) for h in heads] == [
        (1, "一、正文标题"),
        (1, "附件2 某某管理办法"),
        (2, "第一条"),
        (1, "附件：相关名单"),
    ]
    chunks = chunk_text(text)
    assert by_text(chunks, "第一条").heading_path == "附件2 某某管理办法 > 第一条"
    assert by_text(chunks, "名单内容").heading_path == "附件：相关名单"


def test_dotted_outline():
    text = "1 总则\n1.1 编制目的\n为了有效应对，制定本预案。\n1.2 适用范围\n本预案适用于全国。\n2 组织机构\n2.1 指挥部\n负责指挥。\n"
    assert [(h.level, h.label) for h in detect_headings(text)] == [
        (1, "1 总则"),
        (2, "1.1 编制目的"),
        (2, "1.2 适用范围"),
        (1, "2 组织机构"),
        (2, "2.1 指挥部"),
    ]


def test_long_label_is_truncated():
    text = "一、" + "很长的标题" * 20 + "\n"
    (h,) = detect_headings(text)
    assert len(h.label) == 30 and h.label.endswith("…")


# --- heading paths in chunks --------------------------------------------------------------------


def test_regulation_paths():
    chunks = chunk_text(REGULATION, size=400, overlap=0)
    assert chunks[0].text == "城市供水管理办法" and chunks[0].heading_path == ""
    # The chapter title has no body: it goes in front of its first article, under the article's path.
    first = by_text(chunks, "第一条")
    assert first.text.startswith("第一章 总则\n第一条")
    assert first.heading_path == "第一章 总则 > 第一条【立法目的】"
    # Articles never share a chunk; the article's second 款 stays with it.
    second = by_text(chunks, "第二条")
    assert "第一条" not in second.text and "本办法所称城市供水" in second.text
    assert second.heading_path == "第一章 总则 > 第二条"
    # 项 are packed with their article, and so is the 款 after them.
    third = by_text(chunks, "第三条")
    assert third.text.startswith("第二章 供水设施\n第一节 建设\n第三条")
    assert "（二）擅自停止供水的。" in third.text and "违反前款规定" in third.text
    assert third.heading_path == "第二章 供水设施 > 第一节 建设 > 第三条"
    assert by_text(chunks, "维护费用").heading_path == "第二章 供水设施 > 第二节 维护 > 第四条"


def test_paragraph_after_items_goes_back_to_the_article():
    # Too small for the whole article: the 款 after the 项 gets the article's path, not the last 项's.
    chunks = chunk_text(REGULATION, size=50, overlap=0)
    assert by_text(chunks, "违反前款规定").heading_path == "第二章 供水设施 > 第一节 建设 > 第三条"


def test_gongwen_paths():
    chunks = chunk_text(GONGWEN, size=400, overlap=0)
    assert by_text(chunks, "各区人民政府").heading_path == ""
    guide = by_text(chunks, "指导思想")
    assert guide.text.startswith("一、总体要求\n（一）指导思想。")
    assert guide.heading_path == "一、总体要求 > （一）指导思想"
    # A （一） section opens a chunk of its own; its 1. items join it.
    principles = by_text(chunks, "基本原则")
    assert "指导思想" not in principles.text and "2.分步实施" in principles.text
    assert principles.heading_path == "一、总体要求 > （二）基本原则"
    # A new 一、 never shares a chunk with the previous one.
    water = by_text(chunks, "加强水源保护")
    assert water.text.startswith("二、重点任务") and "分步实施" not in water.text
    assert water.heading_path == "二、重点任务 > （一）加强水源保护"
    assert "一、二线城市" in water.text and "1.5亿元" in water.text


def test_small_sibling_sections_merge_under_the_first_path():
    text = "一、任务\n（一）甲。\n（二）乙。\n（三）丙。\n二、保障\n（一）丁。\n"
    chunks = chunk_text(text, size=400, overlap=0)
    assert [(c.text, c.heading_path) for c in chunks] == [
        ("一、任务\n（一）甲。\n（二）乙。\n（三）丙。", "一、任务 > （一）甲"),
        ("二、保障\n（一）丁。", "二、保障 > （一）丁"),
    ]


def test_table_of_contents_stays_in_one_chunk():
    text = "某某法\n目录\n第一章 总则\n第二章 管理\n第三章 附则\n第一章 总则\n第一条 内容。\n第二章 管理\n第二条 内容。\n"
    chunks = chunk_text(text, size=400, overlap=0)
    assert [(c.text, c.heading_path) for c in chunks] == [
        ("某某法\n目录", ""),
        ("第一章 总则\n第二章 管理\n第三章 附则", "第一章 总则"),
        ("第一章 总则\n第一条 内容。", "第一章 总则 > 第一条"),
        ("第二章 管理\n第二条 内容。", "第二章 管理 > 第二条"),
    ]


def test_one_line_sections_are_not_merged_across_hard_headings():
    text = "一、第一项规定内容。\n二、第二项规定内容。\n三、第三项规定内容。\n"
    assert [c.heading_path for c in chunk_text(text)] == [
        "一、第一项规定内容",
        "二、第二项规定内容",
        "三、第三项规定内容",
    ]


def test_list_items_pack_together():
    items = "\n".join(f"{i}.第{i}项工作内容，按要求落实。" for i in range(1, 21))
    text = f"一、工作清单\n{items}\n"
    chunks = chunk_text(text, size=100, overlap=0)
    assert len(chunks) < 10
    assert all(len(c.text) <= 100 for c in chunks)
    # The title line is not a section of its own: items join it under its path; later chunks
    # are cited at their first item.
    assert chunks[0].text.startswith("一、工作清单\n1.") and chunks[0].heading_path == "一、工作清单"
    for c in chunks[1:]:
        first_item = c.text.split("。")[0]
        assert c.heading_path == f"一、工作清单 > {first_item}"


# --- sizes, overlap, long sentences -------------------------------------------------------------


SECTION = "".join(f"第{i}句话的内容。" for i in range(1, 41))  # 40 sentences of 7-8 chars


def test_packing_respects_size_and_sentences():
    chunks = chunk_text(SECTION, size=50, overlap=0)
    starts = {a for a, _ in split_sentences(SECTION)}
    ends = {b for _, b in split_sentences(SECTION)}
    for c in chunks:
        assert len(c.text) <= 50
        assert c.start in starts and c.end in ends
    assert "".join(c.text for c in chunks) == SECTION


def test_overlap_repeats_whole_trailing_sentences():
    chunks = chunk_text(SECTION, size=50, overlap=20)
    starts = {a for a, _ in split_sentences(SECTION)}
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start in starts
        assert 0 < a.end - b.start <= 20  # sentences here are 7-8 chars: some always fit
        assert SECTION[b.start : a.end] == a.text[len(a.text) - (a.end - b.start) :]
        assert len(b.text) <= 50


def test_overlap_never_crosses_sections():
    text = "第一条 " + SECTION + "\n第二条 " + SECTION
    chunks = chunk_text(text, size=60, overlap=30)
    second = text.index("第二条")
    assert any(c.start < c.end <= second for c in chunks)
    for c in chunks:
        assert not (c.start < second < c.end)
        assert c.heading_path == ("第一条" if c.start < second else "第二条")
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False))


def test_long_sentence_within_twice_size_is_kept_whole():
    sentence = "这是一个很长的句子，" * 7 + "结束。"  # 73 chars
    chunks = chunk_text(f"短句。{sentence}短句。", size=40, overlap=10)
    assert any(c.text == sentence for c in chunks)


def test_overlong_sentence_is_cut_at_clause_marks():
    sentence = "甲乙丙丁戊己庚辛，" * 30 + "完。"  # 272 chars, > 2 * 100
    chunks = chunk_text(sentence, size=100, overlap=0)
    assert "".join(c.text for c in chunks) == sentence
    assert all(len(c.text) <= 100 for c in chunks)
    assert all(c.text.endswith("，") for c in chunks[:-1])


def test_overlong_sentence_without_marks_is_cut_hard():
    text = "字" * 1000
    chunks = chunk_text(text, size=300, overlap=50)
    assert [len(c.text) for c in chunks] == [300, 300, 300, 100]
    assert "".join(c.text for c in chunks) == text


def test_unstructured_news_text():
    news = "农业农村部开展专项法治宣传行动 为切实做好防控工作，根据工作方案，启动专项行动。" * 30
    chunks = chunk_text(news, size=400, overlap=80)
    assert len(chunks) > 3
    assert all(c.heading_path == "" and len(c.text) <= 400 for c in chunks)


def test_empty_and_whitespace():
    assert chunk_text("") == []
    assert chunk_text(" \n\u3000\t\n") == []
    assert chunk_text("  只有一句  ") == [Chunk(2, 6, "只有一句", "")]


def test_bad_arguments():
    with pytest.raises(ValueError):
        chunk_text("内容。", size=0)
    with pytest.raises(ValueError):
        chunk_text("内容。", overlap=-1)


# --- properties ---------------------------------------------------------------------------------

FRAGMENTS = [
    "。", "！", "？", "；", "，", "、", "：", "“", "”", "（", "）", "……", "3.5", "\n", "\n\n", " ", "\u3000",
    "第三条 ", "第十二条【适用范围】", "第一章 总则", "第二节 ", "一、", "二、", "（一）", "（二）", "1.", "2、",
    "（1）", "附件1", "附件：", "1.1 ", "政府", "工作", "推进", "abc", "Hello. ",
]  # fmt: skip
texts = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.sampled_from(FRAGMENTS).map(lambda f: "\n" + f),
        st.text(alphabet="的是在政策一二。，“”（）\n ", max_size=40),
    ),
    max_size=80,
).map("".join)


def check_chunks(text: str, size: int, overlap: int) -> None:
    chunks = chunk_text(text, size, overlap)
    sentences = split_sentences(text)
    sentence_starts = {a for a, _ in sentences}
    sentence_spans = set(sentences)
    covered = bytearray(len(text))
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.text and c.text == c.text.strip()
        covered[c.start : c.end] = b"\x01" * (c.end - c.start)
        if len(c.text) > size:  # only a single sentence, and then at most 2 * size
            assert (c.start, c.end) in sentence_spans and len(c.text) <= 2 * size
    assert all(covered[i] or ch.isspace() for i, ch in enumerate(text))
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.start < b.start and a.end < b.end
        if b.start < a.end:  # overlap: whole sentences, within budget, inside one section
            assert overlap > 0 and a.end - b.start <= overlap
            assert b.start in sentence_starts
            assert a.heading_path == b.heading_path


@settings(max_examples=300, deadline=None)
@given(texts, st.integers(1, 120), st.integers(0, 60))
def test_chunk_invariants(text, size, overlap):
    check_chunks(text, size, overlap)


@settings(max_examples=100, deadline=None)
@given(texts)
def test_chunk_invariants_default_size(text):
    check_chunks(text * 5, 400, 80)


@settings(max_examples=100, deadline=None)
@given(texts)
def test_paths_are_heading_paths(text):
    heads = detect_headings(text)
    labels = {h.label for h in heads}
    for c in chunk_text(text, 60, 20):
        assert c.heading_path == "" or all(part in labels for part in c.heading_path.split(" > "))
    assert all(a.start < b.start for a, b in zip(heads, heads[1:], strict=False))
