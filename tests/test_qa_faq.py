"""Policy Q&A answering with an imported question–answer pair (问答对) when the question is that pair's question.

Real SQLite and index files; the pairs are imported from real XLSX and JSON Lines bytes as an operator would.
The generative path uses the stub gateway of test_qa.py (fixed model outputs): here it only matters whether
the model is asked at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from browser import needs_chromium, watched_page
from conftest import CORPUS, admin_key, auth_headers, make_settings
from haoban.apps.qa import QAService, faq
from haoban.apps.qa.faq import FaqEntry, match_faq
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import SYSTEM
from haoban.store.models import Chunk
from server import running_server
from test_faq import FOG_A, FOG_Q, FUND_A, FUND_Q, hotline_book, xlsx
from test_qa import StubGateway

SOCIAL_Q = "个人如何缴纳社保"
SOCIAL_A = "灵活就业人员可通过税务部门的电子税务局或手机应用自行申报缴纳，也可到办税服务厅办理。"
REISSUE_Q = "身份证丢了怎么补办"
REISSUE_A = "携带户口簿到户籍所在地公安派出所申请补领，工本费20元，一般20个工作日内领证。"


def jsonl(*pairs: dict) -> bytes:
    return "\n".join(json.dumps(p, ensure_ascii=False) for p in pairs).encode()


MORE_PAIRS = jsonl(
    {"question": SOCIAL_Q, "answer": SOCIAL_A, "similar": ["灵活就业人员怎么交社保"]},
    {"question": REISSUE_Q, "answer": REISSUE_A, "similar": ["补办身份证", "身份证丢失了怎么办"]},
)


@pytest.fixture
def hotline(service: KnowledgeService) -> KnowledgeService:
    """The policy corpus in 测试库 and the pairs in 热线知识 (a spreadsheet and a JSON Lines file)."""
    service.create_kb("测试库")
    assert service.ingest_paths("测试库", [CORPUS]).failed == 0
    service.create_kb("热线知识")
    assert service.import_faq("热线知识", hotline_book(), "热线知识.xlsx").added == 2
    assert service.import_faq("热线知识", MORE_PAIRS, "常见问题.jsonl").added == 2
    return service


@pytest.fixture
def qa(hotline: KnowledgeService) -> QAService:
    return QAService(hotline)


def assert_whole_faq_answer(answer, kb: KnowledgeService, question: str, stored: str, matched: str) -> None:
    assert answer.mode == "extractive" and answer.text == stored + "[1]"
    assert answer.faq is not None and (answer.faq.question, answer.faq.matched, answer.faq.complete) == (question, matched, True)
    (c,) = answer.citations
    doc = kb.get_document(c.document_id)
    assert (doc.format, doc.title, c.title) == ("faq", question, question)
    assert answer.faq.document_id == doc.id
    # The span maps back to the stored answer exactly, like any other citation.
    assert doc.text[c.start : c.end] == c.passage == stored and c.highlights == [(0, len(stored))]
    with kb.db.session() as s:
        first = s.execute(select(Chunk.id).where(Chunk.document_id == doc.id).order_by(Chunk.start).limit(1)).scalar()
    assert c.chunk_id == first  # the chunk the answer starts in


# ---- matching ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "stored", "faq_question", "matched"),
    [
        (FUND_Q, FUND_A, FUND_Q, FUND_Q),  # the standard question itself
        ("请问租房的话可以提取住房公积金吗", FUND_A, FUND_Q, FUND_Q),  # a paraphrase: extra filler words
        ("租房能提取公积金吗？", FUND_A, FUND_Q, FUND_Q),  # 公积金 stands for 住房公积金
        ("起雾了还能上路吗", FOG_A, FOG_Q, "起雾了还能上路吗"),  # a similar question sharing no word with the answer
        ("身份证丢失了，怎么办？", REISSUE_A, REISSUE_Q, "身份证丢失了怎么办"),
        ("灵活就业人员社保怎么交？", SOCIAL_A, SOCIAL_Q, "灵活就业人员怎么交社保"),
    ],
)
def test_paraphrases_and_similar_questions_get_the_whole_stored_answer(
    qa: QAService, hotline: KnowledgeService, question: str, stored: str, faq_question: str, matched: str
):
    answer = qa.ask(question)
    assert_whole_faq_answer(answer, hotline, faq_question, stored, matched)
    assert answer.confidence >= faq.MIN_SCORE
    # Stored and replayed as it was given.
    assert qa.conversation(answer.conversation_id).messages[0].answer == answer


@pytest.mark.parametrize(
    ("question", "not_this"),
    [
        ("购房可以提取住房公积金吗", FUND_A),  # 购房 instead of 租房
        ("租房提取公积金需要什么材料", FUND_A),  # asks for the materials, not whether
        ("首次办理身份证需要什么材料", REISSUE_A),  # 首次办理 instead of 补办
        ("身份证怎么办理", REISSUE_A),
        ("企业如何缴纳社保", SOCIAL_A),  # 企业 instead of 个人
        ("大雾天开车怎么办", FOG_A),  # 开车 is not 驾车: no guessing at synonyms
    ],
)
def test_near_misses_never_get_that_pairs_answer(qa: QAService, question: str, not_this: str):
    answer = qa.ask(question)
    assert answer.faq is None
    assert answer.text != not_this + "[1]"  # sentences of it may still be quoted, as before


def test_near_misses_and_other_questions_are_answered_exactly_as_without_pairs(qa: QAService, monkeypatch):
    """When no pair matches, the answer is the one the sentence picker and refusal logic give without the
    FAQ step (disabled here by allowing no hit to count)."""
    questions = ["居住证多久签注一次？", "怎么做红烧肉？", "租房提取公积金需要什么材料", "企业如何缴纳社保"]
    with_faq = [qa.ask(q) for q in questions]
    monkeypatch.setattr(faq, "FAQ_TOP", 0)
    without = [qa.ask(q) for q in questions]
    for a, b in zip(with_faq, without, strict=True):
        assert a.faq is None
        assert (a.mode, a.text, a.citations, a.confidence, a.suggestions) == (b.mode, b.text, b.citations, b.confidence, b.suggestions)
    assert with_faq[0].mode == "extractive" and with_faq[0].citations[0].title == "某市居住证管理办法"
    assert with_faq[1].mode == "refusal"
    # The same switch does turn a real match off: the test above compares like with like.
    assert qa.ask(FUND_Q).faq is None


def test_the_match_must_be_clearly_better_than_another_pair(hotline: KnowledgeService):
    qa = QAService(hotline)
    assert qa.ask(FUND_Q).faq is not None
    # A second file gives the same question a different answer: not clear which one is meant.
    hotline.import_faq("热线知识", xlsx(("问答", [["问题", "答案"], [FUND_Q, "可以，每季度可提取一次。"]])), "公积金.xlsx")
    answer = qa.ask(FUND_Q)
    assert answer.faq is None and answer.mode in ("extractive", "refusal")
    # The same answer imported twice is one answer, not a rival.
    hotline.import_faq("热线知识", jsonl({"question": FOG_Q, "answer": FOG_A}), "交通.jsonl")
    assert qa.ask("起雾了还能上路吗").faq.question == FOG_Q


def entry(question: str, *aliases: str, rank: int = 0, answer: str = "答复。") -> FaqEntry:
    return FaqEntry(document_id=question, chunk_id="c", question=question, aliases=aliases, answer=answer, rank=rank)


def test_match_rule_on_its_own():
    fund = entry(FUND_Q, "租房提取公积金")
    assert match_faq("租房能提取公积金吗", [fund]).phrasing == FUND_Q  # 公积金 stands for 住房公积金
    assert match_faq("租房提取公积金", [fund]).score == 1.0
    assert match_faq("购房能提取公积金吗", [fund]) is None
    assert match_faq("怎么办理", [entry("怎么办理")]) is None  # filler words alone match nothing
    assert match_faq(FUND_Q, [entry(FUND_Q, rank=faq.FAQ_TOP)]) is None  # not among the top hits
    # A rival further down the hits still counts.
    assert match_faq(FUND_Q, [entry(FUND_Q, answer="甲"), entry(FUND_Q, answer="乙", rank=10)]) is None
    assert match_faq(FUND_Q, [entry(FUND_Q, answer="  ")]) is None
    # Short forms: 公积金 (three characters) stands for 住房公积金; 保险 does not stand for 医疗保险.
    assert match_faq("医疗保险怎么交", [entry("保险怎么交")]) is None
    # Two pairs that fit equally: none is chosen; the better fit wins when it leads clearly.
    assert match_faq(FUND_Q, [entry(FUND_Q, answer="甲"), entry(FUND_Q + "？", answer="乙", rank=1)]) is None
    best = match_faq(FUND_Q, [entry(FUND_Q, answer="甲"), entry("租房可以提取住房公积金吗需要什么材料", answer="乙", rank=1)])
    assert best.entry.answer == "甲" and best.runner_up == 0.0
    # The same words in another order: asked word for word, that entry is meant; otherwise it is not clear.
    what, why = entry("什么是个人账户资金定向使用？", answer="甲"), entry("个人账户资金为什么定向使用？", answer="乙", rank=1)
    assert match_faq("什么是个人账户资金定向使用", [what, why]).entry is what
    assert match_faq("个人账户资金为什么定向使用", [what, why]).entry is why
    assert match_faq("个人账户资金定向使用", [what, why]) is None


# ---- the answer ------------------------------------------------------------------------------------


def test_a_long_answer_is_cut_at_a_sentence_end_with_a_pointer(hotline: KnowledgeService):
    sentence = "申请人应当通过政务服务平台在线提交申请材料，经办机构在五个工作日内完成审核并告知结果。"
    long_answer = sentence * 20  # about 880 characters
    hotline.import_faq("热线知识", jsonl({"question": "人才引进落户怎么申请", "answer": long_answer}), "人才.jsonl")
    answer = QAService(hotline).ask("人才引进落户怎么申请")
    assert answer.faq is not None and answer.faq.complete is False
    (c,) = answer.citations
    assert c.start == 0 and c.end <= faq.MAX_ANSWER_CHARS and c.passage.endswith("。")
    assert hotline.get_document(c.document_id).text[c.start : c.end] == c.passage
    assert answer.text == c.passage + "[1]\n" + faq.MORE_TEXT


def test_the_output_guard_still_applies(hotline: KnowledgeService):
    answer = QAService(hotline).ask(REISSUE_Q)
    assert answer.faq is not None and answer.guard is None  # a clean answer passes untouched
    # The asker's identifiers are masked before matching; the pair still answers.
    answer = QAService(hotline).ask("身份证11010519491231002X丢了怎么补办")
    assert "11010519491231002X" not in answer.question and answer.faq is not None and answer.guard


def test_an_answer_the_output_guard_blocks_is_not_shown_as_the_pair(hotline: KnowledgeService):
    hotline.lexicon.add_term("工本费", "暴恐")  # added after the import: the stored answer now holds a blocked word
    qa = QAService(hotline)
    answer = qa.ask(REISSUE_Q)
    assert answer.guard["blocked"] and answer.mode == "refusal" and answer.faq is None and REISSUE_A not in answer.text
    events = list(qa.ask_stream(REISSUE_Q))
    assert events[0]["faq"] is None and events[-1]["answer"].faq is None
    assert "工本费" not in "".join(e["text"] for e in events if e["type"] == "delta")


def test_a_reader_without_access_to_the_base_gets_nothing_from_it(service: KnowledgeService):
    u = service.users
    u.create_department("甲市", actor=SYSTEM)
    u.create_department("乙市", actor=SYSTEM)
    u.create_user("viewer_a", "pass-word-1", ["viewer"], "/甲市", actor=SYSTEM)
    u.create_user("viewer_b", "pass-word-1", ["viewer"], "/乙市", actor=SYSTEM)
    service.create_kb("甲市热线", visibility="internal", department="/甲市")
    service.import_faq("甲市热线", hotline_book(), "热线知识.xlsx")
    qa = QAService(service)
    inside = qa.ask(FUND_Q, actor=u.login("viewer_a", "pass-word-1")[0])
    assert inside.faq is not None and inside.text == FUND_A + "[1]"
    outside = qa.ask(FUND_Q, actor=u.login("viewer_b", "pass-word-1")[0])
    assert outside.faq is None and outside.mode == "refusal" and outside.citations == []
    assert FUND_A not in outside.text and all(FUND_Q not in s for s in outside.suggestions)


# ---- with a model ------------------------------------------------------------------------------------


def test_with_a_model_a_matched_pair_is_still_answered_with_the_stored_answer(hotline: KnowledgeService):
    gateway = StubGateway("职工租房可以提取公积金[1]。")
    qa = QAService(hotline, gateway)
    answer = qa.ask("起雾了还能上路吗")
    assert answer.text == FOG_A + "[1]" and answer.faq is not None and gateway.calls == []
    events = list(qa.ask_stream(FUND_Q))
    assert events[0]["faq"] == FUND_Q and gateway.calls == []
    assert "".join(e["text"] for e in events if e["type"] == "delta") == FUND_A + "[1]"
    assert events[-1]["answer"].faq.question == FUND_Q and events[-1]["replaced"] is False
    # Without a match the model answers as before.
    gateway.reply = "居住证每年签注1次，持有人应在居住每满1年之日前1个月内到居住地公安派出所办理签注手续[1]。"
    other = qa.ask("居住证多久签注一次？")
    assert other.mode == "generative" and other.faq is None and len(gateway.calls) == 1


# ---- fronts ------------------------------------------------------------------------------------------


def test_api_shows_the_faq_answer(settings):
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=60, headers=auth_headers(admin_key(settings))) as api:
        api.post("/api/kbs", json={"name": "热线知识"}).raise_for_status()
        api.post("/api/kbs/热线知识/faq", files={"file": ("热线知识.xlsx", hotline_book())}).raise_for_status()
        answer = api.post("/api/qa/ask", json={"question": "起雾了还能上路吗", "kbs": ["热线知识"]}).json()
        assert answer["mode"] == "extractive" and answer["text"] == FOG_A + "[1]"
        assert answer["faq"]["question"] == FOG_Q and answer["faq"]["matched"] == "起雾了还能上路吗"
        c = answer["citations"][0]
        assert api.get(f"/api/documents/{c['document_id']}").json()["text"][c["start"] : c["end"]] == c["passage"]

        with api.stream("POST", "/api/qa/ask", json={"question": FUND_Q, "kbs": ["热线知识"], "stream": True}) as resp:
            body = resp.read().decode()
        assert f'"faq": "{FUND_Q}"' in body and FUND_A in body
        # A near miss: no FAQ answer.
        miss = api.post("/api/qa/ask", json={"question": "购房可以提取住房公积金吗", "kbs": ["热线知识"]}).json()
        assert miss["faq"] is None


def test_cli_shows_the_faq_answer(tmp_path: Path):
    env = {**os.environ, "HAOBAN_DATA_DIR": str(tmp_path / "data"), "HAOBAN_EMBEDDING_BACKEND": "none",
           "HAOBAN_CONFIG": str(tmp_path / "none.toml"), "COLUMNS": "200"}  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "haoban.cli", *args], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc

    run("kb", "create", "热线知识")
    book = tmp_path / "热线知识.xlsx"
    book.write_bytes(hotline_book())
    run("kb", "import-faq", "热线知识", str(book))
    out = run("ask", "起雾了还能上路吗", "--kb", "热线知识").stdout
    assert f"来自问答对：{FOG_Q}" in out and "（您的问题与相似问法“起雾了还能上路吗”相符）" in out
    assert FOG_A + "[1]" in out and f"[1] 问答对 {FOG_Q}" in out
    answer = json.loads(run("ask", FUND_Q, "--kb", "热线知识", "--json").stdout)
    assert answer["faq"]["question"] == FUND_Q and answer["text"] == FUND_A + "[1]"
    out = run("ask", "购房可以提取住房公积金吗", "--kb", "热线知识").stdout
    assert "来自问答对" not in out


@needs_chromium
def test_console_shows_the_faq_answer(browser, tmp_path: Path, shots: Path):
    from playwright.sync_api import expect

    settings = make_settings(tmp_path)
    headers = auth_headers(admin_key(settings))
    with running_server(settings) as base, watched_page(browser, base) as page:
        httpx.post(f"{base}/api/kbs", headers=headers, json={"name": "热线知识", "visibility": "public"}).raise_for_status()
        httpx.post(f"{base}/api/kbs/热线知识/faq", headers=headers, files={"file": ("热线知识.xlsx", hotline_book())}).raise_for_status()
        page.goto(base + "/ask")
        page.fill("#question", "起雾了还能上路吗")
        page.press("#question", "Enter")
        answer = page.locator(".msg-bot .bubble").last
        expect(answer).to_have_attribute("data-mode", "extractive")
        expect(answer.locator(".answer-mode")).to_have_text("问答对")
        expect(answer.locator(".answer-faq")).to_contain_text(f"来自问答对：{FOG_Q}（与相似问法“起雾了还能上路吗”相符）")
        expect(answer.locator(".answer-text p")).to_have_count(3)  # the stored answer, line by line
        expect(answer.locator(".answer-text")).to_contain_text("3、控制车速，与前车保持足够的制动距离。")
        expect(answer.locator(".cite-list .cite-title")).to_have_text(f"问：{FOG_Q}")
        answer.locator(".answer-text .cite-chip").click()
        expect(answer.locator(".cite-passage mark")).to_have_count(1)  # the whole answer is the cited span
        expect(answer.locator(".cite-passage")).to_contain_text("1、尽量不要开车出门。")
        page.screenshot(path=str(shots / "ask-faq.png"), full_page=True)
        # A near miss is answered as before, without the FAQ label.
        page.fill("#question", "购房可以提取住房公积金吗")
        page.press("#question", "Enter")
        expect(page.locator(".msg-bot .bubble")).to_have_count(2)
        expect(page.locator(".msg-bot .bubble").last.locator(".answer-faq")).to_have_count(0)
