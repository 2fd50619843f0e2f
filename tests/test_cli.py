"""The `haoban` command as a user runs it: a real subprocess on a temporary data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HAOBAN = [sys.executable, "-m", "haoban.cli"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HAOBAN_DATA_DIR": str(tmp_path / "data"),
        "HAOBAN_EMBEDDING_BACKEND": "none",
        "HAOBAN_CONFIG": str(tmp_path / "none.toml"),
        "COLUMNS": "200",
    }


def run(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*HAOBAN, *args], env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_kb_ingest_search_json(env, corpus_dir: Path):
    run(env, "kb", "create", "政策库", "-d", "测试")
    listed = json.loads(run(env, "kb", "list", "--json").stdout)
    assert [k["name"] for k in listed] == ["政策库"]

    (corpus_dir / "坏文件.docx").write_bytes(b"PK\x03\x04 not a zip")
    proc = run(env, "ingest", str(corpus_dir), "--kb", "政策库", "--json")
    report = json.loads(proc.stdout)
    assert report["added"] == 5 and report["failed"] == 1
    assert [f["code"] for f in report["files"] if f["status"] == "failed"] == ["FILE_CORRUPT"]

    hits = json.loads(run(env, "search", "融资担保费率", "--kb", "政策库", "--json").stdout)["hits"]
    assert hits[0]["citation"]["title"].endswith("小微企业融资担保降费的通知")
    assert hits[0]["citation"]["doc_number"] == "某政办发〔2023〕12号"
    assert "（一）降低担保费率" in hits[0]["citation"]["heading_path"]


def test_human_output_and_errors(env, corpus_dir: Path):
    run(env, "kb", "create", "库")
    proc = run(env, "ingest", str(corpus_dir / "居住证管理办法.txt"), "--kb", "库")
    assert "新增 1 篇" in proc.stdout
    proc = run(env, "search", "居住证签注", "--kb", "库")
    assert "某市居住证管理办法" in proc.stdout and "出处" in proc.stdout

    missing = run(env, "search", "居住证", "--kb", "不存在的库", ok=False)
    assert missing.returncode == 3 and "不存在" in missing.stderr and "Traceback" not in missing.stderr
    dup = run(env, "kb", "create", "库", ok=False)
    assert dup.returncode == 4 and "已存在" in dup.stderr
    empty = run(env, "search", "   ", ok=False)
    assert empty.returncode == 2 and "不能为空" in empty.stderr
    bad_date = run(env, "search", "居住证", "--from", "2019年", ok=False)
    assert bad_date.returncode == 2 and "日期格式" in bad_date.stderr
    only_bad = run(env, "ingest", str(corpus_dir / "nothing.pdf"), "--kb", "库", ok=False)
    assert only_bad.returncode == 5 and "文件不存在" in only_bad.stderr


def test_delete_kb_needs_confirmation(env):
    run(env, "kb", "create", "临时库")
    refused = subprocess.run([*HAOBAN, "kb", "delete", "临时库"], env=env, input="n\n", capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "临时库" in run(env, "kb", "list").stdout
    run(env, "kb", "delete", "临时库", "--yes")
    assert "还没有知识库" in run(env, "kb", "list").stdout


def test_doc_set_validity_and_tag_filter(env, corpus_dir: Path):
    run(env, "kb", "create", "库")
    run(env, "ingest", str(corpus_dir), "--kb", "库", "--tag", "样例")
    hit = json.loads(run(env, "search", "融资担保", "--json").stdout)["hits"][0]
    doc_id = hit["citation"]["document_id"]
    assert json.loads(run(env, "search", "融资担保", "--tag", "样例", "--json").stdout)["hits"]
    assert json.loads(run(env, "search", "融资担保", "--tag", "别的", "--json").stdout)["hits"] == []

    changed = json.loads(run(env, "doc", "set", doc_id, "--repealed", "--json").stdout)
    assert changed["validity"] == "repealed"
    ids = {h["citation"]["document_id"] for h in json.loads(run(env, "search", "融资担保", "--json").stdout)["hits"]}
    assert doc_id not in ids
    nothing = run(env, "doc", "set", doc_id, ok=False)
    assert nothing.returncode == 2 and "至少指定" in nothing.stderr
