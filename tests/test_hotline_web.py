"""The 12345 workbench in a real browser: an agent takes a request and walks it to 办结."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from browser import needs_chromium
from conftest import log_in, make_settings
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import SYSTEM
from server import running_server

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def web_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("hotline-web"))
    svc = KnowledgeService(settings, embedder=None)
    svc.users.create_user("agent1", "agent-pass-1", ["agent"], actor=SYSTEM)
    svc.close()
    with running_server(settings) as url:
        yield url


def test_agent_takes_a_request_and_walks_it_to_closed(browser, web_url: str, shots):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    try:
        log_in(context, web_url, "agent1", "agent-pass-1")
        page = context.new_page()
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.set_default_timeout(15_000)
        page.goto(web_url + "/hotline")
        page.click("#hl-intake-panel summary")
        page.fill("#hl-intake [name=text]", "幸福小区3号楼门口的路灯坏了一个多月，晚上出行很不方便，请尽快维修。")
        page.fill("#hl-intake [name=caller_phone]", "13812345678")
        page.fill("#hl-intake [name=location]", "幸福小区")
        page.click("#hl-intake button[type=submit]")
        detail = page.locator("#hl-detail")
        expect(detail.locator("h2")).to_contain_text("已受理")
        expect(detail).to_contain_text("138****5678")  # the caller's number is shown masked
        assert "13812345678" not in detail.inner_text()
        expect(detail).to_contain_text("待人工复核")  # no router trained yet: a person routes it
        expect(page.locator("#hl-queue tbody tr")).to_have_count(1)
        page.fill("#hl-actions [name=department]", "市政管理局")
        page.click("#hl-actions button[data-action=dispatch]")
        expect(detail.locator("h2")).to_contain_text("已派单")
        for step, status in (("sign", "已签收"), ("start", "办理中")):
            page.click(f"#hl-actions button[data-action={step}]")
            expect(detail.locator("h2")).to_contain_text(status)
        page.fill("#hl-actions [name=reply]", "已安排维修人员更换灯具，路灯已恢复照明。")
        page.click("#hl-actions button[data-action=reply]")
        expect(detail.locator("h2")).to_contain_text("已回复")
        page.select_option("#hl-actions [name=satisfaction]", "满意")
        page.click("#hl-actions button[data-action=visit]")
        page.click("#hl-actions button[data-action=close]")
        expect(detail.locator("h2")).to_contain_text("已办结")
        expect(page.locator("#hl-events li")).to_have_count(7)
        # 督办、重办 are for the hotline's administrators: an agent gets no button for them.
        expect(page.locator("#hl-actions button[data-action=reopen]")).to_have_count(0)
        expect(page.locator("#hl-train")).to_have_count(0)  # retraining is for administrators too
        page.screenshot(path=str(shots / "hotline.png"), full_page=True)
        # A step that needs input and has none gets the server's Chinese message, not a crash.
        page.click("#hl-intake-panel summary") if not page.locator("#hl-intake").is_visible() else None
        page.fill("#hl-intake [name=text]", "测试：楼道灯不亮")
        page.click("#hl-intake button[type=submit]")
        expect(detail.locator("h2")).to_contain_text("已受理")
        page.fill("#hl-actions [name=department]", "")
        page.click("#hl-actions button[data-action=dispatch]")
        expect(page.locator("#hl-error")).to_be_visible()
        assert "{" not in page.locator("#hl-error").inner_text()
    finally:
        context.close()
    assert errors == [], errors


def test_a_duplicate_is_merged_from_the_similar_list(browser, web_url: str):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    try:
        log_in(context, web_url, "agent1", "agent-pass-1")
        page = context.new_page()
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("dialog", lambda d: d.accept())
        page.set_default_timeout(15_000)
        page.goto(web_url + "/hotline")
        page.click("#hl-intake-panel summary")
        text = "和平路12号附近的下水道井盖丢失，晚上很危险，请尽快处理。"
        for _ in range(2):
            page.fill("#hl-intake [name=text]", text)
            page.fill("#hl-intake [name=location]", "和平路12号")
            page.click("#hl-intake button[type=submit]")
            expect(page.locator("#hl-detail h2")).to_contain_text("已受理")
        expect(page.locator("#hl-similar li").first).to_contain_text("相似度")
        page.locator("#hl-similar button[data-merge]").first.click()
        expect(page.locator("#hl-detail h2")).to_contain_text("已合并")
    finally:
        context.close()
    assert errors == [], errors


def test_administrator_retrains_the_router_from_the_console(browser, tmp_path):
    from playwright.sync_api import expect

    from conftest import admin_key
    from haoban.apps.hotline import HotlineService

    settings = make_settings(tmp_path)
    admin_key(settings)  # creates the administrator the browser logs in as
    svc = KnowledgeService(settings, embedder=None)
    HotlineService(svc).load_demo(limit=60, train=False)
    svc.close()
    with running_server(settings) as url:
        context = browser.new_context(locale="zh-CN")
        try:
            log_in(context, url)
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(url + "/hotline")
            page.click("#hl-train")
            # Training takes seconds on an idle machine, much longer when CI shares its two cores.
            expect(page.locator("#hl-train-status")).to_contain_text("已训练模型 v1：60 条已确认工单", timeout=90_000)
        finally:
            context.close()
