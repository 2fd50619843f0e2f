"""A real uvicorn server in a background thread, for tests that need HTTP over a socket (browser, API).

    from server import running_server

    with running_server(settings) as base_url:
        httpx.get(f"{base_url}/api/health")

or, as a fixture (import it into a test module or conftest.py):

    from server import live_server  # noqa: F401

    def test_x(live_server, settings):
        base_url = live_server(settings)

The socket is bound before the server starts (127.0.0.1, port 0), so there is no race for a free port.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import pytest
import uvicorn
from fastapi import FastAPI

from haoban.api.app import create_app
from haoban.config import Settings
from haoban.knowledge.service import KnowledgeService


@contextmanager
def running_server(
    settings: Settings,
    service: KnowledgeService | None = None,
    *,
    app: FastAPI | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[str]:
    """Serve `create_app(settings, service)` (or `app`) on a free local port; yield its base URL.

    The server runs the app's lifespan (service, embedding worker) as in production, and is shut
    down, lifespan included, when the block exits. A `service` passed in stays the caller's to close.
    """
    app = app or create_app(settings, service)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", lifespan="on", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as err:  # reported to the caller below
            failure.append(err)

    thread = threading.Thread(target=serve, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if failure or not thread.is_alive():
                cause = (
                    failure[0] if failure and not isinstance(failure[0], SystemExit) else "see the log above"
                )
                raise RuntimeError(f"test server failed to start: {cause}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"test server did not start within {startup_timeout:g} s")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout)
        sock.close()


@pytest.fixture
def live_server() -> Iterator[Callable[..., str]]:
    """Factory: `live_server(settings, service=None)` starts a server and returns its base URL.

    Every server started in a test is stopped at teardown.
    """
    with ExitStack() as stack:

        def start(settings: Settings, service: KnowledgeService | None = None, **kwargs) -> str:
            return stack.enter_context(running_server(settings, service, **kwargs))

        yield start
