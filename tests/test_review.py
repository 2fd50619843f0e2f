"""智能审核: each rule fires on a bad example and stays quiet on good documents; spans point at the text;
replacements fix what they flag; bad input is refused with a Chinese message."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from haoban.apps.gongwen.review import Finding, list_rules, review, select_rules
from haoban.errors import EmptyFile, InvalidInput

DATA = Path(__file__).parent / "data" / "gongwen"
NOTICE = (DATA / "notice_full.txt").read_text("utf-8")
REQUEST = (DATA / "review_request.txt").read_text("utf-8")
REPORT = (DATA / "review_report.txt").read_text("utf-8")
REPLY = (DATA / "review_reply.txt").read_text("utf-8")
LETTER = (DATA / "review_letter.txt").read_text("utf-8")
GOOD = {"notice": NOTICE, "request": REQUEST, "report": REPORT, "reply": REPLY, "letter": LETTER}
NO_TYPO = ["-wording.typo"]


def swap(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def hits(text: str, rule: str) -> list[Finding]:
    return [f for f in review(text, rules=NO_TYPO).findings if f.rule == rule]


def apply(text: str, f: Finding) -> str:
    assert f.replacement is not None
    return text[: f.start] + f.replacement + text[f.end :]


def one(text: str, rule: str, flagged: str) -> Finding:
    """The single finding of `rule`; its span must cover exactly `flagged`."""
    found = hits(text, rule)
    assert len(found) == 1, [(f.text, f.message) for f in found]
    f = found[0]
    assert text[f.start : f.end] == f.text == flagged
    assert f.message and f.category == rule.split(".")[0]
    return f


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_documents_are_quiet(name):
    report = review(GOOD[name], rules=NO_TYPO)
    assert report.findings == [], [(f.rule, f.text, f.message) for f in report.findings]
    assert report.chars == len(GOOD[name]) and report.doc_type


def test_report_fields():
    bad = swap(NOTICE, "〔2024〕12号", "[2024]12号")
    report = review(bad, rules=NO_TYPO)
    assert report.doc_type == "通知" and report.title == "关于做好2024年防汛工作的通知"
    assert report.counts == {"format": 1} and report.severities == {"error": 1}
    assert report.took_ms > 0 and "format.doc_number" in report.rules and "wording.typo" not in report.rules


# --- title and 文种 ---------------------------------------------------------------------------------------------


def test_title_without_doc_type():
    bad = swap(NOTICE, "防汛工作的通知", "防汛工作")
    one(bad, "format.title.doc_type", "工作")
    assert "缺少文种" in hits(bad, "format.title.doc_type")[0].message


def test_title_with_non_statutory_type():
    f = one(swap(REQUEST, "防洪堤的请示", "防洪堤的请示报告"), "format.title.doc_type", "请示报告")
    assert "混用" in f.message
    one(swap(NOTICE, "防汛工作的通知", "防汛工作的实施方案"), "format.title.doc_type", "实施方案")


def test_forwarding_title_must_be_a_notice():
    bad = swap(NOTICE, "关于做好2024年防汛工作的通知", "××市人民政府办公室转发市水利局关于做好防汛工作的意见")
    one(bad, "format.title.doc_type", "意见")


def test_title_missing_de_and_punctuation():
    f = one(swap(NOTICE, "防汛工作的通知", "防汛工作通知"), "format.title.structure", "通知")
    assert f.replacement == "的通知"
    bad = swap(NOTICE, "防汛工作的通知", "防汛工作的通知。")
    f = one(bad, "format.title.punctuation", "。")
    assert apply(bad, f) == NOTICE


def test_request_needs_a_request_ending():
    f = one(swap(REQUEST, "妥否，请批示。\n", ""), "format.doc_type.request_ending", "县财政已安排配套资金400万元，尚有缺口800万元。恳请市政府从防汛专项资金中给予补助。")
    assert f.severity == "error"


def test_request_with_several_requests():
    bad = swap(REQUEST, "工期约4个月。", "工期约4个月。请批准。")
    found = hits(bad, "format.doc_type.multi_request")
    assert [f.text for f in found] == ["请批准"]


def test_report_must_not_carry_a_request():
    f = one(swap(REPORT, "特此报告。", "以上报告，请批准。"), "format.doc_type.request_phrase", "请批准")
    assert f.severity == "error"
    # "已报请市政府批准" describes a step taken and is not a request.
    assert not hits(swap(REPORT, "超额完成年度目标。", "超额完成年度目标，方案已报请市政府批准。"), "format.doc_type.request_phrase")


def test_letter_must_not_use_request_wording():
    one(swap(LETTER, "请予函复。", "妥否，请批示。"), "format.doc_type.request_phrase", "妥否，请批示")


def test_reply_cites_the_incoming_document():
    bad = swap(REPLY, "你区《关于设立××经济开发区管理委员会的请示》（×区政〔2024〕21号）收悉。经研究，现批复如下：", "经研究，现批复如下：")
    one(bad, "format.doc_type.reply_source", "××市人民政府关于同意设立××经济开发区管理委员会的批复")


# --- 发文字号 and dates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ["[2024]12号", "（2024）12号", "【2024】12号", "〔2024〕第12号", "〔2024〕012号", "(2024)第012号"],
)
def test_doc_number_forms(written):
    bad = swap(NOTICE, "〔2024〕12号", written)
    f = one(bad, "format.doc_number", written)
    assert f.replacement == "〔2024〕12号" and apply(bad, f) == NOTICE


def test_doc_number_two_digit_year_has_no_automatic_fix():
    f = one(swap(NOTICE, "〔2024〕12号", "〔24〕12号"), "format.doc_number", "〔24〕12号")
    assert "四位" in f.message and f.replacement is None


def test_cited_doc_numbers_are_checked_too():
    bad = swap(REPLY, "（×区政〔2024〕21号）", "（×区政[2024]21号）")
    assert one(bad, "format.doc_number", "[2024]21号").replacement == "〔2024〕21号"


def test_date_leading_zero():
    bad = swap(NOTICE, "××市人民政府\n2024年5月6日", "××市人民政府\n2024年05月06日")
    f = one(bad, "format.date", "2024年05月06日")
    assert f.severity == "error" and apply(bad, f) == NOTICE


def test_date_in_chinese_numerals_after_gbt9704_2012():
    bad = swap(NOTICE, "××市人民政府\n2024年5月6日", "××市人民政府\n二〇二四年五月六日")
    f = one(bad, "format.date", "二〇二四年五月六日")
    assert f.severity == "warning" and apply(bad, f) == NOTICE
    # 1996: GB/T 9704-1999 wrote dates in Chinese numerals.
    old = swap(NOTICE, "××市人民政府\n2024年5月6日", "××市人民政府\n一九九六年五月六日")
    assert not hits(old, "format.date")
    f = one(swap(old, "一九九六年", "一九九○年"), "format.date", "一九九○年五月六日")
    assert f.replacement == "一九九〇年五月六日"


# --- headings --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), [("1.明确", "1、明确"), ("（一）压实", "（一）、压实"), ("（1）区长", "(1)区长"), ("一、提高", "一.提高")])
def test_heading_label_forms(old, new):
    bad = swap(NOTICE, old, new)
    label = new[: len(new) - 2]
    f = one(bad, "format.heading.label", label)
    assert apply(bad, f) == NOTICE


def test_heading_level_skip():
    bad = swap(NOTICE, "（一）压实责任。", "（1）压实责任。")
    f = one(bad, "format.heading.level", "（1）")
    assert f.severity == "warning"  # （一） is used elsewhere? no — but 1. is, so the skip is an inconsistency


def test_heading_numbering_gap_and_duplicate():
    one(swap(NOTICE, "二、加强监测预警", "三、加强监测预警"), "format.heading.sequence", "三、")
    one(swap(NOTICE, "二、加强监测预警", "一、加强监测预警"), "format.heading.sequence", "一、")


def test_continuous_second_level_numbering_is_accepted():
    text = swap(NOTICE, "二、加强监测预警\n各部门要加强监测。", "二、加强监测预警\n（二）加强监测。各部门要加强监测。")
    assert not hits(text, "format.heading.sequence")  # 国务院 documents number （一）（二）… through the text


# --- addressee, attachments, 版记, 签发人 ---------------------------------------------------------------------------


def test_missing_addressee():
    one(swap(NOTICE, "各区人民政府，市政府各部门：\n", ""), "format.addressee", "关于做好2024年防汛工作的通知")
    assert not hits(swap(REPORT, "××市人民政府：\n", "××市人民政府：\n"), "format.addressee")


def test_attachment_note_punctuation_and_count():
    bad = swap(NOTICE, "2.应急物资清单\n××市", "2.应急物资清单。\n××市")
    f = one(bad, "format.attachment", "。")
    assert apply(bad, f) == NOTICE
    one(swap(REQUEST, "给予补助。", "给予补助（见附件3）。"), "format.attachment", "见附件3")
    one(swap(NOTICE, "附件：1.防汛责任人名单", "附件：1.防汛值班表"), "format.attachment", "防汛值班表")
    one(swap(NOTICE, "附件：1.防汛", "附件1.防汛"), "format.attachment", "附件")


def test_record_block():
    bad = swap(NOTICE, "市人大常委会办公室。", "市人大常委会办公室")
    f = one(bad, "format.record", "室")
    assert apply(bad, f) == NOTICE
    bad = swap(NOTICE, "抄送：", "抄报：")
    f = one(bad, "format.record", "抄报")
    assert apply(bad, f) == NOTICE


def test_upward_document_needs_signer_on_masthead():
    one(swap(REQUEST, "    签发人：王××", ""), "format.signer", "×政〔2024〕15号")


# --- punctuation -------------------------------------------------------------------------------------------------


def test_halfwidth_punctuation():
    bad = swap(REPORT, "部分区县工作进展不平衡，扬尘", "部分区县工作进展不平衡,扬尘")
    f = one(bad, "format.punct.halfwidth", ",")
    assert apply(bad, f) == REPORT
    bad = swap(REPLY, "（×区政〔2024〕21号）", "(×区政〔2024〕21号)")
    f = one(bad, "format.punct.halfwidth", "(×区政〔2024〕21号)")
    assert apply(bad, f) == REPLY


def test_halfwidth_quiet_on_numbers_times_and_urls():
    text = swap(REPORT, "淘汰老旧车辆1568辆。", "淘汰老旧车辆1,568辆，8:30前上报，详见https://www.example.gov.cn/a?b=1,2。")
    assert not hits(text, "format.punct.halfwidth")


def test_unpaired_marks():
    bad = swap(LETTER, "研学旅行的意见》", "研学旅行的意见")
    f = one(bad, "format.punct.pairs", "《")
    assert f.start == bad.index("《教育部")
    one(swap(NOTICE, "（一）压实责任。", "（一）压实责任）。"), "format.punct.pairs", "）")


def test_cited_title_without_book_marks():
    bad = swap(LETTER, "《教育部等11部门关于推进中小学生研学旅行的意见》", "教育部等11部门关于推进中小学生研学旅行的意见")
    f = one(bad, "format.punct.book_title", "教育部等11部门关于推进中小学生研学旅行的意见")
    assert apply(bad, f) == LETTER
    bad = swap(REPLY, "《中华人民共和国城乡规划法》", "中华人民共和国城乡规划法")
    assert apply(bad, one(bad, "format.punct.book_title", "中华人民共和国城乡规划法")) == REPLY


# --- wording -----------------------------------------------------------------------------------------------------


def test_de_used_for_di():
    bad = swap(REPORT, "我局认真落实大气", "我局认真的落实大气")
    f = one(bad, "wording.de_di_de", "的")
    assert f.replacement == "地" and apply(bad, f) == swap(REPORT, "我局认真落实大气", "我局认真地落实大气")


def test_de_used_for_de_complement():
    bad = swap(REPORT, "超额完成年度目标。", "各项工作做的很好。")
    f = one(bad, "wording.de_di_de", "的")
    assert f.replacement == "得"


def test_de_di_de_quiet_on_noun_phrases():
    text = swap(REPORT, "超额完成年度目标。", "形成有效的监管，采取积极的推进措施，认真的态度值得肯定，所做的很好。")
    assert not hits(text, "wording.de_di_de")


@pytest.mark.parametrize(
    ("old", "new", "flagged", "fixed"),
    [
        ("截至2024年6月30日", "截止2024年6月30日", "截止", "截至"),
        ("扬尘管控", "其它扬尘管控", "其它", "其他"),
        ("按照市政府工作部署", "按照市政府工作布署", "布署", "部署"),
        ("部分区县工作", "部分区县灌彻工作", "灌彻", "贯彻"),
    ],
)
def test_wording_list(old, new, flagged, fixed):
    bad = swap(REPORT, old, new)
    f = one(bad, "wording.usage", flagged)
    assert f.replacement == fixed and "依据" in f.suggestion


def test_wording_list_book_title_comma():
    bad = swap(REPLY, "《中华人民共和国城乡规划法》和", "《中华人民共和国城乡规划法》、《中华人民共和国土地管理法》和")
    f = one(bad, "wording.usage", "、")
    assert f.replacement == ""


def test_weekday_and_impossible_dates():
    bad = swap(REPORT, "截至2024年6月30日", "截至2024年6月30日（星期一）")
    one(bad, "wording.consistency", "2024年6月30日（星期一）")  # it was a Sunday
    assert not hits(swap(REPORT, "截至2024年6月30日", "截至2024年6月30日（星期日）"), "wording.consistency")
    one(swap(REPORT, "截至2024年6月30日", "截至2024年6月31日"), "wording.consistency", "2024年6月31日")


def test_past_date_after_the_document_date():
    bad = swap(REPORT, "截至2024年6月30日", "截至2024年7月30日")  # the report is dated 2024-07-08
    one(bad, "wording.consistency", "2024年7月30日")
    assert not hits(swap(REPORT, "确保完成全年目标任务", "确保2024年9月30日前完成全年目标任务"), "wording.consistency")


def test_amount_in_words_and_figures():
    bad = swap(REQUEST, "总投资约1200万元", "总投资壹仟贰佰万元（12000000元）")
    assert not hits(bad, "wording.consistency")
    one(swap(REQUEST, "总投资约1200万元", "总投资壹仟贰佰万元（1300万元）"), "wording.consistency", "壹仟贰佰万元（1300万元）")


def test_typo_rule_uses_the_spelling_checker():
    # The real offline checker: a misused character inside an otherwise clean report.
    text = REPORT.replace("。", "。请各单位认真贯切落实。", 1)
    found = [f for f in review(text, rules="wording.typo").findings]
    assert [(f.rule, f.text) for f in found] == [("wording.typo", "切")]
    assert text[found[0].start : found[0].end] == "切" and "彻" in found[0].suggestion + (found[0].replacement or "")
    assert review(REPORT, rules="wording.typo").findings == []


# --- safety ------------------------------------------------------------------------------------------------------


def test_personal_information():
    bad = swap(REPORT, "我局将坚持", "获奖人张三（身份证号11010519491231002X）。我局将坚持")
    f = one(bad, "safety.pii", "11010519491231002X")
    assert f.severity == "warning" and f.replacement and "*" in f.replacement


def test_sensitive_words_through_a_lexicon():
    text = swap(REPORT, "扬尘管控", "某违禁词管控")
    at = text.index("违禁词")
    match = SimpleNamespace(start=at, end=at + 3, category="违禁", action="block", term="违禁词")
    lexicon = SimpleNamespace(check=lambda t: SimpleNamespace(matches=[match], truncated=False))
    f = [f for f in review(text, lexicon=lexicon, rules="safety").findings]
    assert [(x.rule, x.text, x.severity) for x in f] == [("safety.sensitive", "违禁词", "error")]


# --- spans, selection, robustness ---------------------------------------------------------------------------------


def test_spans_refer_to_the_original_text_with_crlf():
    bad = swap(NOTICE, "〔2024〕12号", "[2024]12号").replace("\n", "\r\n")
    bad = swap(bad, "二、加强监测预警", "三、加强监测预警")
    found = review(bad, rules=NO_TYPO).findings
    assert {f.rule for f in found} == {"format.doc_number", "format.heading.sequence"}
    for f in found:
        assert bad[f.start : f.end] == f.text
    assert [f.text for f in found] == ["[2024]12号", "三、"]


def test_findings_sorted_and_every_replacement_applies():
    bad = NOTICE
    for old, new in [("〔2024〕12号", "〔2024〕012号"), ("1.明确", "1、明确"), ("各部门要加强监测。", "各部门要加强监测,认真的落实值班制度。"),
                     ("市人大常委会办公室。", "市人大常委会办公室")]:
        bad = swap(bad, old, new)
    found = review(bad, rules=NO_TYPO).findings
    assert [f.start for f in found] == sorted(f.start for f in found)
    fixable = [f for f in found if f.replacement is not None]
    assert len(fixable) == 5
    for f in fixable:
        fixed = apply(bad, f)
        assert not any(g.rule == f.rule and g.start == f.start for g in review(fixed, rules=NO_TYPO).findings)


def test_rule_selection():
    assert set(select_rules("format.punct")) == {"format.punct.halfwidth", "format.punct.pairs", "format.punct.book_title"}
    assert "wording.typo" not in select_rules(["-wording.typo"])
    assert "format.doc_number" not in select_rules("format,-format.doc_number")
    with pytest.raises(InvalidInput) as e:
        select_rules(["format.nonsense"])
    assert "未知的审核规则" in e.value.message
    bad = swap(NOTICE, "〔2024〕12号", "[2024]12号")
    assert review(bad, rules=["wording"]).findings == []
    assert {r.id for r in list_rules()} >= {"format.doc_number", "wording.de_di_de", "safety.pii"}


def test_bad_input():
    with pytest.raises(EmptyFile) as e:
        review("  \n\t ")
    assert "为空" in e.value.message
    with pytest.raises(InvalidInput) as e:
        review("字" * 500_001)
    assert "过长" in e.value.message
    with pytest.raises(InvalidInput):
        review(b"bytes")  # type: ignore[arg-type]


def test_garbage_does_not_crash():
    import random

    rng = random.Random(3)
    junk = "".join(chr(rng.choice([rng.randint(0, 0x2FF), rng.randint(0x4E00, 0x9FFF), rng.randint(0xE000, 0xFFFF)])) for _ in range(5000))
    for text in (junk, "\x00\x01\x02PK\x03\x04" * 200, "（（（《《“" * 100, "一、\n（三）\n1、\n" * 50, "附件：\n附件1\n抄送："):
        report = review(text, rules=NO_TYPO)
        for f in report.findings:
            assert text[f.start : f.end] == f.text


def test_twenty_pages_under_a_second():
    import time

    body = (REPORT.split("\n", 2)[2]) * 40  # about 20 pages of text
    text = REPORT.split("\n", 2)[0] + "\n××市人民政府：\n" + body
    review(text, rules=NO_TYPO)
    t0 = time.perf_counter()
    review(text, rules=NO_TYPO)
    assert time.perf_counter() - t0 < 1.0


def test_unfilled_draft_placeholders_are_errors():
    text = "××市人民政府关于做好防汛工作的通知\n各区人民政府：\n【请填写：背景情况】。现通知如下。\n特此通知。\n××市人民政府\n2025年5月6日"
    found = [f for f in review(text).findings if f.rule == "format.placeholder"]
    assert [(f.text, f.severity) for f in found] == [("【请填写：背景情况】", "error")]
