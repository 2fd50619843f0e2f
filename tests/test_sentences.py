from hypothesis import given, settings
from hypothesis import strategies as st

from haoban.text.sentences import LINE_BREAKS, split_sentences


def sents(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_terminators():
    assert sents("今天天气很好。我们去公园！你去吗？好") == [
        "今天天气很好。",
        "我们去公园！",
        "你去吗？",
        "好",
    ]


def test_repeated_terminators_stay_together():
    assert sents("真的吗？！是的。。下一句") == ["真的吗？！", "是的。。", "下一句"]


def test_semicolon_ends_a_sentence():
    assert sents("（一）未登记的；（二）逾期的。") == ["（一）未登记的；", "（二）逾期的。"]


def test_line_break_ends_a_sentence():
    assert sents("第一行没有标点\n第二行。\r\n第三行") == ["第一行没有标点", "第二行。", "第三行"]


def test_whitespace_is_trimmed_and_skipped():
    text = "  你好。  \n\n \u3000再见。 "
    assert sents(text) == ["你好。", "再见。"]
    assert split_sentences("") == []
    assert split_sentences(" \n\t\u3000 ") == []


def test_quote_kept_whole_and_closing_quote_stays():
    text = "他说：“今天很好。明天也好。”然后走了。"
    assert sents(text) == ["他说：“今天很好。明天也好。”", "然后走了。"]


def test_quote_without_terminator_inside():
    assert sents("推行“双随机、一公开”监管。下一句。") == ["推行“双随机、一公开”监管。", "下一句。"]


def test_closing_bracket_after_terminator_stays():
    assert sents("（详见附件。）下一句。") == ["（详见附件。）", "下一句。"]
    assert sents("「好。」『对！』完") == ["「好。」", "『对！』", "完"]


def test_nested_quotes():
    assert sents("他说：“她说‘走吧。’我同意。”完了。") == ["他说：“她说‘走吧。’我同意。”", "完了。"]


def test_unclosed_quote_does_not_swallow_the_line():
    assert sents("他说“没关闭。继续。\n下一行。") == ["他说“没关闭。", "继续。", "下一行。"]
    assert sents("开头“没有闭合。后面还有。") == ["开头“没有闭合。", "后面还有。"]


def test_very_long_quote_is_split_inside():
    inner = "这是引用的一句话，内容很长。" * 30  # 420 chars
    text = f"他说：“{inner}”结束。"
    out = sents(text)
    assert len(out) > 10
    assert "".join(out) == text


def test_stray_closers_are_harmless():
    assert sents("1）第一项。2）第二项。") == ["1）第一项。", "2）第二项。"]


def test_decimals_are_not_split():
    text = "增长3.5%，比上年提高0.8个百分点。总额1.5亿元。"
    assert sents(text) == ["增长3.5%，比上年提高0.8个百分点。", "总额1.5亿元。"]


def test_list_markers_at_line_start():
    assert sents("1. 总体要求\n2. 基本原则") == ["1. 总体要求", "2. 基本原则"]
    assert sents("（1）加强领导。（2）落实责任。") == ["（1）加强领导。", "（2）落实责任。"]
    assert sents("a. first item\nb. second item") == ["a. first item", "b. second item"]


def test_ellipsis():
    assert sents("包括粮食、棉花、油料……等等。") == ["包括粮食、棉花、油料……等等。"]
    assert sents("他说……。好。") == ["他说……。", "好。"]
    assert sents("“什么……？”他问。") == ["“什么……？”", "他问。"]


def test_mixed_english():
    text = "The policy took effect. 政策自2019年1月1日起施行。See www.gov.cn for details... 完"
    assert sents(text) == [
        "The policy took effect.",
        "政策自2019年1月1日起施行。",
        "See www.gov.cn for details...",
        "完",
    ]
    assert sents("Version 2.0 is out! Great? Yes") == ["Version 2.0 is out!", "Great?", "Yes"]
    assert sents("好吗?好的") == ["好吗?", "好的"]
    assert sents("a?b") == ["a?b"]  # glued to an ASCII word: not an end (URLs)


def test_ascii_marks_inside_urls_are_not_ends():
    assert sents("访问 http://a.gov.cn/x.php?id=1;b=2 查询。") == [
        "访问 http://a.gov.cn/x.php?id=1;b=2 查询。"
    ]


def test_deep_nesting_and_garbage():
    text = "（" * 5000 + "。" + "》" * 5000 + "。" + "）" * 100
    spans = split_sentences(text)
    assert "".join(text[a:b] for a, b in spans) == text


FRAGMENTS = [
    "。", "！", "？", "!", "?", "；", "，", "、", "：", "“", "”", "‘", "’", "（", "）", "(", ")",
    "《", "》", "……", "...", ".", "3.5", "1. ", "（1）", "一、", "第三条 ", "\n", "\r\n", " ", "\u3000",
    "政府", "工作", "abc", "Hello. ", "。”", "？」",
]  # fmt: skip
texts = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(alphabet="的是在一二。，“”（）\n .a1", max_size=12)),
    max_size=60,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_spans_partition_the_non_whitespace(text):
    spans = split_sentences(text)
    prev_end = 0
    for a, b in spans:
        assert prev_end <= a < b <= len(text)
        assert text[prev_end:a].strip() == ""  # only whitespace between sentences
        assert not text[a].isspace() and not text[b - 1].isspace()
        assert not any(c in LINE_BREAKS for c in text[a:b])
        prev_end = b
    assert text[prev_end:].strip() == ""


def test_double_ideographic_space_is_a_paragraph_break():
    text = "第一段。\u3000\u3000第二段没有句号\u3000\u3000第三段"
    assert sents(text) == ["第一段。", "第二段没有句号", "第三段"]
    assert sents("国\u3000家\u3000粮\u3000食") == ["国\u3000家\u3000粮\u3000食"]
    assert sents("【政策依据】 \u3000\u30001. 《税法》第八条") == ["【政策依据】", "1. 《税法》第八条"]
