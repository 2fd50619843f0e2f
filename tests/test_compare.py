"""智能比对: sentence alignment, character diffs, moves, several versions, and DOCX with tracked revisions."""

from __future__ import annotations

import io
import zipfile

import pytest

from haoban.apps.gongwen.compare import compare, compare_docx, revision_texts
from haoban.errors import InvalidInput

BASE = (
    "为切实做好防汛工作，现将有关事项通知如下。"
    "各区要落实防汛责任制，明确各级责任人。"
    "各部门要加强雨情水情监测，及时发布预警信息。"
    "要做好应急物资储备，确保关键时刻拿得出、用得上。"
    "特此通知。"
)


def _ops(report, k=0):
    return [r.op for r in report.pairs[k].rows]


def test_identical_texts():
    report = compare([BASE, BASE])
    assert set(_ops(report)) == {"equal"}
    s = report.summary
    assert s.equal_sentences == 5 and s.inserted_chars == s.deleted_chars == 0 and s.moved_sentences == 0


def test_insert_delete_replace():
    new = BASE.replace("各部门要加强雨情水情监测，及时发布预警信息。", "") \
        .replace("明确各级责任人。", "明确各级防汛责任人和联系人。") + "请于6月1日前报送落实情况。"
    report = compare([BASE, new], names=["初稿", "修改稿"])
    pair = report.pairs[0]
    assert (pair.left_name, pair.right_name) == ("初稿", "修改稿")
    rows = {r.op: r for r in pair.rows}
    assert rows["delete"].left == "各部门要加强雨情水情监测，及时发布预警信息。"
    assert rows["insert"].right == "请于6月1日前报送落实情况。"
    rep = rows["replace"]
    assert rep.left == "各区要落实防汛责任制，明确各级责任人。"
    assert [(c.op, c.text) for c in rep.chars if c.op != "equal"] == [("insert", "防汛"), ("insert", "和联系人")]
    st = pair.stats
    assert (st.inserted_sentences, st.deleted_sentences, st.changed_sentences, st.moved_sentences) == (1, 1, 1, 0)
    assert st.inserted_chars == len("请于6月1日前报送落实情况。") + len("防汛和联系人")
    assert st.deleted_chars == len("各部门要加强雨情水情监测，及时发布预警信息。")


def test_move_is_not_delete_plus_insert():
    moved = "要做好应急物资储备，确保关键时刻拿得出、用得上。"
    new = BASE.replace(moved, "").replace("现将有关事项通知如下。", "现将有关事项通知如下。" + moved)
    pair = compare([BASE, new]).pairs[0]
    moves = [r for r in pair.rows if r.op == "move"]
    assert len(moves) == 2 and moves[0].move_id == moves[1].move_id
    assert {r.left for r in moves} == {moved, None} and {r.right for r in moves} == {moved, None}
    assert "delete" not in _ops(compare([BASE, new])) and "insert" not in _ops(compare([BASE, new]))
    assert pair.stats.moved_sentences == 1 and pair.stats.inserted_chars == 0


def test_near_identical_move_keeps_char_diff():
    moved = "各部门要加强雨情水情监测，及时发布预警信息。"
    new = BASE.replace(moved, "") + "各部门要加强雨情、水情监测，及时发布预警信息。"
    pair = compare([BASE, new]).pairs[0]
    moves = [r for r in pair.rows if r.op == "move"]
    assert len(moves) == 2 and moves[0].similarity < 1
    assert ("insert", "、") in [(c.op, c.text) for c in moves[0].chars]
    view = pair.side_by_side()
    assert all(set(row) >= {"op", "left", "right", "move_id"} for row in view)


def test_three_versions_and_summary():
    v2 = BASE.replace("特此通知。", "")
    v3 = v2 + "各区于每月5日前报送工作进展。"
    report = compare([BASE, v2, v3])
    assert len(report.pairs) == 2 and report.names == ["第1稿", "第2稿", "第3稿"]
    assert report.pairs[0].stats.deleted_sentences == 1 and report.pairs[1].stats.inserted_sentences == 1
    assert report.summary.deleted_sentences == 1 and report.summary.inserted_sentences == 1


def test_empty_side_and_bad_input():
    report = compare(["", BASE])
    assert _ops(report) == ["insert"] * 5
    assert compare([BASE, ""]).pairs[0].stats.deleted_sentences == 5
    with pytest.raises(InvalidInput):
        compare([BASE])
    with pytest.raises(InvalidInput):
        compare([BASE, BASE], names=["一"])


def test_chinese_punctuation_changes():
    old = "根据《中华人民共和国防洪法》规定，制定本办法。"
    new = "根据《中华人民共和国防洪法》的规定、制定本办法！"
    rep = compare([old, new]).pairs[0].rows[0]
    assert rep.op == "replace"
    changed = [(c.op, c.text) for c in rep.chars if c.op != "equal"]
    assert changed == [("insert", "的"), ("delete", "，"), ("insert", "、"), ("delete", "。"), ("insert", "！")]
    # "；" ends a sentence: one sentence became two, reported as a change plus an insertion.
    split = compare([old, "根据《中华人民共和国防洪法》规定；制定本办法。"]).pairs[0]
    assert [r.op for r in split.rows] == ["replace", "insert"]


def test_long_text():
    sentences = [f"第{k}条规定各单位应当按照要求做好第{k}项工作并及时报送情况。" for k in range(3500)]
    old = "".join(sentences)
    assert len(old) >= 100_000
    new_sentences = list(sentences)
    new_sentences[100] = new_sentences[100].replace("及时", "按时")
    del new_sentences[2000]
    new_sentences.insert(500, sentences[3000])  # a move
    del new_sentences[3001]
    new_sentences.append("本办法自印发之日起施行。")
    new = "".join(new_sentences)
    report = compare([old, new])  # its speed is measured in benchmarks/compare.py, not here
    st = report.summary
    assert st.changed_sentences == 1 and st.moved_sentences == 1 and st.deleted_sentences == 1
    assert st.inserted_sentences == 1


OLD_DOC = "关于做好防汛工作的通知\n各区要落实防汛责任制。\n要做好物资储备。\n特此通知。"
NEW_DOC = "关于切实做好防汛工作的通知\n各区要落实防汛责任制。\n各部门要加强监测预警。\n特此通知。\n联系人：张三"


def test_docx_revisions_accept_and_reject():
    docx = compare_docx(OLD_DOC, NEW_DOC, author="审核人")
    accepted, rejected = revision_texts(docx)
    assert accepted == NEW_DOC
    assert rejected == OLD_DOC
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        xml = z.read("word/document.xml").decode()
    assert "<w:ins " in xml and "<w:del " in xml and "<w:delText" in xml
    assert 'w:author="审核人"' in xml and "w:date=" in xml


@pytest.mark.parametrize("old,new", [("", "新增一段。"), ("整段删除。", ""), ("甲。\n乙。\n丙。", "丙。\n甲。\n乙。"),
                                     ("同样的文字。", "同样的文字。")])
def test_docx_revisions_edge_cases(old, new):
    accepted, rejected = revision_texts(compare_docx(old, new))
    assert (accepted, rejected) == (new, old)
