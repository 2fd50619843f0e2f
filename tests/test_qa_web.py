"""The 政策问答 page (/ask) in headless Debian chromium (Playwright) against a real server.

Keyword retrieval only, the owned corpus in 测试库. Every page is checked for script errors, alert
dialogs and requests that leave the server. Screenshots go to $HAOBAN_SCREENSHOTS when set, else
to a temp directory.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from browser import XSS, needs_chromium, watched_page
from conftest import CORPUS, admin_key, auth_headers, make_settings
from haoban.api.app import create_app
from haoban.apps.qa.service import QAService
from haoban.errors import LLMUnavailable
from haoban.knowledge.service import KnowledgeService
from server import running_server

# Requests the tests make next to the browser carry an administrator's API key (set up with the server).
AUTH: dict[str, str] = {}

QUESTION = "居住证签注怎么办理"

pytestmark = needs_chromium


def ingest(settings) -> None:
    service = KnowledgeService(settings, embedder=None)
    try:
        service.create_kb("测试库", "单元测试用的政策文件", visibility="public")
        report = service.ingest_paths("测试库", [CORPUS])
        assert report.failed == 0, report.files
    finally:
        service.close()


@pytest.fixture(scope="module")
def web_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("qa-web"))
    ingest(settings)
    AUTH.update(auth_headers(admin_key(settings)))
    with running_server(settings) as url:
        yield url


@pytest.fixture
def page(browser, web_url: str):
    with watched_page(browser, web_url) as page:
        yield page


def conversation_id(url: str) -> str:
    return parse_qs(urlparse(url).query)["c"][0]


def ask(page, question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")


def answers(page):
    return page.locator(".msg-bot .bubble")


def test_ask_cite_rate_follow_related_and_reload(page, web_url: str, shots: Path):
    from playwright.sync_api import expect

    page.goto(web_url + "/ask")
    expect(page.locator(".nav a.active")).to_have_text("政策问答")
    expect(page.locator("#kb-select option", has_text="测试库")).to_be_attached()
    expect(page.locator("#welcome")).to_be_visible()

    ask(page, QUESTION)
    expect(page.locator(".msg-user .bubble")).to_have_text(QUESTION)
    answer = answers(page).last
    expect(answer).to_have_attribute("data-mode", "extractive")
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator("#welcome")).to_be_hidden()
    chip = answer.locator(".answer-text .cite-chip").first
    expect(chip).to_have_text("1")
    expect(answer.locator(".answer-text")).to_contain_text("签注")
    expect(answer.locator(".answer-text")).not_to_contain_text("[1]")  # the marker became the chip
    expect(answer.locator(".intent-tag")).to_have_text("诉求类型：办事")
    expect(answer.locator(".confidence")).to_contain_text(re.compile(r"依据充分度\s*[高中低] \d+%"))
    item = answer.locator(".cite-list .cite-item").first
    expect(item).to_contain_text("《某市居住证管理办法》")
    expect(item.locator(".cite-path")).to_have_text("第二章 申领与签注 › 第四条")

    # The conversation is in the address and in the sidebar.
    expect(page).to_have_url(re.compile(r"/ask\?c=[0-9a-z]+$"))
    conv = conversation_id(page.url)
    expect(page.locator(f"#conv-list li.conv.active[data-id='{conv}']")).to_contain_text(QUESTION)

    # The chip opens the cited passage inline, the answering sentence marked.
    chip.click()
    panel = answer.locator(".cite-panel")
    expect(panel).to_be_visible()
    expect(chip).to_have_attribute("aria-expanded", "true")
    expect(panel.locator(".cite-panel-title")).to_have_text("《某市居住证管理办法》")
    mark = panel.locator(".cite-passage mark").first
    expect(mark).to_contain_text("签注")
    source = panel.locator("a.view-source")
    expect(source).to_have_text("查看原文")
    href = source.get_attribute("href")
    assert re.fullmatch(r"/documents/[0-9a-z]+\?start=\d+&end=\d+", href), href
    page.screenshot(path=str(shots / "ask-answer.png"), full_page=True)
    chip.click()  # a second click closes it
    expect(panel).to_be_hidden()
    item.click()  # the list item opens the same panel
    expect(panel.locator(".cite-passage mark").first).to_contain_text("签注")

    # 有用: thank-you state, stored; an optional comment afterwards.
    answer.locator(".fb-yes").click()
    expect(answer.locator(".feedback-thanks")).to_have_text("感谢您的反馈！")
    expect(answer.locator(".fb-yes")).to_have_attribute("aria-pressed", "true")
    stored = httpx.get(f"{web_url}/api/qa/conversations/{conv}", headers=AUTH).json()["messages"][0]
    assert stored["helpful"] is True
    answer.locator(".feedback-comment input").fill("写得很清楚")
    answer.locator(".feedback-comment button").click()
    expect(answer.locator(".feedback-thanks")).to_have_text("已收到您的补充意见，感谢！")
    stored = httpx.get(f"{web_url}/api/qa/conversations/{conv}", headers=AUTH).json()["messages"][0]
    assert stored["helpful"] is True and stored["feedback_comment"] == "写得很清楚"

    # A related question is asked in the same conversation when clicked.
    related = answer.locator(".related-chip").first
    related_text = related.inner_text()
    related.click()
    expect(page.locator(".msg-user .bubble")).to_have_count(2)
    expect(page.locator(".msg-user .bubble").last).to_have_text(related_text)
    expect(answers(page).nth(1)).to_have_attribute("data-mode", re.compile("extractive|refusal"))
    assert conversation_id(page.url) == conv

    # Reload: the conversation comes back from the server, feedback included.
    page.reload()
    expect(page.locator(".msg-user .bubble")).to_have_count(2)
    expect(page.locator(".msg-user .bubble").first).to_have_text(QUESTION)
    first = answers(page).first
    expect(first.locator(".cite-chip").first).to_be_visible()
    expect(first.locator(".feedback-thanks")).to_have_text("已反馈“有用”，感谢！")
    expect(first.locator(".fb-yes")).to_have_attribute("aria-pressed", "true")
    first.locator(".cite-item").first.click()
    expect(first.locator(".cite-panel mark").first).to_contain_text("签注")
    assert page.title().startswith(QUESTION)

    # 查看原文 opens the document page at the cited span.
    page.goto(web_url + href)
    expect(page.locator("mark#cited")).to_contain_text("签注")


def test_refusal_errors_keys_and_switching_conversations(page, web_url: str, shots: Path):
    from playwright.sync_api import expect

    earlier = httpx.post(
        f"{web_url}/api/qa/ask", json={"question": "租房提取住房公积金需要什么材料"}, headers=AUTH, timeout=30
    ).json()
    page.goto(web_url + "/ask")

    # The API's Chinese message, never raw JSON; nothing is added to the conversation.
    page.press("#question", "Enter")
    expect(page.locator("#ask-error")).to_have_text("问题不能为空")
    expect(page.locator(".exchange")).to_have_count(0)
    ask(page, "问" * 501)
    expect(page.locator("#ask-error")).to_contain_text("问题过长")
    assert "{" not in page.locator("#ask-error").inner_text()
    expect(page.locator(".exchange")).to_have_count(0)
    expect(page.locator("#question")).to_have_value("问" * 501)  # given back to edit
    expect(page.locator("#char-count")).to_have_class(re.compile("over"))

    # Shift+Enter is a new line, not a send.
    page.fill("#question", "")
    page.type("#question", "怎么做")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("红烧肉")
    expect(page.locator("#question")).to_have_value("怎么做\n红烧肉")
    expect(page.locator(".exchange")).to_have_count(0)

    ask(page, "怎么做红烧肉")
    refusal = page.locator(".msg-refusal .bubble")
    expect(refusal).to_have_attribute("data-mode", "refusal")
    expect(refusal.locator(".answer-mode")).to_have_text("未找到依据")
    expect(refusal.locator(".handoff")).to_contain_text("可拨打 12345 政务服务便民热线")
    expect(refusal.locator(".handoff-tag")).to_have_text("转人工")
    expect(refusal.locator(".suggestions li").first).to_contain_text("《")
    expect(refusal.locator(".cite-chip")).to_have_count(0)
    expect(page.locator("#ask-error")).to_be_hidden()
    page.screenshot(path=str(shots / "ask-refusal.png"), full_page=True)
    refusal_url = page.url

    # Open the earlier conversation from the sidebar; back returns to the refusal.
    page.locator(f"#conv-list li[data-id='{earlier['conversation_id']}'] a").click()
    expect(page).to_have_url(re.compile(f"c={earlier['conversation_id']}$"))
    expect(page.locator(".msg-user .bubble")).to_have_text("租房提取住房公积金需要什么材料")
    expect(answers(page).first.locator(".cite-item").first).to_contain_text("住房公积金提取指南")
    expect(page.locator("#conv-list li.active")).to_have_attribute("data-id", earlier["conversation_id"])
    page.go_back()
    expect(page).to_have_url(refusal_url)
    expect(page.locator(".msg-user .bubble")).to_have_text("怎么做红烧肉")

    # 新对话 empties the view and the address; the next question starts a new conversation.
    page.click("#new-chat")
    expect(page).to_have_url(re.compile(r"/ask$"))
    expect(page.locator(".exchange")).to_have_count(0)
    expect(page.locator("#welcome")).to_be_visible()
    expect(page.locator("#conv-list li.active")).to_have_count(0)
    page.screenshot(path=str(shots / "ask-welcome.png"))

    # An unknown conversation in the address: a Chinese message and an empty chat.
    page.goto(web_url + "/ask?c=01nonexistentconversation0")
    expect(page.locator("#ask-error")).to_have_text("无法打开对话：会话不存在或已删除")
    expect(page).to_have_url(re.compile(r"/ask$"))

    # Deleting a conversation from the sidebar (after confirming).
    row = page.locator(f"#conv-list li[data-id='{earlier['conversation_id']}']")
    row.locator(".conv-del").click()
    expect(row).to_have_count(0)
    assert any("租房提取住房公积金需要什么材料" in d for d in page.watch.dialogs)
    assert (
        httpx.get(f"{web_url}/api/qa/conversations/{earlier['conversation_id']}", headers=AUTH).status_code
        == 404
    )


def test_document_text_quoted_in_an_answer_is_never_markup(page, web_url: str, shots: Path):
    from playwright.sync_api import expect

    httpx.post(f"{web_url}/api/kbs", headers=AUTH, json={"name": "安全库"}).raise_for_status()
    body = {
        "text": f"{XSS}电动车停放规定\n\n第一条 电动车应当停放在小区指定的停放区域{XSS}，不得占用消防通道。\n\n"
        "第二条 本规定自发布之日起施行。<script>alert(2)</script>",
        "meta": {"title": XSS + "电动车停放规定", "doc_number": "<b>安〔2024〕1号</b>"},
    }
    httpx.post(f"{web_url}/api/kbs/安全库/texts", headers=AUTH, json=body).raise_for_status()

    page.goto(web_url + "/ask")
    page.select_option("#kb-select", label="安全库")
    ask(page, f"电动车应该停放在哪里{XSS}")
    answer = answers(page).last
    expect(answer).to_have_attribute("data-mode", "extractive")
    expect(answer.locator(".answer-text")).to_contain_text(f"停放区域{XSS}，不得占用消防通道")
    expect(page.locator(".msg-user .bubble")).to_have_text(f"电动车应该停放在哪里{XSS}")
    expect(answer.locator(".cite-item .cite-title").first).to_have_text(f"《{XSS}电动车停放规定》")
    expect(answer.locator(".cite-item .cite-docno").first).to_have_text("<b>安〔2024〕1号</b>")
    answer.locator(".cite-chip").first.click()
    expect(answer.locator(".cite-passage mark").first).to_contain_text(XSS)
    expect(answer.locator(".related-chip").first).to_contain_text(XSS)
    expect(page.locator("#conv-list li.active .conv-title")).to_have_text(f"电动车应该停放在哪里{XSS}")
    page.screenshot(path=str(shots / "ask-xss.png"), full_page=True)

    # A second turn renders too (any titles it shows are text: checked after reload).
    ask(page, "怎么做红烧肉")
    expect(answers(page)).to_have_count(2)
    # The turn is stored when its stream ends: wait for the final answer before reloading.
    expect(answers(page).last).to_have_attribute("data-mode", re.compile(r"^(extractive|refusal)$"))

    page.reload()
    expect(answers(page)).to_have_count(2)
    expect(page.locator("#kb-select")).to_have_value(re.compile(r"^[0-9a-z]+$"))  # 安全库 kept
    page.wait_for_load_state("networkidle")
    assert page.locator("main img, main script, main b").count() == 0


class GatedModel:
    """A stand-in model gateway: streams the first pieces, waits for the test, then the rest."""

    available = True

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.fail: BaseException | None = None

    def chat(self, messages, **kwargs):
        raise LLMUnavailable()

    def stream(self, messages, **kwargs) -> Iterator[str]:
        if self.fail is not None:
            yield "居住证"
            raise self.fail
        yield "居住证每年"
        yield "签注一次[1]"
        self.gate.wait(timeout=20)
        yield "，详见[9]。"  # there is no passage 9: the answer fails the citation check

    def close(self) -> None:
        pass


def test_streaming_shows_text_as_it_comes_then_the_checked_answer(page, tmp_path: Path, shots: Path):
    from playwright.sync_api import expect

    settings = make_settings(tmp_path)
    ingest(settings)
    app = create_app(settings)
    model = GatedModel()
    try:
        with running_server(settings, app=app) as url:
            app.state.qa = QAService(app.state.service, model)
            page.watch.web_url = url
            page.goto(url + "/ask")
            ask(page, "居住证多久签注一次")
            streaming = page.locator(".answer-text.streaming")
            expect(streaming).to_contain_text("居住证每年签注一次")
            expect(streaming.locator(".cite-chip.pending")).to_have_text("1")  # [1] already looks like one
            expect(page.locator("#send")).to_be_disabled()
            expect(page.locator("#send")).to_have_text("回答中…")
            page.screenshot(path=str(shots / "ask-streaming.png"))
            model.gate.set()

            answer = answers(page).last
            expect(answer).to_have_attribute("data-mode", "extractive")
            expect(answer.locator(".answer-replaced")).to_have_text(
                "大模型生成的回答未通过引用核验，已替换为政策原文摘录。"
            )
            expect(answer.locator(".answer-text")).not_to_contain_text("[9]")
            expect(answer.locator(".cite-chip").first).to_be_visible()
            expect(page.locator("#send")).to_be_enabled()
            expect(page.locator(".answer-text.streaming")).to_have_count(0)

            # A failure after the stream started: the Chinese message in the answer, and a retry.
            model.fail = RuntimeError("boom")
            ask(page, "居住证多久签注一次")
            failed = page.locator(".msg-error .bubble")
            expect(failed.locator(".answer-error")).to_have_text("系统内部错误，请稍后重试")
            expect(failed.locator(".answer-retry button")).to_have_text("重新提问")
            expect(page.locator("#send")).to_be_enabled()
            page.screenshot(path=str(shots / "ask-replaced-and-error.png"), full_page=True)
            model.fail = None
            failed.locator(".answer-retry button").click()
            expect(answers(page)).to_have_count(3)
            expect(answers(page).last).to_have_attribute("data-mode", "extractive")
    finally:
        model.gate.set()


def test_narrow_screen(browser, web_url: str, shots: Path):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(web_url + "/ask")
        ask(page, QUESTION)
        answer = answers(page).last
        # Chips shown while the answer streams are placeholders; they become clickable with the final answer.
        expect(answer).to_have_attribute("data-mode", "extractive")
        answer.locator(".cite-chip").first.click()
        expect(answer.locator(".cite-panel mark").first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        page.screenshot(path=str(shots / "ask-narrow.png"), full_page=True)
    finally:
        context.close()
    assert errors == []
