"""Sensitive-word lexicons: matching and evasion, allow-list, actions, persistence, import/export, fronts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from conftest import make_settings
from haoban.errors import Forbidden, InvalidInput, NotFound
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import SYSTEM, Actor
from haoban.safety.lexicon import CompiledLexicon, LexiconService, fold, patterns_for
from haoban.store.db import Database
from server import running_server

VIEWER = Actor(id="u-viewer", name="只读", kind="user", roles=frozenset({"viewer"}))
STAFF = Actor(id="u-staff", name="业务", kind="user", roles=frozenset({"staff"}))


@pytest.fixture
def db(tmp_path: Path) -> Database:
    d = Database(f"sqlite:///{tmp_path / 'lex.db'}")
    d.migrate()
    yield d
    d.dispose()


@pytest.fixture
def lex(db: Database) -> LexiconService:
    """An empty lexicon (no starter) with a few terms the tests rely on."""
    svc = LexiconService(db, seed=False)
    svc.set_category("赌博", "block")
    svc.set_category("辱骂", "mask")
    svc.set_category("政治", "review")
    svc.add_term("赌博", "赌博")
    svc.add_term("网络赌场", "赌博")
    svc.add_term("打击赌博", kind="allow", category="赌博")
    svc.add_term("傻逼", "辱骂", flags=["pinyin"])
    svc.add_term("草泥马", "辱骂", flags=["pinyin"])
    svc.add_term("sex", "辱骂")
    svc.add_term("分裂国家", "政治")
    return svc


def hits(svc: LexiconService, text: str) -> list[tuple[str, str, str]]:
    return [(m.term, m.text, m.variant) for m in svc.check(text).matches]


# ---- matching and evasion -------------------------------------------------------------------------------


def test_exact_match_reports_span_on_original(lex: LexiconService):
    text = "欢迎光临网络赌场！"
    r = lex.check(text)
    assert r.decision == "block" and r.blocked
    (m,) = r.matches
    assert (m.term, m.category, m.action, m.variant) == ("网络赌场", "赌博", "block", "exact")
    assert text[m.start : m.end] == m.text == "网络赌场"


@pytest.mark.parametrize(
    "text, matched, variant",
    [
        ("网 络 赌 场", "网 络 赌 场", "separator"),
        ("网.络-赌*场", "网.络-赌*场", "separator"),
        ("网\u200b络\u200d赌\ufeff场", "网\u200b络\u200d赌\ufeff场", "zero_width"),
        ("網絡賭場", "網絡賭場", "traditional"),
        ("网络 賭\u200b場", "网络 賭\u200b場", "separator+traditional+zero_width"),
        ("ＳＥＸ", "ＳＥＸ", "fullwidth"),
        ("ѕех", "ѕех", "homoglyph"),  # Cyrillic ѕ, е, х
        ("SeX", "SeX", "case"),
        ("shabi", "shabi", "pinyin"),
        ("sha bi", "sha bi", "pinyin"),
        ("你个cnm", "cnm", "pinyin_initials"),
        ("草\u0301泥马", "草\u0301泥马", "zero_width"),  # a combining accent inside the word
    ],
)
def test_evasions_are_caught_with_original_spans(lex: LexiconService, text: str, matched: str, variant: str):
    r = lex.check(text)
    assert [(m.text, m.variant) for m in r.matches] == [(matched, variant)]
    m = r.matches[0]
    assert text[m.start : m.end] == matched


def test_kangxi_radicals_and_compat_ideographs_fold(db: Database):
    svc = LexiconService(db, seed=False)
    svc.add_term("人体炸弹", "暴恐")
    # ⼈ is the Kangxi radical U+2F08, which renders like 人.
    assert hits(svc, "⼈体炸弹") == [("人体炸弹", "⼈体炸弹", "homoglyph")]


def test_limits_on_what_may_sit_between_characters(lex: LexiconService):
    assert hits(lex, "网络……赌场") != []  # three dropped characters: still one phrase
    assert hits(lex, "网络.....赌场") == []  # five: too far apart to be one word
    assert hits(lex, "网络\n赌场") == []  # never across lines
    lex.add_term("禁词", "赌博", flags=["strict"])
    assert [t for t, *_ in hits(lex, "禁词")] == ["禁词"]
    assert hits(lex, "禁 词") == []


def test_latin_terms_need_word_boundaries(lex: LexiconService):
    assert hits(lex, "Sussex and Essex") == []
    assert hits(lex, "sex!") == [("sex", "sex", "exact")]
    assert hits(lex, "中文sex中文") == [("sex", "sex", "exact")]  # no spaces between Chinese and Latin
    assert hits(lex, "shabin") == []  # pinyin keys need boundaries too


def test_allow_list_covers_legitimate_phrases(lex: LexiconService):
    r = lex.check("坚决打击赌博违法犯罪，远离赌博")
    assert [(m.term, m.start) for m in r.matches] == [("赌博", 13)]  # only the second one
    assert lex.check("打 击 赌 博").matches == []  # the allow entry folds like terms do
    # An allow entry for one category does not excuse another category's hit.
    lex.add_term("打击分裂国家", kind="allow", category="赌博")
    assert [m.term for m in lex.check("打击分裂国家").matches] == ["分裂国家"]
    lex.add_term("反对分裂国家", kind="allow")  # no category: every category
    assert lex.check("反对分裂国家").matches == []


def test_decision_is_the_most_severe_action_and_mask(lex: LexiconService):
    assert lex.check("你个傻逼").decision == "mask"
    assert lex.check("分裂国家").decision == "review"
    assert lex.check("傻逼 分裂国家 网络赌场").decision == "block"
    assert lex.check("今天天气很好").decision == "pass"
    assert lex.mask("你个傻 逼，滚") == "你个* *，滚"  # spaces inside a hit stay
    assert lex.mask("你个傻逼去网络赌场", actions=("mask",)) == "你个**去网络赌场"
    # A per-term action overrides its category's.
    lex.add_term("小赌怡情", "赌博", action="review")
    assert lex.check("小赌怡情").decision == "review"


def test_starter_lexicon_blocks_trade_but_not_policy_text(db: Database):
    svc = LexiconService(db)
    assert svc.check("出 售 冰 毒，价格私聊").decision == "block"
    assert svc.check("刷单返利，日结三百").decision == "block"
    policy = (
        "为深入开展禁毒宣传和反诈宣传，警惕刷单返利诈骗，坚决打击网络赌场和跨境赌博，"
        "依法惩处侵犯公民个人信息罪、煽动颠覆国家政权罪，请勿出租出借银行卡。"
    )
    r = svc.check(policy)
    assert r.decision == "pass", r.matches


# ---- bad input --------------------------------------------------------------------------------------------


def test_empty_mixed_scripts_and_surrogates(lex: LexiconService):
    assert lex.check("").decision == "pass" and lex.check("").matches == []
    assert lex.check(" \u200b\n\t。").matches == []
    mixed = "Привет мир ١٢٣ 😀 网络赌场 עברית"
    (m,) = lex.check(mixed).matches
    assert mixed[m.start : m.end] == "网络赌场"
    lone = "网络\ud800赌场"  # a lone surrogate from a broken decoder must not crash the check
    assert [m.term for m in lex.check(lone).matches] == ["网络赌场"]
    with pytest.raises(InvalidInput):
        lex.check(None)  # type: ignore[arg-type]


def test_very_long_input(lex: LexiconService):
    text = "正常的政务服务内容。" * 200_000 + "网络赌场"  # two million characters
    t0 = time.perf_counter()
    r = lex.check(text)
    assert time.perf_counter() - t0 < 10
    assert [m.start for m in r.matches] == [len(text) - 4]
    many = "赌博，" * 5000
    r = lex.check(many, max_matches=100)
    assert r.total_matches == 5000 and len(r.matches) == 100 and r.truncated


def test_fold_keeps_one_index_per_character():
    folded, idx = fold("Ａ\u200b 賭-博")
    assert folded == "a赌博"
    assert list(idx) == [0, 3, 5]


@hsettings(max_examples=60, deadline=None)
@given(
    seps=st.lists(st.text(alphabet=" \u200b\u200c.,-_*|·、。!？\u3000\ufe0f", min_size=0, max_size=3), min_size=3, max_size=3),
    before=st.text(alphabet="的了是在有人这中大为上个国", max_size=5),
    after=st.text(alphabet="的了是在有人这中大为上个国", max_size=5),
)
def test_separators_inside_a_term_property(seps: list[str], before: str, after: str):
    compiled = CompiledLexicon(patterns_for("网络赌场", "赌博", "deny", "block", []), version=1)
    word = "网" + seps[0] + "络" + seps[1] + "赌" + seps[2] + "场"
    text = before + word + after
    matches, total = compiled.find(text)
    assert total == 1
    assert (matches[0].start, matches[0].end) == (len(before), len(before) + len(word))


# ---- persistence, versions, several workers --------------------------------------------------------------


def test_changes_reach_other_workers_through_the_version_counter(db: Database, lex: LexiconService):
    other = LexiconService(db, seed=False, check_interval=0)  # a second API worker on the same database
    assert other.check("新词测试").matches == []
    v = other.compiled().version
    lex.add_term("新词", "赌博")
    assert [m.term for m in other.check("新词测试").matches] == ["新词"]
    assert other.compiled().version == v + 1
    lex.remove_term("新词", category="赌博")
    assert other.check("新词测试").matches == []
    lex.set_category("赌博", "review")
    assert other.check("网络赌场").decision == "review"
    lazy = LexiconService(db, seed=False, check_interval=60)  # trusts its cache for a minute
    assert lazy.check("网络赌场").decision == "review"
    lex.set_category("赌博", "block")
    assert lazy.check("网络赌场").decision == "review"
    lazy._checked_at = float("-inf")  # as if the minute had passed
    assert lazy.check("网络赌场").decision == "block"


def test_starter_is_loaded_once_and_not_again_after_removal(db: Database):
    a, b = LexiconService(db), LexiconService(db)
    cats = a.categories()
    assert {"政治", "暴恐", "色情", "赌博", "诈骗", "毒品", "歧视", "辱骂"} <= {c.name for c in cats}
    n = a.list_terms(limit=0).total
    assert b.list_terms(limit=0).total == n  # the second service did not load it again
    a.remove_term("网络赌场", category="赌博")
    assert LexiconService(db).list_terms(limit=0).total == n - 1


def test_term_management_errors(lex: LexiconService):
    with pytest.raises(InvalidInput) as e:
        lex.add_term("！！…", "赌博")
    assert "标点" in e.value.message
    with pytest.raises(InvalidInput):
        lex.add_term("x", "赌博")
    with pytest.raises(InvalidInput):
        lex.add_term("好", "赌博", flags=["wildcard"])
    with pytest.raises(InvalidInput):
        lex.add_term("好词", "")  # a sensitive term needs a category
    with pytest.raises(InvalidInput):
        lex.set_category("赌博", "delete")
    with pytest.raises(Exception) as e:
        lex.add_term("赌博", "赌博")
    assert getattr(e.value, "code", "") == "LEXICON_TERM_EXISTS"
    with pytest.raises(NotFound):
        lex.remove_term("没有这个词")
    lex.add_term("赌博", "政治")
    with pytest.raises(Exception) as e:
        lex.remove_term("赌博")
    assert getattr(e.value, "code", "") == "LEXICON_TERM_AMBIGUOUS"


def test_permissions_and_audit(tmp_path: Path):
    svc = KnowledgeService(make_settings(tmp_path), embedder=None)
    try:
        lex = LexiconService(svc.db, audit=svc.audit, seed=False)
        with pytest.raises(Forbidden):
            lex.add_term("某词", "赌博", actor=VIEWER)
        with pytest.raises(Forbidden):
            lex.check("文本", actor=VIEWER)
        assert lex.list_terms(actor=STAFF).total == 0  # staff may read
        with pytest.raises(Forbidden):
            lex.import_bytes(b"a\n", category="x", actor=STAFF)
        lex.add_term("某词", "赌博", actor=SYSTEM)
        records = [r for r in svc.audit.iter_all() if r.action == "lexicon.write"]
        assert len(records) == 1 and records[0].resource_type == "lexicon_term"
    finally:
        svc.close()


# ---- import / export ----------------------------------------------------------------------------------------


def test_import_formats_and_round_trip(lex: LexiconService, tmp_path: Path):
    txt = "# 注释\n新赌词甲\n新赌词乙\tpinyin\n\n"
    r = lex.import_bytes(txt.encode(), name="a.txt", category="赌博")
    assert (r.added, r.updated, r.unchanged) == (2, 0, 0)
    csv_text = "term,category,flags,action\n新赌词甲,赌博,strict,\n诈骗词,诈骗,,block\n"
    r = lex.import_bytes(csv_text.encode("gb18030"), name="b.csv")  # GB18030 files are common on government PCs
    assert (r.added, r.updated, r.unchanged, r.categories_created) == (1, 1, 0, ["诈骗"])
    jsonl = '{"term": "白名单词", "kind": "allow"}\n{"term": "新赌词乙", "category": "赌博", "flags": ["pinyin"]}\n'
    r = lex.import_bytes(jsonl.encode(), name="c.jsonl")
    assert (r.added, r.unchanged) == (1, 1)
    assert lex.check("新 赌 词 甲").matches == []  # now strict
    assert [m.variant for m in lex.check("xin du ci yi").matches] == ["pinyin"]

    exported = lex.export("csv")
    other = LexiconService(Database(f"sqlite:///{tmp_path / 'other.db'}"), seed=False)
    other.db.migrate()
    r = other.import_bytes(exported.encode(), name="x.csv")
    assert r.added == lex.list_terms(limit=0).total
    assert other.export("csv") == exported
    assert other.export("jsonl").count("\n") == r.added
    assert "新赌词乙\tpinyin" in other.export("txt", category="赌博")


@pytest.mark.parametrize(
    "name, data, lines",
    [
        ("bad.csv", "term,category\n好词,赌博\n,赌博\n坏词,\n长," + "长" * 101 + "\n", [3, 4, 5]),
        ("bad.csv", "word,category\n好词,赌博\n", None),  # no term column
        ("bad.jsonl", '{"term": "好词", "category": "赌博"}\n{oops\n["list"]\n{"term": "词", "category": "赌博", "action": "kill"}\n', [2, 3, 4]),
        ("bad.txt", "好词\n。。。\n", None),  # a term that folds to nothing
        ("empty.txt", "# 只有注释\n\n", None),
    ],
)
def test_malformed_imports_write_nothing(lex: LexiconService, name: str, data: str, lines: list[int] | None):
    before, version = lex.export("jsonl"), lex.version()
    with pytest.raises(InvalidInput) as e:
        lex.import_bytes(data.encode(), name=name, category="赌博" if name.endswith(".txt") else None)
    assert any("\u4e00" <= c <= "\u9fff" for c in e.value.message)
    if lines is not None:
        assert [d["line"] for d in e.value.detail] == lines
    assert lex.export("jsonl") == before and lex.version() == version


def test_undecodable_file_is_refused(lex: LexiconService):
    with pytest.raises(InvalidInput):
        lex.import_bytes(b"\xff\xfe\x00\xd8\xff", name="x.txt", category="赌博")


# ---- scale ---------------------------------------------------------------------------------------------------


def test_many_terms_build_and_match(db: Database):
    svc = LexiconService(db, seed=False)
    import random

    rng = random.Random(7)
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    terms = {"".join(rng.choice(chars) for _ in range(rng.randint(2, 6))) for _ in range(30000)}
    data = "\n".join(sorted(terms)).encode()
    t0 = time.perf_counter()
    assert svc.import_bytes(data, name="big.txt", category="测试").added == len(terms)
    target = sorted(terms)[12345]
    r = svc.check("前文" + target + "后文")
    assert target in [m.term for m in r.matches]
    assert time.perf_counter() - t0 < 60


# ---- fronts: CLI and HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HAOBAN_DATA_DIR": str(tmp_path / "data"),
        "HAOBAN_EMBEDDING_BACKEND": "none",
        "HAOBAN_CONFIG": str(tmp_path / "none.toml"),
        "COLUMNS": "200",
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "haoban.cli", "lexicon", *args], env=env, capture_output=True, text=True, timeout=120)


def test_cli(env: dict[str, str], tmp_path: Path):
    p = cli(env, "check", "出\u200b售 冰 毒", "--json")
    assert p.returncode == 1  # blocked
    body = json.loads(p.stdout)
    assert body["decision"] == "block" and body["matches"][0]["term"] == "出售冰毒"
    assert cli(env, "add", "测试敏感词", "-c", "自定义").returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("term,category\n甲词,自定义\n,自定义\n", encoding="utf-8")
    p = cli(env, "import", str(bad))
    assert p.returncode == 2 and "未导入任何词条" in p.stderr and "'line': 3" in p.stderr
    good = tmp_path / "good.txt"
    good.write_text("甲词\n乙词\n", encoding="utf-8")
    p = cli(env, "import", str(good), "-c", "自定义", "--json")
    assert json.loads(p.stdout)["added"] == 2
    out = tmp_path / "out.csv"
    assert cli(env, "export", str(out), "-c", "自定义").returncode == 0
    assert out.read_text(encoding="utf-8").splitlines()[1:] == ["乙词,自定义,deny,,,", "测试敏感词,自定义,deny,,,", "甲词,自定义,deny,,,"]
    assert cli(env, "remove", "甲词", "-c", "自定义").returncode == 0
    listed = json.loads(cli(env, "list", "-c", "自定义", "--json").stdout)
    assert [t["term"] for t in listed["items"]] == ["乙词", "测试敏感词"]
    assert "不存在" in cli(env, "import", str(tmp_path / "missing.txt"), "-c", "自定义").stderr


def test_http_api_with_permissions(tmp_path: Path):
    settings = make_settings(tmp_path)
    svc = KnowledgeService(settings, embedder=None)
    admin = svc.users.create_user("lexadmin", "admin-pass-1", ["admin"], actor=SYSTEM)
    viewer = svc.users.create_user("lexviewer", "viewer-pass-1", ["viewer"], actor=SYSTEM)
    _, admin_key = svc.users.create_api_key(admin.username, "k", actor=SYSTEM)
    _, viewer_key = svc.users.create_api_key(viewer.username, "k", actor=SYSTEM)
    try:
        with running_server(settings, svc) as base, httpx.Client(base_url=base, timeout=60) as api:
            a = {"Authorization": f"Bearer {admin_key}"}
            v = {"Authorization": f"Bearer {viewer_key}"}
            r = api.post("/api/lexicon/check", json={"text": "网 络 賭 場 开业"}, headers=a)
            assert r.status_code == 200 and r.json()["decision"] == "block"
            assert r.json()["matches"][0]["text"] == "网 络 賭 場"
            # The viewer role has neither lexicon.read nor lexicon.write: 403 and no data.
            for method, path, kw in [
                ("post", "/api/lexicon/check", {"json": {"text": "网络赌场"}}),
                ("get", "/api/lexicon/terms", {}),
                ("get", "/api/lexicon/export", {}),
                ("post", "/api/lexicon/terms", {"json": {"term": "某词", "category": "赌博"}}),
                ("put", "/api/lexicon/categories/赌博", {"json": {"action": "mask"}}),
            ]:
                resp = getattr(api, method)(path, headers=v, **kw)
                assert resp.status_code == 403, (path, resp.text)
                assert resp.json()["code"] == "FORBIDDEN" and "网络赌场" not in resp.text
            r = api.post("/api/lexicon/terms", json={"term": "接口新词", "category": "接口类"}, headers=a)
            assert r.status_code == 201
            term_id = r.json()["id"]
            assert api.put("/api/lexicon/categories/接口类", json={"action": "block"}, headers=a).json()["term_count"] == 1
            assert api.post("/api/lexicon/check", json={"text": "接口新词"}, headers=a).json()["decision"] == "block"
            page = api.get("/api/lexicon/terms", params={"category": "接口类"}, headers=a).json()
            assert [t["term"] for t in page["items"]] == ["接口新词"]
            files = {"file": ("bad.jsonl", b'{"term": "x1"}\n{broken\n')}
            r = api.post("/api/lexicon/import", files=files, data={"category": "接口类"}, headers=a)
            assert r.status_code == 400 and r.json()["code"] == "LEXICON_IMPORT_INVALID"
            assert [d["line"] for d in r.json()["detail"]] == [2]
            files = {"file": ("ok.txt", "甲乙丙\n丁戊己\n".encode())}
            r = api.post("/api/lexicon/import", files=files, data={"category": "接口类"}, headers=a)
            assert r.status_code == 200 and r.json()["added"] == 2
            exported = api.get("/api/lexicon/export", params={"format": "txt", "category": "接口类"}, headers=a)
            assert exported.text.splitlines() == ["丁戊己", "接口新词", "甲乙丙"]
            assert api.delete(f"/api/lexicon/terms/{term_id}", headers=a).status_code == 200
            assert api.post("/api/lexicon/check", json={"text": "接口新词"}, headers=a).json()["decision"] == "pass"
            r = api.post("/api/lexicon/check", json={"text": "长" * 2_000_001}, headers=a)
            assert r.status_code == 400 and r.json()["code"] == "LEXICON_TEXT_TOO_LONG"
    finally:
        svc.close()
