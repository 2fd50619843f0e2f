"""Database engine, sessions and schema migration (Alembic, run by the app itself at start-up)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from haoban.errors import DatabaseConfigError

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x6861_6F62_616E  # "haoban": the advisory-lock key that serialises schema upgrades
# psycopg 3 is the PostgreSQL driver the project ships (the `postgres` extra); a bare postgresql:// URL would
# make SQLAlchemy look for psycopg2, so it is pointed at psycopg here.
_PG_SCHEMES = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def normalise_url(url: str) -> str:
    """The URL with the project's PostgreSQL driver filled in; a clear Chinese error for anything unusable."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise DatabaseConfigError(f"数据库地址（database_url）格式不正确：{url!r}，应形如 postgresql+psycopg://用户:密码@主机:5432/库名")
    scheme = _PG_SCHEMES.get(scheme, scheme)
    try:
        parsed = make_url(f"{scheme}://{rest}")
    except ArgumentError as e:
        raise DatabaseConfigError(f"数据库地址（database_url）格式不正确：{e}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseConfigError(f"不支持的数据库：{parsed.get_backend_name()}；好办支持 SQLite（默认）和 PostgreSQL")
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise DatabaseConfigError(
            f"PostgreSQL 驱动 {parsed.get_driver_name()} 不受支持：请使用 postgresql+psycopg://（psycopg 3）"
        )
    return f"{scheme}://{rest}"


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            # WAL lets searches read while an ingest writes; foreign keys make deletes cascade.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as e:  # SQLAlchemy imports the driver here
        raise DatabaseConfigError(
            "已配置 PostgreSQL 数据库，但未安装 PostgreSQL 驱动（psycopg）：请运行 pip install 'haoban[postgres]'",
            detail=str(e),
        ) from None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it on an empty database)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several API workers starting on an empty database would each create the tables and all but one
            # fail; a transaction-scoped lock makes the others wait and then find the schema up to date.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Database:
    def __init__(self, url: str):
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        s = self._sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
