"""The 公文写作台 in a real browser: draft, review with inline marks and a one-click fix, save versions,
compare them, check duplicates, make minutes and download the GB/T 9704 DOCX."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from docx import Document as DocxDocument

from browser import XSS, needs_chromium
from conftest import log_in, make_settings
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import SYSTEM
from server import running_server

pytestmark = needs_chromium

TEXT = (
    "××市人民政府办公室关于做好2025年防汛工作的通知\n各区人民政府，市政府各部门：\n"
    "为切实做好今年防汛工作，现将有关事项通知如下。\n一、压实防汛责任\n各区要落实行政首长负责制。\n"
    "二、加强监测预警\n各部门要加强值守，及时报告险情。\n特此通知。\n××市人民政府办公室\n2025年05月06日"
)


@pytest.fixture(scope="module")
def web_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("gongwen-web"))
    svc = KnowledgeService(settings, embedder=None)
    svc.users.create_user("clerk", "clerk-pass-1", ["staff"], actor=SYSTEM)
    svc.close()
    with running_server(settings) as url:
        yield url


def test_clerk_drafts_reviews_saves_compares_and_downloads(browser, web_url: str, shots):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN", accept_downloads=True)
    errors: list[str] = []
    try:
        log_in(context, web_url, "clerk", "clerk-pass-1")
        page = context.new_page()
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("dialog", lambda d: d.accept("第二稿"))
        page.set_default_timeout(20_000)
        page.goto(web_url + "/gongwen")
        expect(page.locator("#gw-types option")).to_have_count(15)

        # Draft a 请示 from key points: a structured skeleton with the type's ending.
        page.select_option("#gw-types", "请示")
        page.fill("#gw-draft-form [name=issuer]", "××区教育局")
        page.fill("#gw-draft-form [name=subject]", "追加2025年校舍维修经费")
        page.fill("#gw-draft-form [name=key_points]", "部分学校校舍老化\n申请追加经费300万元")
        page.click("#gw-draft-form button[type=submit]")
        page.wait_for_function("document.getElementById('gw-editor').value.includes('妥否，请批示。')")

        # The writing toolbox on the whole text: 摘要 works without a model, 润色 says it needs one.
        page.fill("#gw-editor", TEXT)
        page.select_option("#gw-tool-op", "摘要")
        page.click("#gw-tool-run")
        expect(page.locator("#gw-tool-mode")).to_contain_text("抽取原文句子")
        summary = page.input_value("#gw-tool-text")
        assert summary and len(summary) < len(TEXT)
        page.click("#gw-tool-apply")
        assert page.input_value("#gw-editor") == summary
        page.select_option("#gw-tool-op", "润色")
        page.click("#gw-tool-run")
        expect(page.locator("#gw-error")).to_contain_text("大模型")

        # Review a notice with a wrong date: findings listed and marked inline; one click fixes the date.
        page.fill("#gw-editor", TEXT)
        page.click("#gw-review")
        findings = page.locator("#gw-findings .gw-finding")
        expect(findings.first).to_be_visible()
        date_item = findings.filter(has_text="2025年05月06日")
        expect(date_item).to_have_count(1)
        page.click("#gw-mode-mark")
        expect(page.locator("#gw-marked mark").first).to_be_visible()
        page.screenshot(path=str(shots / "gongwen-review.png"), full_page=True)
        date_item.locator("button").click()
        page.wait_for_function("document.getElementById('gw-editor').value.includes('2025年5月6日')")
        expect(page.locator("#gw-findings")).not_to_contain_text("2025年05月06日")

        # Save twice (two versions), then compare version 1 with the current text.
        page.click("#gw-mode-edit")
        page.click("#gw-save")
        expect(page.locator("#gw-doc-label")).to_contain_text("第1版")
        page.fill("#gw-editor", page.input_value("#gw-editor").replace("二、加强监测预警", "二、加强监测预警预报"))
        page.click("#gw-save")
        expect(page.locator("#gw-doc-label")).to_contain_text("第2版")
        page.click(".gw-tabs [data-tab=library]")
        page.locator("#gw-library tbody tr").first.locator("button").click()
        page.locator("#gw-versions button").last.click()  # version 1 as the old side
        page.click("#gw-compare")
        expect(page.locator("#gw-diff .row-replace")).to_have_count(1)
        expect(page.locator("#gw-diff ins")).to_contain_text("预报")
        expect(page.locator("#gw-diff .row-equal td.op").first).to_have_text("")
        page.screenshot(path=str(shots / "gongwen-compare.png"), full_page=True)

        # Duplicate check against the 公文库: a new draft that copies the saved one finds it as the source.
        page.click("#gw-new")
        page.fill("#gw-editor", TEXT.replace("今年", "2026年"))
        page.click(".gw-tabs [data-tab=dedup]")
        page.click("#gw-dedup")
        expect(page.locator("#gw-dedup-summary")).to_contain_text("重复率")
        expect(page.locator("#gw-dups")).to_contain_text("防汛工作的通知")

        # Minutes from a transcript, with its action items.
        page.click(".gw-tabs [data-tab=minutes]")
        page.fill("#gw-meeting-name", "区防汛工作会议")
        page.fill("#gw-meeting-date", "2025-05-20")
        page.fill("#gw-transcript", "主持人（王区长）：研究防汛工作。\n王区长：会议决定，由区水务局牵头，6月10日前完成泵站检修。" + XSS)
        page.click("#gw-minutes")
        expect(page.locator("#gw-minutes-result table")).to_contain_text("区水务局")

        # The GB/T 9704 DOCX download is a real Word file with the title.
        page.click("#gw-mode-edit")
        with page.expect_download() as download:
            page.click("#gw-docx")
        data = open(download.value.path(), "rb").read()
        texts = [p.text for p in DocxDocument(io.BytesIO(data)).paragraphs]
        assert any("防汛工作的通知" in t for t in texts)
    finally:
        context.close()
    assert errors == [], errors
