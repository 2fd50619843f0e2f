"""`haoban guide …` as a user runs it: real subprocesses on a temporary data directory."""

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
    return {**os.environ, "HAOBAN_DATA_DIR": str(tmp_path / "data"), "HAOBAN_EMBEDDING_BACKEND": "none",
            "HAOBAN_CONFIG": str(tmp_path / "none.toml"), "COLUMNS": "200"}  # fmt: skip


def run(env: dict[str, str], *args: str, code: int = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([*HAOBAN, "guide", *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def test_demo_match_checklist_precheck(env):
    assert "已导入演示事项目录" in run(env, "demo").stdout
    assert "未重复导入" in run(env, "demo").stdout
    m = json.loads(run(env, "match", "我刚生了孩子要办什么", "--json").stdout)
    assert m["candidates"][0]["code"] == "LE-BIRTH"
    text = run(env, "match", "身份证丢了").stdout
    assert "居民身份证补领" in text and "-a 户籍地=" in text
    follow = json.loads(run(env, "match", "身份证丢了", "-a", "户籍地=外地", "--json").stdout)
    assert follow["candidates"][0]["situation"] == "remote" and follow["questions"] == []
    c = json.loads(run(env, "checklist", "LE-HOUSE", "--json").stdout)
    assert c["kind"] == "bundle" and c["shared_saved"] > 0
    bad = run(
        env, "precheck", "GA-SFZ-002", "-a", "户籍地=本地", "-f", "id_number=110105194912310021", code=1
    )
    assert "校验位不正确" in bad.stdout
    ok = run(env, "precheck", "GA-SFZ-002", "-a", "户籍地=本地", "--have", "户口簿", "--have", "照片", "--have", "居民身份证申领登记表",
             "-f", "name=张三", "-f", "id_number=11010519491231002X", "-f", "phone=13800138000")  # fmt: skip
    assert "预审通过" in ok.stdout
    err = run(env, "match", "身份证丢了", "-a", "户籍地", code=2)
    assert "格式应为 键=值" in err.stderr


def test_import_errors_by_row_then_export_import(env, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "事项编码,事项名称,实施部门,承诺时限\nA-1,好事项,测试局,3\nA-2,,测试局,三天\n", encoding="utf-8"
    )
    proc = run(env, "import", str(bad), code=2)
    assert "第 3 行 A-2：事项名称：必填" in proc.stderr and "第 3 行 A-2：承诺时限：应为整数" in proc.stderr
    assert "未导入任何内容" in proc.stderr
    assert "事项目录为空" in run(env, "items").stdout
    run(env, "demo")
    out = tmp_path / "目录.xlsx"
    run(env, "export", str(out))
    other = {**env, "HAOBAN_DATA_DIR": str(tmp_path / "other")}
    report = json.loads(run(other, "import", str(out), "--json").stdout)
    assert report["items"] >= 60 and report["bundles"] >= 8 and report["errors"] == []
    assert json.loads(run(other, "items", "-d", "市公安局", "--json").stdout)[0]["department"] == "市公安局"


def test_policy_match_from_profile_file(env, tmp_path: Path):
    run(env, "demo")
    profile = tmp_path / "企业.json"
    profile.write_text(json.dumps({"name": "某制造厂", "industry": "制造业", "size": "中型", "area": "本市", "established": "2015-03-01",
                                   "revenue": 5000, "headcount": 200, "qualifications": ["规模以上工业企业"]}, ensure_ascii=False), encoding="utf-8")  # fmt: skip
    got = json.loads(run(env, "policy", str(profile), "--json").stdout)
    first = got[0]
    assert first["code"] == "P-005" and first["eligible"]
    text = run(env, "policy", str(profile)).stdout
    assert "符合 制造业企业技术改造补助" in text and "✗" in text
    broken = tmp_path / "坏.json"
    broken.write_text("{size: 小型", encoding="utf-8")
    assert "企业画像文件不合法" in run(env, "policy", str(broken), code=2).stderr
