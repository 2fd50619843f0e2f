"""The console's 导入问答对 action and how FAQ hits are shown, in a real browser (Debian chromium via Playwright)."""

from __future__ import annotations

from pathlib import Path

import httpx

from browser import needs_chromium, watched_page
from conftest import admin_key, auth_headers, make_settings
from server import running_server
from test_faq import FOG_Q, hotline_book

pytestmark = needs_chromium


def test_import_faq_on_the_kb_page_and_search_shows_question_and_answer(browser, tmp_path: Path):
    from playwright.sync_api import expect

    settings = make_settings(tmp_path)
    headers = auth_headers(admin_key(settings))
    book = tmp_path / "热线知识.xlsx"
    book.write_bytes(hotline_book())
    with running_server(settings) as base, watched_page(browser, base) as page:
        kb = httpx.post(f"{base}/api/kbs", headers=headers, json={"name": "热线知识", "visibility": "public"}).json()
        page.goto(f"{base}/kbs/{kb['id']}")
        page.set_input_files("#faq-file", str(book))
        page.click("#faq-btn")
        result = page.locator("#faq-result")
        expect(result.locator(".summary")).to_contain_text("问答对 2 个：新增 2")
        expect(result.locator(".faq-skipped li")).to_have_count(3)
        expect(result.locator(".faq-skipped")).to_contain_text("工作表“热线知识”第 5 行：答案为空")
        expect(page.locator("#doc-rows tr")).to_have_count(2)
        expect(page.locator("#doc-rows")).to_contain_text(FOG_Q)

        # Again without one pair: kept by default and said so; removed when asked.
        book.write_bytes(hotline_book(with_fund=False))
        page.set_input_files("#faq-file", str(book))
        page.click("#faq-btn")
        expect(result.locator(".faq-missing")).to_contain_text("1 个问答对已不在文件中")
        page.check("#faq-remove")
        page.set_input_files("#faq-file", str(book))
        page.click("#faq-btn")
        expect(result.locator(".summary")).to_contain_text("删除 1")
        expect(page.locator("#doc-rows tr")).to_have_count(1)

        page.goto(f"{base}/search?q=起雾了还能上路吗")
        hit = page.locator(".hit").first
        expect(hit.locator(".hit-title")).to_contain_text("问" + FOG_Q)
        expect(hit.locator(".hit-text")).to_contain_text("答1、尽量不要开车出门")
