"""The console's login, users, lexicon and audit pages in a real browser (Debian chromium via Playwright)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from browser import needs_chromium
from conftest import ADMIN_PASSWORD, admin_key, make_settings
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import SYSTEM
from server import running_server

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def web_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("safety-web"))
    admin_key(settings)
    svc = KnowledgeService(settings, embedder=None)
    svc.users.create_user("reader", "reader-pass-1", ["viewer"], actor=SYSTEM)
    svc.close()
    with running_server(settings) as url:
        yield url


@pytest.fixture
def page(browser, web_url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("dialog", lambda d: d.accept())
    yield page
    context.close()
    assert errors == [], errors


def login(page, web_url: str, username: str, password: str, next_path: str = "/") -> None:
    page.goto(f"{web_url}/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")


def test_login_page_errors_then_signs_in_and_out(page, web_url: str, shots):
    from playwright.sync_api import expect

    login(page, web_url, "admin", "wrong-pass-9")
    expect(page.locator("#login-error")).to_have_text("用户名或密码不正确，或账号已停用")
    page.screenshot(path=str(shots / "login-error.png"))
    page.fill("#password", ADMIN_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator(".account-name")).to_contain_text("管理员")
    expect(page.locator(".nav a", has_text="审计日志")).to_be_visible()
    page.click("#logout")
    expect(page.locator(".account-login")).to_be_visible()
    expect(page.locator(".nav a", has_text="审计日志")).to_have_count(0)


def test_admin_pages_redirect_visitors_to_login(page, web_url: str):
    page.goto(web_url + "/admin/users")
    assert "/login" in page.url
    # An open redirect through ?next= is not followed off the site.
    for trick in ("//evil.example/", "/\\evil.example", "https://evil.example/"):
        page.goto(web_url + "/login?next=" + trick)
        assert page.locator("#login-form").get_attribute("data-next") == "/", trick


def test_users_page_creates_a_user_and_a_key(page, web_url: str, shots):
    from playwright.sync_api import expect

    login(page, web_url, "admin", ADMIN_PASSWORD, "/admin/users")
    expect(page.locator("h1")).to_have_text("用户与权限")
    page.fill("#dept-form [name=name]", "示范区政务服务局")
    page.click("#dept-form button[type=submit]")
    expect(page.locator("#dept-list")).to_contain_text("/示范区政务服务局")
    form = page.locator("#user-form")
    form.locator("[name=username]").fill("zhangsan")
    form.locator("[name=display_name]").fill("张三")
    form.locator("[name=password]").fill("zhang-pass-1")
    form.locator("[name=roles]").select_option("agent")
    form.locator("[name=department]").select_option(label="/示范区政务服务局")
    form.locator("button[type=submit]").click()
    row = page.locator("#user-table tr", has_text="zhangsan")
    expect(row).to_contain_text("坐席")
    expect(row).to_contain_text("/示范区政务服务局")
    # A weak password is refused with the server's Chinese message.
    form.locator("[name=username]").fill("lisi")
    form.locator("[name=password]").fill("12345678")
    form.locator("button[type=submit]").click()
    expect(page.locator("#page-error")).to_contain_text("密码至少 8 位")
    page.locator("#key-user").select_option(label="zhangsan")
    page.fill("#key-form [name=name]", "工单系统")
    page.fill("#key-form [name=scopes]", "hotline.read, hotline.intake")
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-created")).to_contain_text("hb_")
    expect(page.locator("#key-table tr", has_text="工单系统")).to_contain_text("有效")
    page.screenshot(path=str(shots / "users.png"), full_page=True)
    page.locator("#key-table tr", has_text="工单系统").locator("button", has_text="吊销").click()
    expect(page.locator("#key-table tr", has_text="工单系统")).to_contain_text("已吊销")


def test_lexicon_page_checks_text_and_adds_terms(page, web_url: str, shots, tmp_path):
    from playwright.sync_api import expect

    login(page, web_url, "admin", ADMIN_PASSWORD, "/admin/lexicon")
    expect(page.locator("#cat-table tbody tr").first).to_be_visible()
    page.fill("#term-form [name=term]", "页面测试禁词")
    page.fill("#term-form [name=category]", "暴恐")
    page.click("#term-form button[type=submit]")
    page.fill("#term-filter [name=q]", "页面测试")
    page.click("#term-filter button[type=submit]")
    expect(page.locator("#term-table tr", has_text="页面测试禁词")).to_have_count(1)
    # A word list imported from a file (the operator's official list); a bad file gets the server's line errors.
    words = tmp_path / "words.txt"
    words.write_text("导入测试词甲\n导入测试词乙\n", encoding="utf-8")
    page.set_input_files("#import-form [name=file]", str(words))
    page.fill("#import-form [name=category]", "诈骗")
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-result")).to_contain_text("新增 2 条")
    page.set_input_files("#import-form [name=file]", str(words))
    page.fill("#import-form [name=category]", "")
    page.click("#import-form button[type=submit]")
    expect(page.locator("#lex-error")).to_be_visible()
    assert "{" not in page.locator("#lex-error").inner_text()
    page.fill("#check-form [name=text]", "这里有 页 面 测 试 禁 词 的内容")
    page.click("#check-form button[type=submit]")
    expect(page.locator(".decision")).to_contain_text("拦截")
    expect(page.locator(".check-text mark")).to_have_count(1)
    page.screenshot(path=str(shots / "lexicon.png"), full_page=True)


def test_audit_page_shows_a_verified_chain_and_a_reader_cannot_open_it(page, web_url: str, shots):
    from playwright.sync_api import expect

    login(page, web_url, "admin", ADMIN_PASSWORD, "/admin/audit")
    expect(page.locator("#verify-status")).to_have_class("verify-status verify-ok")
    expect(page.locator("#verify-status")).to_contain_text("审计链完整")
    expect(page.locator("#audit-table tbody")).to_contain_text("auth.login")
    page.screenshot(path=str(shots / "audit.png"), full_page=True)
    page.click("#logout")
    expect(page.locator(".account-login")).to_be_visible()
    login(page, web_url, "reader", "reader-pass-1", "/admin/audit")
    expect(page.locator("#verify-status")).to_contain_text("没有权限")
    expect(page.locator(".nav a", has_text="审计日志")).to_have_count(0)
