"""Shared fixtures: a service on a fresh data directory, and the small corpus the project owns (tests/data)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from haoban.config import Settings
from haoban.knowledge.service import KnowledgeService

# The browser fixtures (chromium via Playwright, screenshot folder) live in tests/browser.py.
pytest_plugins = ["browser"]

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus"


def make_settings(tmp_path: Path, **overrides) -> Settings:
    values = {"data_dir": tmp_path / "data", "embedding_backend": "none", "log_json": True, "chunk_size": 200, "chunk_overlap": 40}
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
