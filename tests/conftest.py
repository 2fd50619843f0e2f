"""Shared fixtures: a service on a fresh data directory, and the small corpus the project owns (tests/data)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from haoban.config import Settings
from haoban.knowledge.service import KnowledgeService

# The browser fixtures (chromium via Playwright, screenshot folder) live in tests/browser.py.
pytest_plugins = ["browser"]

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus"


# Where make_settings puts the database: None is SQLite in the data directory; tests/test_postgres.py sets a
# function that makes a fresh PostgreSQL database, so the existing tests it imports run on PostgreSQL.
database_url_factory: Callable[[], str] | None = None


def make_settings(tmp_path: Path, **overrides) -> Settings:
    values = {
        "data_dir": tmp_path / "data",
        "database_url": database_url_factory() if database_url_factory else None,
        "embedding_backend": "none",
        "log_json": True,
        "chunk_size": 200,
        "chunk_overlap": 40,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def service(settings: Settings):
    svc = KnowledgeService(settings, embedder=None)
    yield svc
    svc.close()


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of the owned corpus, so tests may add bad files next to good ones."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def loaded(service: KnowledgeService, corpus_dir: Path) -> KnowledgeService:
    service.create_kb("测试库")
    report = service.ingest_paths("测试库", [corpus_dir])
    assert report.failed == 0, report.files
    return service


ADMIN_PASSWORD = "admin-pass-1"


def admin_key(settings: Settings, username: str = "admin") -> str:
    """Create an administrator and return an API key for it (for tests that call the API as a manager)."""
    from haoban.safety.auth import SYSTEM

    svc = KnowledgeService(settings, embedder=None)
    try:
        svc.users.create_user(username, ADMIN_PASSWORD, ["admin"], actor=SYSTEM)
        _, key = svc.users.create_api_key(username, "tests", actor=SYSTEM)
    finally:
        svc.close()
    return key


def auth_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def log_in(context, base_url: str, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Log a Playwright browser context in through the real login endpoint (the cookie lands in its jar)."""
    resp = context.request.post(
        f"{base_url}/api/auth/login", data={"username": username, "password": password}
    )
    assert resp.ok, resp.text()
