"""A throwaway PostgreSQL server for the tests: its own cluster in a temp directory, reached by a unix socket.

    from postgres import pg_server, pg_url  # noqa: F401  (fixtures)

    def test_x(pg_url):            # a fresh, empty database for this test
        Database(pg_url).migrate()

How it runs:
- The binaries are the Debian `postgresql` package's (scripts/install-system-deps.sh installs it):
  `initdb`/`pg_ctl` on PATH, else the newest /usr/lib/postgresql/<version>/bin.
- The cluster lives in a fresh temp directory; the server listens on no TCP port (listen_addresses=''),
  only on a unix socket in that directory, so it never clashes with another server on the machine.
  fsync, full-page writes and synchronous commit are off: the data is thrown away anyway. The server's
  time zone is Asia/Shanghai, as a deployment's often is, so a naive datetime written as if it were UTC,
  or a date taken on the session's clock, shows up as 8 hours off.
- PostgreSQL refuses to run as root, and CI runs as root. Then the cluster is created and served by an
  unprivileged system user: Debian's `postgres` (the package creates it), else `haoban-pg`, created here
  with `useradd --system`. `runuser` switches to it; the temp directory is handed to that user, and root,
  the test process, can still reach the socket. Connections from the test process log in as the
  cluster's superuser by name over the socket, with `trust` authentication (only local sockets exist).
- If the server cannot be started the fixture fails (it does not skip) with the reason and the server log:
  CI installs PostgreSQL, so a missing or broken one is a real failure.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

SUPERUSER = "haoban"  # the cluster's superuser role (any name works with trust authentication)
RUN_AS_CANDIDATES = ("postgres", "haoban-pg")


def find_bindir() -> Path:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name), reverse=True
    )
    if versions:
        return versions[0].parent
    pytest.fail(
        "找不到 PostgreSQL（initdb、pg_ctl）：请运行 scripts/install-system-deps.sh 安装 Debian 的 postgresql 软件包",
        pytrace=False,
    )


def unprivileged_user() -> str:
    """The system user that owns and runs the cluster when the tests run as root (created if missing)."""
    for name in RUN_AS_CANDIDATES:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    name = RUN_AS_CANDIDATES[-1]
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    return name


@dataclass
class PgServer:
    bindir: Path
    root: Path  # temp directory: data/, the socket, the log
    run_as: str | None  # None: the current (non-root) user runs the server
    _names = itertools.count(1)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        return ["runuser", "-u", self.run_as, "--", *cmd] if self.run_as else cmd

    def _run(self, *args: str, timeout: float = 120) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            pytest.fail(
                f"PostgreSQL 测试服务器无法启动：{' '.join(args[:2])} 退出码 {proc.returncode}\n"
                f"{proc.stdout}\n{proc.stderr}\n{log}",
                pytrace=False,
            )

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.root}' -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=60 -c timezone=Asia/Shanghai"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                       capture_output=True, timeout=60)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={quote(str(self.root), safe='')}"

    def create_database(self, prefix: str = "t") -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(host=str(self.root), user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = find_bindir()
    run_as = unprivileged_user() if os.geteuid() == 0 else None
    # Not under pytest's tmp_path: that is private to root (0700), and the server's user must reach it.
    root = Path(tempfile.mkdtemp(prefix="haoban-pg-"))
    if run_as:
        shutil.chown(root, user=run_as)
    server = PgServer(bindir, root, run_as)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database on the test server, for one test."""
    return pg_server.create_database()

