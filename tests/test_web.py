"""The Chinese web console, driven in a real browser (Debian chromium via Playwright) against a real server.

Screenshots go to $HAOBAN_SCREENSHOTS when set (for a human to look at), else to a temp directory.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from browser import XSS, needs_chromium, watched_page
from conftest import CORPUS, admin_key, auth_headers, make_settings
from haoban.knowledge.service import KnowledgeService
from server import live_server, running_server  # noqa: F401  (live_server is a fixture)

# Requests the tests make next to the browser carry an administrator's API key (set up with the server).
AUTH: dict[str, str] = {}

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def web_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server on a fresh data directory, with the owned corpus in the knowledge base 测试库."""
    tmp = tmp_path_factory.mktemp("web")
    settings = make_settings(tmp)
    service = KnowledgeService(settings, embedder=None)
    try:
        service.create_kb("测试库", "单元测试用的政策文件", visibility="public")
        report = service.ingest_paths("测试库", [CORPUS])
        assert report.failed == 0, report.files
    finally:
        service.close()
    AUTH.update(auth_headers(admin_key(settings)))
    with running_server(settings) as url:
        yield url


@pytest.fixture
def page(browser, web_url: str):
    with watched_page(browser, web_url) as page:
        yield page


def kb_id(web_url: str, name: str, headers: dict[str, str] | None = None) -> str:
    kbs = httpx.get(f"{web_url}/api/kbs", headers=AUTH if headers is None else headers).json()
    return next(k["id"] for k in kbs if k["name"] == name)


def test_kb_list_shows_corpus(page, web_url: str, shots: Path):
    from playwright.sync_api import expect

    page.goto(web_url + "/")
    expect(page.locator(".topbar")).to_contain_text("好办")
    expect(page.locator(".topbar")).to_contain_text("政务知识平台")
    row = page.locator("#kb-rows tr", has_text="测试库")
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells.nth(1)).to_have_text("5")
    expect(cells.nth(4)).to_have_text("单元测试用的政策文件")
    expect(cells.nth(5)).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
    # No vector model in this server: the page says so instead of a progress bar that never fills.
    expect(page.locator("#embed-note")).to_contain_text("未配置向量模型")
    page.screenshot(path=str(shots / "kbs.png"), full_page=True)

    row.locator("a", has_text="测试库").click()
    expect(page).to_have_url(re.compile(r"/kbs/[0-9a-z]+$"))
    expect(page.locator("#doc-rows tr")).to_have_count(5)
    expect(page.locator("#page-info")).to_have_text("共 5 篇，第 1/1 页")
    expect(page.locator("#doc-rows tr", has_text="某市居住证管理办法").locator(".badge")).to_have_text("现行")
    page.screenshot(path=str(shots / "kb.png"), full_page=True)

    page.fill("#filter-q", "居住证")
    page.press("#filter-q", "Enter")
    expect(page.locator("#doc-rows tr")).to_have_count(1)
    expect(page.locator("#doc-rows tr")).to_contain_text("某市居住证管理办法")


def test_search_highlights_and_opens_cited_passage(page, web_url: str, shots: Path):
    from playwright.sync_api import expect

    page.goto(web_url + "/search")
    expect(page.locator("#kb-options input[name=kb]").first).to_be_attached()
    page.fill("#q", "居住证签注")
    page.press("#q", "Enter")
    card = page.locator("article.hit", has=page.locator(".hit-title", has_text="某市居住证管理办法")).first
    expect(card).to_be_visible()
    expect(card.locator(".hit-text mark", has_text="签注").first).to_be_visible()
    expect(card.locator(".hit-meta")).to_contain_text("第二章 申领与签注")
    expect(page.locator("#search-status")).to_contain_text("毫秒")
    expect(page.locator("#search-notice")).to_contain_text("未启用向量模型")
    # The search is in the address, so it can be shared.
    assert "q=%E5%B1%85%E4%BD%8F%E8%AF%81%E7%AD%BE%E6%B3%A8" in page.url
    page.screenshot(path=str(shots / "search.png"), full_page=True)

    passage = card.locator(".hit-text").inner_text()
    card.locator("a.view-source").click()
    expect(page).to_have_url(re.compile(r"/documents/[0-9a-z]+\?start=\d+&end=\d+$"))
    cited = page.locator("mark#cited")
    expect(cited).to_be_visible()
    expect(cited).to_contain_text("签注")
    assert cited.inner_text().strip() == passage.strip()
    expect(cited).to_be_in_viewport()
    expect(page.locator("#doc-title")).to_have_text("某市居住证管理办法")
    expect(page.locator("#crumb-kb")).to_have_text("测试库")
    page.screenshot(path=str(shots / "document.png"), full_page=False)

    # A linked search runs on load, with the filters filled from the address.
    page.goto(web_url + "/search?q=" + "垃圾分类" + "&validity=all&mode=lexical")
    expect(page.locator("article.hit").first).to_be_visible()
    expect(page.locator("#q")).to_have_value("垃圾分类")
    expect(page.locator("#validity")).to_have_value("all")
    expect(page.locator("#mode")).to_have_value("lexical")


def test_search_errors_are_shown_in_chinese(page, web_url: str):
    from playwright.sync_api import expect

    page.goto(web_url + "/search?q=居住证&kb=不存在的库")
    expect(page.locator("#search-error")).to_be_visible()
    expect(page.locator("#search-error")).to_contain_text("检索失败")
    assert "{" not in page.locator("#search-error").inner_text()

    page.goto(web_url + "/search")
    page.fill("#date_from", "2024-05-01")
    page.fill("#date_to", "2024-01-01")
    page.fill("#q", "居住证")
    page.press("#q", "Enter")
    expect(page.locator("#search-error")).to_have_text("成文日期起不能晚于成文日期止")


def test_create_and_delete_kb_through_the_form(page, web_url: str):
    from playwright.sync_api import expect

    page.goto(web_url + "/")
    expect(page.locator("#kb-rows tr", has_text="测试库")).to_have_count(1)
    page.fill("#kb-name", "表单新建库")
    page.fill("#kb-desc", "通过页面创建")
    page.click("#create-form button[type=submit]")
    row = page.locator("#kb-rows tr", has_text="表单新建库")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("通过页面创建")
    expect(page.locator("#kb-name")).to_have_value("")

    # The API's Chinese message is shown inline, not raw JSON.
    page.fill("#kb-name", "表单新建库")
    page.click("#create-form button[type=submit]")
    expect(page.locator("#create-error")).to_have_text("知识库“表单新建库”已存在")

    page.fill("#kb-name", "a/b")
    page.click("#create-form button[type=submit]")
    expect(page.locator("#create-error")).to_be_visible()
    assert "{" not in page.locator("#create-error").inner_text()

    # Cancelling the confirm dialog keeps the knowledge base; accepting it deletes.
    page.watch.confirm = False
    row.locator("button", has_text="删除").click()
    expect(row).to_have_count(1)
    page.watch.confirm = True
    row.locator("button", has_text="删除").click()
    expect(row).to_have_count(0)
    assert any("表单新建库" in d for d in page.watch.dialogs)
    assert "表单新建库" not in [k["name"] for k in httpx.get(f"{web_url}/api/kbs", headers=AUTH).json()]


def test_upload_paste_toggle_and_delete_on_kb_page(page, web_url: str, tmp_path: Path, shots: Path):
    from playwright.sync_api import expect

    httpx.post(f"{web_url}/api/kbs", headers=AUTH, json={"name": "上传库"}).raise_for_status()
    good = tmp_path / "某区养老服务补贴实施细则.txt"
    good.write_text(
        "某区养老服务补贴实施细则\n\n第一条 年满八十周岁的本区户籍老人，可以申请养老服务补贴。\n\n"
        "第二条 补贴标准为每人每月二百元。",
        encoding="utf-8",
    )
    bad = tmp_path / "旧格式.doc"
    bad.write_bytes(b"\xd0\xcf\x11\xe0 legacy")
    shutil.copy(CORPUS / "垃圾分类条例.txt", tmp_path / "垃圾分类条例.txt")

    page.goto(f"{web_url}/kbs/{kb_id(web_url, '上传库')}")
    expect(page.locator("#doc-rows")).to_contain_text("本库还没有文档")
    page.set_input_files("#upload-files", [str(good), str(bad), str(tmp_path / "垃圾分类条例.txt")])
    page.click("#upload-btn")
    result = page.locator("#upload-result")
    expect(result.locator(".outcome-added")).to_have_count(2)
    failed = result.locator(".outcome-failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("失败")
    expect(failed).to_contain_text("旧格式.doc")
    expect(failed.locator(".outcome-msg")).to_contain_text("不支持的文件格式")
    expect(result.locator(".summary")).to_contain_text("新增 2 篇，失败 1 篇")
    expect(page.locator("#doc-rows tr")).to_have_count(2)
    expect(page.locator("#doc-rows")).to_contain_text("某区养老服务补贴实施细则")

    # Uploading the same file again is reported as unchanged.
    page.set_input_files("#upload-files", str(good))
    page.click("#upload-btn")
    expect(result.locator(".outcome-unchanged")).to_contain_text("未变化")

    page.fill("#text-title", "关于做好高温天气防暑降温工作的通知")
    page.fill("#text-body", "各单位：入夏以来高温天气频发，请做好防暑降温工作，合理调整户外作业时间。")
    page.click("#text-form button[type=submit]")
    expect(page.locator("#text-result .outcome-added")).to_have_count(1)
    expect(page.locator("#doc-rows tr")).to_have_count(3)
    expect(page.locator("#text-title")).to_have_value("")
    page.screenshot(path=str(shots / "kb-upload.png"), full_page=True)

    row = page.locator("#doc-rows tr", has_text="某区养老服务补贴实施细则")
    row.locator("button", has_text="设为已废止").click()
    expect(row.locator(".badge")).to_have_text("已废止")
    expect(row.locator("button", has_text="设为现行")).to_be_visible()

    row.locator("button", has_text="删除").click()
    expect(row).to_have_count(0)
    expect(page.locator("#page-info")).to_have_text("共 2 篇，第 1/1 页")


def test_kb_page_pages_through_documents(page, web_url: str):
    from playwright.sync_api import expect

    httpx.post(f"{web_url}/api/kbs", headers=AUTH, json={"name": "分页库"}).raise_for_status()
    for i in range(23):
        body = {"text": f"第{i}号通知正文：请各单位按时报送材料。", "meta": {"title": f"分页测试通知{i:02d}"}}
        httpx.post(f"{web_url}/api/kbs/分页库/texts", headers=AUTH, json=body).raise_for_status()
    page.goto(f"{web_url}/kbs/{kb_id(web_url, '分页库')}")
    expect(page.locator("#page-info")).to_have_text("共 23 篇，第 1/2 页")
    expect(page.locator("#doc-rows tr")).to_have_count(20)
    expect(page.locator("#prev-page")).to_be_disabled()
    page.click("#next-page")
    expect(page.locator("#page-info")).to_have_text("共 23 篇，第 2/2 页")
    expect(page.locator("#doc-rows tr")).to_have_count(3)
    expect(page.locator("#next-page")).to_be_disabled()


def test_user_text_is_never_markup(page, web_url: str):
    from playwright.sync_api import expect

    httpx.post(
        f"{web_url}/api/kbs", headers=AUTH, json={"name": "安全库", "description": XSS}
    ).raise_for_status()
    body = {
        "text": f"{XSS}\n居住证签注<script>alert(2)</script>的规定。",
        "meta": {"title": XSS, "issuer": XSS},
    }
    report = httpx.post(f"{web_url}/api/kbs/安全库/texts", headers=AUTH, json=body).json()
    doc_id = report["files"][0]["document_id"]

    page.goto(web_url + "/")
    expect(page.locator("#kb-rows tr", has_text="安全库").locator("td").nth(4)).to_have_text(XSS)

    page.goto(f"{web_url}/kbs/{kb_id(web_url, '安全库')}")
    expect(page.locator("#doc-rows a.doc-link")).to_have_text(XSS)
    expect(page.locator("#doc-rows td").nth(2)).to_have_text(XSS)

    page.goto(f"{web_url}/search?q=居住证签注&kb=安全库")
    card = page.locator("article.hit").first
    expect(card.locator(".hit-title a")).to_have_text(XSS)
    expect(card.locator(".hit-text")).to_contain_text("<script>alert(2)</script>")

    page.goto(f"{web_url}/documents/{doc_id}")
    expect(page.locator("#doc-title")).to_have_text(XSS)
    expect(page.locator("#doc-text")).to_contain_text("<script>alert(2)</script>")
    assert page.title().startswith(XSS)

    # Nothing the user typed became an element, and no script ran (the fixture also checks alerts).
    for url in ["/", f"/kbs/{kb_id(web_url, '安全库')}", f"/documents/{doc_id}"]:
        page.goto(web_url + url)
        page.wait_for_load_state("networkidle")
        assert page.locator("main img, main script").count() == 0


def test_offsets_count_code_points_like_the_server(page, web_url: str):
    """Characters outside the BMP (rare name characters such as 𠮷) must not shift highlights or citations."""
    from playwright.sync_api import expect

    httpx.post(f"{web_url}/api/kbs", headers=AUTH, json={"name": "生僻字库"}).raise_for_status()
    text = "关于𠮷𠮷𡈽同志办理流动人口登记的说明\n\n𠮷𠮷𡈽同志的流动人口登记已经办结，请于五日内领取。"
    body = {"text": text, "meta": {"title": "生僻字测试"}}
    httpx.post(f"{web_url}/api/kbs/生僻字库/texts", headers=AUTH, json=body).raise_for_status()
    page.goto(f"{web_url}/search?q=流动人口登记&kb=生僻字库")
    card = page.locator("article.hit").first
    expect(card).to_be_visible()
    marks = card.locator(".hit-text mark").all_inner_texts()
    assert marks and all(
        m in {"流动", "人口", "登记", "流动人口", "流动人口登记", "人口登记"} for m in marks
    ), marks
    passage = card.locator(".hit-text").inner_text()
    card.locator("a.view-source").click()
    expect(page.locator("mark#cited")).to_have_text(passage)


def test_search_folds_a_repost_under_its_original(page, web_url: str, shots: Path):
    from playwright.sync_api import expect

    from test_copies import NOTICE, REPOST

    httpx.post(f"{web_url}/api/kbs", headers=AUTH, json={"name": "转载库"}).raise_for_status()
    for title, text in (("省厅原文", NOTICE), ("市局转发", REPOST)):
        httpx.post(f"{web_url}/api/kbs/转载库/texts", headers=AUTH, json={"text": text, "meta": {"title": title}}).raise_for_status()
    page.goto(f"{web_url}/search?q=农资运输车辆绿色通道&kb=转载库&mode=lexical")
    card = page.locator("article.hit").first
    expect(card.locator(".hit-copies")).to_contain_text("另有 1 份相同或高度相似的文件")
    expect(card.locator(".hit-copies .copy-similarity")).to_have_text(re.compile(r"（约 9\d% 相同）"))  # a repost, not identical
    shown = card.locator(".hit-title a").inner_text()
    assert page.locator(".hit-title a", has_text="省厅原文" if shown == "市局转发" else "市局转发").count() == 0
    page.screenshot(path=str(shots / "search-copies.png"), full_page=True)
    card.locator(".hit-copies a").click()
    expect(page.locator("#doc-title")).to_have_text("市局转发" if shown == "省厅原文" else "省厅原文")


def test_unknown_ids_get_a_chinese_404(page, web_url: str):
    from playwright.sync_api import expect

    response = page.goto(web_url + "/documents/01nonexistentdocument00000")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("文档不存在或已被删除")
    response = page.goto(web_url + "/kbs/没有这个库")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("知识库不存在或已被删除")


def test_narrow_screen_is_usable(browser, web_url: str, shots: Path):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(web_url + "/search?q=居住证签注")
        expect(page.locator("article.hit").first).to_be_visible()
        # Nothing wider than the screen except inside the scrollable table wrappers.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        page.screenshot(path=str(shots / "search-narrow.png"), full_page=True)
        page.goto(web_url + "/")
        expect(page.locator("#kb-rows tr", has_text="测试库")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


class GatedEmbedder:
    """A stand-in vector model: deterministic vectors, but passages wait until the test opens the gate."""

    name = "test/gated"
    dim = 16

    def __init__(self) -> None:
        self.gate = threading.Event()

    def _vector(self, text: str) -> np.ndarray:
        v = (
            np.frombuffer(hashlib.sha256(text.encode()).digest()[: self.dim], dtype=np.uint8).astype(
                np.float32
            )
            - 127.5
        )
        return v / np.linalg.norm(v)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.gate.wait(timeout=60)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


def test_embedding_progress_is_polled_until_vectors_are_ready(page, live_server, tmp_path: Path):  # noqa: F811
    from playwright.sync_api import expect

    settings = make_settings(tmp_path, embedding_batch=4)
    embedder = GatedEmbedder()
    service = KnowledgeService(settings, embedder=embedder)
    try:
        service.create_kb("向量库", visibility="public")  # this server's visitor (not logged in) opens it
        service.ingest_paths("向量库", [CORPUS])
        url = live_server(settings, service)
        page.watch.web_url = url
        page.goto(f"{url}/kbs/{kb_id(url, '向量库', headers={})}")
        line = page.locator("#embed-progress")
        expect(line).to_have_text("向量索引补齐中：0/21")
        expect(page.locator("#doc-rows tr").first.locator(".progress-text")).to_have_text(
            re.compile(r"^0/\d+$")
        )
        page.goto(url + "/")
        expect(page.locator("#kb-rows tr", has_text="向量库").locator(".progress-text")).to_have_text("0/21")
        page.go_back()
        embedder.gate.set()
        expect(line).to_be_hidden(timeout=20_000)
        # The document table is refreshed too: every row's bar is full.
        expect(page.locator("#doc-rows .progress-fill.done")).to_have_count(5)
        expect(page.locator("#kb-desc")).to_contain_text("共 5 篇文档")
    finally:
        embedder.gate.set()
        service.close()


def test_index_upgrade_progress_is_shown_until_the_rebuild_is_done(page, live_server, tmp_path: Path, monkeypatch):  # noqa: F811
    """A base indexed in an older keyword format: the KB page says the rebuild runs, then that it finished."""
    from playwright.sync_api import expect

    from test_ranking import _old_format_base, _tokenising

    settings = make_settings(tmp_path)
    kb = _old_format_base(settings)  # a public base named 库, three documents
    gate = threading.Event()
    _tokenising(monkeypatch, gate=gate)
    service = KnowledgeService(settings, embedder=None)
    try:
        url = live_server(settings, service)
        page.watch.web_url = url
        page.goto(f"{url}/kbs/{kb}")
        line = page.locator("#index-upgrade")
        expect(line).to_have_text("关键词索引正在后台升级：0/3 个段落已重新分词；升级期间检索照常，使用旧版索引。")
        # The search page says the same while it lasts, and still finds the passage.
        page.goto(f"{url}/search?q={'企业职工培训补贴'}")
        expect(page.locator("#search-notice")).to_contain_text("关键词索引正在后台升级")
        page.goto(f"{url}/kbs/{kb}")
        expect(line).to_contain_text("关键词索引正在后台升级")
        gate.set()
        expect(line).to_have_text("关键词索引升级完成。", timeout=20_000)
    finally:
        gate.set()
        service.close()
