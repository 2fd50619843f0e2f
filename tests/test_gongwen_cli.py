"""`haoban doc …` 公文 commands as a clerk runs them: real subprocesses on a temporary data directory."""

from __future__ import annotations

import json
from pathlib import Path

from docx import Document as DocxDocument

from test_cli import env, run  # noqa: F401  (fixture and helper shared with the other CLI tests)

NOTICE = (
    "××市人民政府办公室关于做好2025年防汛工作的通知\n各区人民政府：\n为切实做好今年防汛工作，现通知如下。\n"
    "一、压实防汛责任\n各区要落实行政首长负责制,层层压实责任。\n特此通知。\n××市人民政府办公室\n2025年5月6日"
)


def test_draft_review_layout(env, tmp_path: Path):  # noqa: F811
    out = tmp_path / "请示.txt"
    run(env, "doc", "draft", "-t", "请示", "--issuer", "××区教育局", "-s", "追加校舍维修经费", "-p", "校舍老化", "--no-model", "-o", str(out))
    text = out.read_text("utf-8")
    assert text.startswith("××区教育局关于追加校舍维修经费的请示") and "妥否，请批示。" in text
    notice = tmp_path / "通知.txt"
    notice.write_text(NOTICE, encoding="gb18030")  # an old office PC's encoding
    proc = run(env, "doc", "review", str(notice), "--json")
    report = json.loads(proc.stdout)
    assert [f["rule"] for f in report["findings"]] == ["format.punct.halfwidth"]
    listed = json.loads(run(env, "doc", "rules", "--json").stdout)
    assert {"format.doc_number", "wording.typo", "safety.pii"} <= {r["id"] for r in listed}
    proc = run(env, "doc", "review", str(tmp_path / "请示.txt"), ok=False)
    assert proc.returncode == 1 and "待填写" in proc.stdout  # unfilled 【请填写】 are errors
    docx = tmp_path / "通知.docx"
    run(env, "doc", "layout", str(notice), "-o", str(docx))
    assert any("防汛工作的通知" in p.text for p in DocxDocument(str(docx)).paragraphs)


def test_compare_save_dedup_minutes(env, tmp_path: Path):  # noqa: F811
    old, new = tmp_path / "v1.txt", tmp_path / "v2.txt"
    old.write_text(NOTICE, encoding="utf-8")
    new.write_text(NOTICE.replace("层层压实责任", "层层压实防汛责任"), encoding="utf-8")
    report = json.loads(run(env, "doc", "compare", str(old), str(new), "--json", "--docx", str(tmp_path / "rev.docx")).stdout)
    assert report["pairs"][0]["stats"]["changed_sentences"] == 1 and (tmp_path / "rev.docx").exists()
    saved = json.loads(run(env, "doc", "save", str(old), "--json").stdout)
    listed = json.loads(run(env, "doc", "library", "--json").stdout)
    assert [d["id"] for d in listed] == [saved["id"]]
    dup = json.loads(run(env, "doc", "dedup", str(new), "--json").stdout)
    assert dup["duplicated_sentences"] and dup["duplicated_sentences"][0]["sources"][0]["doc_id"] == saved["id"]
    transcript = tmp_path / "会议记录.txt"
    transcript.write_text("主持人（王区长）：研究防汛工作。\n王区长：会议决定，由区水务局牵头，6月10日前完成泵站检修。\n", encoding="utf-8")
    m = json.loads(run(env, "doc", "minutes", str(transcript), "--date", "2025-05-20", "--no-model", "--json").stdout)
    assert m["actions"][0]["owner"] == "区水务局" and m["actions"][0]["deadline"]["date"] == "2025-06-10"


def test_bad_input(env, tmp_path: Path):  # noqa: F811
    empty = tmp_path / "空.txt"
    empty.write_text("", encoding="utf-8")
    proc = run(env, "doc", "review", str(empty), ok=False)
    assert proc.returncode != 0 and "错误" in proc.stderr and "Traceback" not in proc.stderr
    proc = run(env, "doc", "draft", "-t", "说明", ok=False)
    assert "不支持的文种" in proc.stderr
    proc = run(env, "doc", "tool", "润色", str(tmp_path / "空.txt"), ok=False)
    assert "Traceback" not in proc.stderr
