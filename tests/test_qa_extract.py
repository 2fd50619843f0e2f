"""Sentence selection of the extractive answer (apps/qa/extract.py) on small hand-made passages."""

from __future__ import annotations

import pytest

from haoban.apps.qa import extract as ex
from haoban.apps.qa.question import analyze
from haoban.knowledge.schemas import Citation, SearchHit

# Passage frequencies of a tiny imaginary base: the topic word is common, the aspect words are rare.
_DF = {"居住证": 40, "办理": 60, "材料": 8, "身份证": 5, "照片": 3, "有效期": 4, "签注": 6}


def doc_freq(words: list[str]) -> tuple[int, dict[str, int]]:
    return 100, {w: _DF[w] for w in words if w in _DF}


def hit(
    text: str, doc: str = "d1", start: int = 0, rank_score: float = 10.0, title: str = "居住证办理指南"
) -> SearchHit:
    return SearchHit(
        chunk_id=f"{doc}:{start}",
        kb_id="kb",
        score=rank_score,
        lexical_score=rank_score,
        text=text,
        highlights=[],
        citation=Citation(
            document_id=doc,
            title=title,
            doc_number=None,
            issuer=None,
            heading_path="",
            start=start,
            end=start + len(text),
        ),  # fmt: skip
    )


PASSAGE = (
    "居住证由公安机关负责签发。居住证每年签注一次。"
    "申领居住证需要提交本人身份证、近期照片和居住证明。"
    "居住证有效期为五年。"
)


def test_the_sentence_with_the_asked_aspect_wins_over_the_topic_sentences():
    info = analyze("办理居住证需要哪些材料", doc_freq)
    result = ex.extract(info, [hit(PASSAGE)])
    texts = [s.text for w in result.windows for s in w.sentences]
    assert "身份证" in result.windows[0].text
    assert len(texts) <= ex.MAX_SENTENCES


def test_local_weights_favour_words_that_few_sentences_contain():
    info = analyze("居住证有效期多久", doc_freq)
    sents = ["居住证由公安机关负责签发。", "居住证每年签注一次。", "居住证有效期为五年。"]
    weights = ex._local_weights([t.text for t in info.terms], sents, info)
    assert weights["有效期"] > weights["居住证"]
    assert ex._weighted_share(weights, sents[2]) > ex._weighted_share(weights, sents[0])


def test_overlapping_chunks_do_not_highlight_the_same_sentence_twice():
    info = analyze("居住证有效期多久", doc_freq)
    first = hit(PASSAGE, start=0)
    tail = PASSAGE[13:]  # the next chunk repeats the last sentences of the first one
    second = hit(tail, start=13, rank_score=9.0)
    result = ex.extract(info, [first, second])
    spans = [(w.doc_range[1], w.doc_range[2]) for w in result.windows if not w.echo]
    for i, (s, e) in enumerate(spans):
        for s2, e2 in spans[i + 1 :]:
            assert not (s < e2 and s2 < e), "the same text is highlighted twice"


def test_choose_sentences_keeps_the_budget_and_the_margin():
    p = ex.build_passages(analyze("居住证", doc_freq), [hit("甲一。乙二。丙三。丁四。戊五。")])[0]
    cands = [ex.Candidate(p, i, score, {}) for i, score in enumerate([9.0, 8.0, 7.5, 7.0, 1.0])]
    assert [c.index for c in ex.choose_sentences(cands)] == [0, 1, 2]
    ex_margin = [ex.Candidate(p, 0, 9.0, {}), ex.Candidate(p, 1, 9.0 - ex.SENTENCE_MARGIN - 0.1, {})]
    assert [c.index for c in ex.choose_sentences(ex_margin)] == [0]


def test_adjacent_sentences_form_one_window_in_document_order():
    info = analyze("居住证", doc_freq)
    p = ex.build_passages(info, [hit("甲一。乙二。丙三。丁四。")])[0]
    chosen = [ex.Candidate(p, 2, 9.0, {}), ex.Candidate(p, 1, 8.0, {}), ex.Candidate(p, 0 + 3, 1.0, {})]
    windows = ex.group_windows(info, chosen)
    assert len(windows) == 1
    assert (windows[0].first, windows[0].last) == (1, 3)
    apart = ex.group_windows(info, [ex.Candidate(p, 0, 9.0, {}), ex.Candidate(p, 3, 8.0, {})])
    assert [(w.first, w.last) for w in apart] == [(0, 0), (3, 3)]


def test_the_same_statement_in_a_reprint_is_cited_as_a_second_source():
    info = analyze("居住证有效期多久", doc_freq)
    original = hit(PASSAGE, doc="notice")
    reprint = hit("转载：" + "居住证有效期为五年。", doc="reprint", rank_score=5.0, title="转载居住证政策")
    result = ex.extract(info, [original, reprint])
    echoes = [w for w in result.windows if w.echo]
    assert any(w.passage.hit.citation.document_id == "reprint" for w in echoes) or (
        result.windows[0].passage.hit.citation.document_id == "reprint"
    )
    text = ex.compose(result.windows)
    assert text.startswith("根据《")


def test_a_numbered_heading_names_the_topic_and_the_next_sentence_answers():
    text = "（六）优化网上办税缴费平台。加强电子税务局、手机APP等平台的运行维护，确保系统安全稳定。"
    sents = [ex.Sentence(s, e, text[s:e], text[s:e], True) for s, e in ex.split_sentences(text)]
    assert ex._numbered_heading(sents, 0) and not ex._numbered_heading(sents, 1)
    info = analyze("如何优化网上办税缴费平台", doc_freq)
    cands = {c.sentence.text: c for c in ex.sentence_candidates(info, ex.build_passages(info, [hit(text)]))}
    answer = cands["加强电子税务局、手机APP等平台的运行维护，确保系统安全稳定。"]
    assert cands["（六）优化网上办税缴费平台。"].features["heading"] == 1.0
    assert answer.features["after_heading"] > 0


def test_a_heading_behind_the_note_closing_the_previous_paragraph_is_still_a_heading():
    text = "（责任单位：市财政局、各区政府） 7.加强医疗费用保障。确诊患者救治费用个人自付部分由财政予以全额补助。"
    sents = [ex.Sentence(s, e, text[s:e], text[s:e], True) for s, e in ex.split_sentences(text)]
    assert ex._numbered_heading(sents, 0) and not ex._numbered_heading(sents, 1)


def test_the_sentence_after_one_restating_the_question_gets_its_coverage():
    text = "居住证办理需要提交的材料如下。本人身份证原件、近期照片和居住证明。居住证由公安机关负责签发。"
    info = analyze("居住证办理需要提交哪些材料", doc_freq)
    cands = {c.sentence.text: c for c in ex.sentence_candidates(info, ex.build_passages(info, [hit(text)]))}
    assert cands["本人身份证原件、近期照片和居住证明。"].features["after_restate"] > 0.5
    # the sentence before it says something new: no restatement
    assert cands["居住证由公安机关负责签发。"].features["after_restate"] == 0.0


def test_short_list_items_are_not_headings():
    text = "（一）本人居民身份证原件。（二）购房合同或者不动产权证书。（三）租房提取的，提交住房租赁合同备案证明。"
    sents = [ex.Sentence(s, e, text[s:e], text[s:e], True) for s, e in ex.split_sentences(text)]
    assert [ex._numbered_heading(sents, i) for i in range(len(sents))] == [False, False, False]


def test_measures_and_requirements_have_answer_cues():
    measure = analyze("对小微企业有哪些扶持措施", doc_freq)
    assert "measure" in measure.types
    assert ex._cue(measure, "对小微企业给予房租减免。") > ex._cue(measure, "小微企业受疫情影响较大。")
    demand = analyze("对复工企业提出了哪些要求", doc_freq)
    assert ex._cue(demand, "企业要做好体温检测。") > ex._cue(demand, "主要领导到企业走访。")


def test_a_short_label_value_line_is_a_sentence_a_bare_heading_line_is_not():
    text = "二、咨询电话\n长沙：0731-88666312\n开户行：中国工商银行北京分行\n三、其他事项\n"
    info = analyze("长沙的咨询电话是多少", doc_freq)
    usable = {s.text: s.usable for s in ex.build_passages(info, [hit(text)])[0].sentences}
    assert usable["长沙：0731-88666312"] and usable["开户行：中国工商银行北京分行"]
    assert not usable["二、咨询电话"] and not usable["三、其他事项"]


def test_a_two_character_word_the_base_holds_only_as_a_character_pair_is_known():
    from haoban.text.segment import BIGRAM_MARK

    def freq(words: list[str]) -> tuple[int, dict[str, int]]:
        # 交通运输 and 部门 are words of the base; 等部 only occurs inside 等部门, as a character pair
        base = {"交通运输": 10, BIGRAM_MARK + "等部": 3, BIGRAM_MARK + "人证": 2, "残疾": 4}
        return 100, {w: base[w] for w in words if w in base}

    info = analyze("交通运输等部", freq)
    assert [t.text for t in info.terms] == ["交通运输", "等部"] and info.known_weight == pytest.approx(1.0)
    # a longer unknown word is not pieced together from pairs
    assert analyze("残疾人证", freq).known_weight < 1.0


def test_a_sentence_about_another_province_only_is_marked():
    info = analyze("辽宁省社保缴费有哪些优惠", doc_freq)
    hits = [
        hit("湖北省可免征三项社会保险单位缴费部分。", doc="hb", title="湖北省阶段性减免社会保险费的通知"),
        hit("全省中小微企业社保缴费减半征收。企业可按月申报。", doc="ln", title="辽宁省社保缴费优惠政策"),
        hit("参保单位可申请缓缴社会保险费。", doc="gj", title="关于阶段性减免企业社会保险费的通知"),
    ]
    f = {c.sentence.text: c.features["other_region"] for c in ex.sentence_candidates(info, ex.build_passages(info, hits))}
    assert f["湖北省可免征三项社会保险单位缴费部分。"] == 1.0
    assert f["全省中小微企业社保缴费减半征收。"] == 0.0  # its document is about 辽宁
    assert f["参保单位可申请缓缴社会保险费。"] == 0.0  # names no region
    assert ex.SENTENCE_WEIGHTS["other_region"] < 0
