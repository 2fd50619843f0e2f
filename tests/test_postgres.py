"""好办 on a real PostgreSQL server (tests/postgres.py starts a throwaway one; these tests fail, not skip, without it).

Most tests here are the SQLite tests of the paths that matter, imported from their modules and run again: while
this module runs, conftest.make_settings hands every test a fresh PostgreSQL database instead of a SQLite file.
The tests written here are the ones only PostgreSQL needs: migrations against the models, start-up of the app,
driver and URL handling, bytea and time-zone round trips.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

import conftest
from conftest import make_settings
from haoban.errors import DatabaseConfigError
from haoban.knowledge import copies
from haoban.knowledge.service import KnowledgeService, TextItem
from haoban.store.db import MIGRATIONS, Database, normalise_url
from haoban.store.models import Base, Document, KnowledgeBase
from postgres import PgServer, pg_server, pg_url  # noqa: F401  (fixtures)
from server import running_server

# --- the SQLite tests of the important paths, run again on PostgreSQL ------------------------------------------
# Imported test functions are collected here as tests of this module; module-scoped fixtures they need are
# imported too, so they are built (on PostgreSQL) for this module.
from test_audit import (  # noqa: F401
    test_concurrent_writers_keep_one_linear_chain,
    test_purge_by_retention_keeps_the_rest_verifiable,
    test_second_process_appends_to_the_same_chain,
    test_service_calls_are_audited_with_masked_digests,
    test_verify_finds_a_deleted_record_in_the_middle_and_at_the_end,
    test_verify_finds_an_edited_record,
)
from test_copies import (  # noqa: F401
    test_documents_ingested_before_signatures_are_still_folded,
    test_replacing_a_copy_with_new_text_unfolds_it,
    test_search_shows_one_copy_and_lists_the_others,
)
from test_dense import e5, test_hybrid_search_uses_vectors_as_they_fill_in  # noqa: F401
from test_faq import (  # noqa: F401
    kb,
    test_pairs_become_searchable_documents,
    test_reimport_updates_in_place_keeps_or_removes_missing_pairs,
)
from test_hotline import (  # noqa: F401
    test_handling_department_sees_only_its_own_tickets,
    test_stats_are_aggregated_exactly,
)
from test_lexicon import (  # noqa: F401
    lex,
    test_changes_reach_other_workers_through_the_version_counter,
    test_many_terms_build_and_match,
    test_starter_is_loaded_once_and_not_again_after_removal,
    test_term_management_errors,
)
from test_permissions import test_every_route_refuses_or_hides, world  # noqa: F401
from test_pii import pii_service, test_pseudonyms_are_stable_encrypted_and_reversible  # noqa: F401
from test_qa import qa, test_multi_turn_conversation_is_rewritten_stored_and_replayed  # noqa: F401
from test_service import (  # noqa: F401
    test_concurrent_readers_in_another_process_see_new_documents,
    test_concurrent_search_while_ingesting,
    test_delete_document_removes_it_from_search,
    test_filters,
    test_folder_ingest_reports_bad_files_and_keeps_going,
    test_kb_lifecycle,
    test_reingest_unchanged_and_replaced,
    test_search_cites_exact_passage,
)


@pytest.fixture(scope="module", autouse=True)
def on_postgres(pg_server: PgServer):  # noqa: F811
    """Every make_settings() in this module (conftest's `settings` fixture included) gets a fresh database."""
    conftest.database_url_factory = pg_server.create_database
    yield
    conftest.database_url_factory = None


@pytest.fixture
def db(pg_url: str):  # noqa: F811
    """The lexicon tests' bare database (a SQLite file there), here a fresh PostgreSQL database."""
    d = Database(pg_url)
    d.migrate()
    yield d
    d.dispose()


def _models_metadata():
    """Base.metadata with every app's tables registered (their models modules add them on import)."""
    import haoban.apps.gongwen.models  # noqa: F401
    import haoban.apps.guide.models  # noqa: F401
    import haoban.apps.hotline.models  # noqa: F401
    import haoban.safety.lexicon_store  # noqa: F401
    import haoban.safety.models  # noqa: F401
    import haoban.safety.vault  # noqa: F401

    return Base.metadata


# --- PostgreSQL only ---------------------------------------------------------------------------------------------


def test_migrations_from_empty_to_head_build_the_models_schema(pg_url: str):  # noqa: F811
    db = Database(pg_url)
    try:
        db.migrate()
        db.migrate()  # a second start-up finds nothing to do
        head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
            diff = compare_metadata(MigrationContext.configure(conn), _models_metadata())
            # The rows the migrations seed (the audit chain's head, the lexicon counters) are there.
            assert conn.scalar(text("SELECT hash FROM audit_head WHERE id = 1")) == "0" * 64
            assert conn.scalar(text("SELECT count(*) FROM lexicon_meta")) == 2
        assert diff == [], f"migrations and models differ on PostgreSQL: {diff}"
    finally:
        db.dispose()


def test_workers_starting_together_on_an_empty_database_migrate_it_once(pg_server: PgServer):  # noqa: F811
    """Three API workers start at once: without the migration lock two of them failed creating the tables."""
    url = pg_server.create_database()
    errors: list[BaseException] = []

    def start() -> None:
        db = Database(url)
        try:
            db.migrate()
        except BaseException as err:  # collected and asserted on in the test thread
            errors.append(err)
        finally:
            db.dispose()

    workers = [threading.Thread(target=start) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []


def test_app_start_up_migrates_an_empty_database_and_serves(tmp_path):
    settings = make_settings(tmp_path)
    assert settings.db_url.startswith("postgresql+psycopg://")
    with running_server(settings) as base:
        assert httpx.get(f"{base}/api/health", timeout=30).status_code == 200
        assert httpx.get(f"{base}/api/kbs", timeout=30).status_code == 200
    db = Database(settings.db_url)
    try:
        tables = set(inspect(db.engine).get_table_names())
        assert {"knowledge_bases", "documents", "chunks", "audit_log", "hotline_tickets", "gongwen_documents"} <= tables
    finally:
        db.dispose()


def test_postgresql_urls_are_pointed_at_psycopg_and_bad_ones_are_refused():
    assert normalise_url("postgresql://u:p@db:5432/haoban") == "postgresql+psycopg://u:p@db:5432/haoban"
    assert normalise_url("postgres://u@db/haoban") == "postgresql+psycopg://u@db/haoban"
    assert normalise_url("postgresql+psycopg://u@/x?host=/run") == "postgresql+psycopg://u@/x?host=/run"
    assert normalise_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    for bad, words in [
        ("mysql://u@db/haoban", "不支持的数据库"),
        ("postgresql+psycopg2://u@db/haoban", "psycopg2"),
        ("localhost:5432/haoban", "格式不正确"),
    ]:
        with pytest.raises(DatabaseConfigError) as e:
            normalise_url(bad)
        assert words in e.value.message


def test_missing_driver_is_a_clear_chinese_error_in_the_cli(pg_url: str, tmp_path):  # noqa: F811
    """A machine without the `postgres` extra: the driver's import is blocked in the child (psycopg is installed
    here for the other tests), so this stands in for pip not having installed it."""
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.argv = ['haoban', 'kb', 'list'];"
        "from haoban.cli import main; main()"
    )
    env = {"HAOBAN_DATA_DIR": str(tmp_path / "data"), "HAOBAN_DATABASE_URL": pg_url,
           "HAOBAN_CONFIG": str(tmp_path / "none.toml"), "HAOBAN_EMBEDDING_BACKEND": "none",
           "PYTHONPATH": ":".join(sys.path), "COLUMNS": "200"}  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "未安装 PostgreSQL 驱动" in run.stderr and "haoban[postgres]" in run.stderr
    assert "Traceback" not in run.stderr


def test_signatures_round_trip_through_bytea(service: KnowledgeService):
    service.create_kb("库")
    service.add_texts("库", [TextItem("关于做好春季农业生产工作的通知。各地要抓好春耕备耕。", "a")])
    with service.db.engine.connect() as conn:
        stored, body = conn.execute(select(Document.signature, Document.text)).one()
        column = conn.scalar(text("SELECT data_type FROM information_schema.columns "
                                  "WHERE table_name = 'documents' AND column_name = 'signature'"))  # fmt: skip
    assert column == "bytea"
    assert isinstance(stored, bytes) and stored == copies.signatures([body])[0]


def test_times_are_stored_as_instants_whatever_the_server_time_zone(service: KnowledgeService):
    """The test server runs on Asia/Shanghai time: a naive value written as UTC would come back 8 hours off."""
    before = datetime.now(UTC)
    service.create_kb("库")
    with service.db.engine.connect() as conn:
        assert conn.scalar(text("SHOW TimeZone")) == "Asia/Shanghai"
        created = conn.scalar(select(KnowledgeBase.created_at))
    _, (entry,) = service.audit.list(action="kb.create")
    for value in (created, entry.ts):
        assert value.tzinfo is not None and abs(value - before) < timedelta(minutes=1)
    assert service.audit.verify().ok
