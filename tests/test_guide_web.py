"""The 办事指南 page (/guide) in headless Debian chromium against a real server with the demo catalogue.

Checks the chat flow (sample request → bundle card with a merged materials list), a clarifying question
answered by a click, pre-check findings, policy matching, and that user text is never run as HTML.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from browser import XSS, needs_chromium
from conftest import make_settings
from haoban.apps.guide import ensure_demo_catalogue
from haoban.knowledge.service import KnowledgeService
from server import running_server

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def web_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("guide-web"))
    svc = KnowledgeService(settings, embedder=None)
    try:
        ensure_demo_catalogue(svc)
    finally:
        svc.close()
    with running_server(settings) as url:
        yield url


def test_guide_page_flow(browser, web_url: str, shots: Path):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    foreign: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: foreign.append(r.url) if not r.url.startswith((web_url, "data:", "about:")) else None,
    )
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(web_url + "/guide")
    expect(page.locator(".nav a.active")).to_have_text("办事指南")
    expect(page.locator("#guide-stats")).to_contain_text("项事项")

    page.get_by_role("button", name="我刚生了孩子要办什么").click()
    card = page.locator(".guide-card").first
    expect(card.locator(".guide-card-head h3")).to_have_text("新生儿出生一件事")
    expect(card.locator("table")).to_contain_text("出生医学证明")
    expect(card).to_contain_text("共用材料少交")
    page.screenshot(path=str(shots / "guide-birth.png"), full_page=True)

    page.fill("#query", "身份证丢了怎么补")
    page.press("#query", "Enter")
    bot = page.locator(".msg-bot .bubble").last
    expect(bot.locator(".guide-question")).to_contain_text("您的户籍（户口）在本地还是外地？")
    bot.get_by_role("button", name="外地").click()
    last = page.locator(".msg-bot .bubble").last
    expect(last.locator(".guide-question")).to_have_count(0)
    expect(last.locator(".guide-card").first).to_contain_text("情形：在居住地（异地）补领")

    pre = last.locator(".guide-pre").first
    pre.locator("input[name=id_number]").fill("110105194912310021")
    pre.get_by_role("button", name="预审").click()
    expect(pre).to_contain_text("身份证号码校验位不正确")
    expect(pre).to_contain_text("缺少材料")
    page.screenshot(path=str(shots / "guide-precheck.png"), full_page=True)

    page.fill("#query", XSS)
    page.press("#query", "Enter")
    expect(page.locator(".msg-user .bubble").last).to_have_text(XSS)
    expect(page.locator(".msg-bot .bubble").last).not_to_contain_text("正在查找")

    page.locator("#policy-panel summary").click()
    page.select_option("select[name=size]", "小型")
    page.select_option("select[name=area]", "本市")
    page.fill("input[name=headcount]", "20")
    page.locator("#quals label", has_text="依法参加失业保险").locator("input").check()
    page.get_by_role("button", name="匹配政策").click()
    first = page.locator("#policy-results .guide-card").first
    expect(first).to_contain_text("符合")
    expect(first).to_contain_text("小微企业稳岗返还")
    page.screenshot(path=str(shots / "guide-policy.png"), full_page=True)

    context.close()
    assert errors == [] and dialogs == [], (errors, dialogs)
    assert foreign == [], foreign
