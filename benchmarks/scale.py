"""Scale and speed of the lexical index: ingest rate, index size, memory and search latency at ≥100k chunks.

The corpus is synthesised from the real corpora under --data-dir (policyqa, govqa, State Council documents):
round 0 is the documents as they are, later rounds are variations (a region in the title and first line,
paragraphs or sentences rotated, years and numbers shifted, a different source), until the ingest reports
--target-chunks chunks. Documents go through KnowledgeService.add_texts in batches, the same path an import
from another system takes. Search latency is measured through the library and through the HTTP API (a real
uvicorn server on 127.0.0.1, in a thread of this process, sharing the service), with real questions.

Run from the repository root:

    .venv/bin/python benchmarks/scale.py                       # 100k chunks, writes benchmarks/results/scale.json
    .venv/bin/python benchmarks/scale.py --target-chunks 5000 --out /tmp/scale.json   # a quick check

The last line of stdout is the result as one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import re
import resource
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from haoban.config import Settings
from haoban.knowledge.schemas import DocumentMeta
from haoban.knowledge.service import KnowledgeService, TextItem

REPO = Path(__file__).resolve().parents[1]
KB_NAME = "规模测试"
REGIONS = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省",
    "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省",
    "广西壮族自治区", "海南省", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省", "青海省",
    "宁夏回族自治区", "新疆维吾尔自治区",
)  # fmt: skip
ACTIONS = ("转发", "印发", "贯彻落实", "关于执行", "学习宣传")
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-3]\d)(?=年)")
_SMALL_NUMBER = re.compile(r"(?<![\d.])([1-9]\d{0,2})(?=[%％万亿元个项家人次条])")
_SENTENCE_END = re.compile(r"(?<=[。！？；])")
_TITLE_END = re.compile(r"[\s。！？；，]")


# ---- corpus ---------------------------------------------------------------------------------------


def resolve_data_dir(value: str) -> Path:
    """--data-dir as given (relative to the working directory), else relative to the repository root."""
    given = Path(value).expanduser()
    for candidate in (given, REPO / given):
        if (candidate / "policyqa").is_dir():
            return candidate.resolve()
    raise SystemExit(f"找不到语料目录 {value}（应包含 policyqa/、govqa/、govdocs_statecouncil_govcn/）")


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _title_of(text: str, limit: int = 40) -> str:
    first = _TITLE_END.split(text.strip(), maxsplit=1)[0]
    return first[:limit] or "未命名文档"


def load_base_documents(data_dir: Path) -> list[dict[str, Any]]:
    """The real documents: {key, origin, title, text, issuer, doc_number}."""
    docs: list[dict[str, Any]] = []
    for row in read_jsonl(data_dir / "policyqa" / "corpus.jsonl"):
        docs.append(
            {"key": row["docid"], "origin": "policyqa", "title": _title_of(row["text"]), "text": row["text"]}
        )
    for row in read_jsonl(data_dir / "govqa" / "corpus.jsonl"):
        docs.append(
            {"key": row["id"], "origin": "govqa", "title": _title_of(row["text"]), "text": row["text"]}
        )
    for row in read_jsonl(data_dir / "govdocs_statecouncil_govcn" / "data.jsonl"):
        docs.append(
            {
                "key": row.get("id") or row.get("url") or row["title"],
                "origin": "govcn",
                "title": row.get("title") or _title_of(row["text"]),
                "text": row["text"],
                "issuer": row.get("issuer") or None,
                "doc_number": row.get("doc_number") or None,
            }
        )
    return [d for d in docs if d["text"].strip()]


def _rotate(parts: list[str], k: int) -> list[str]:
    """Keep the first part (usually the title line), rotate the rest by k."""
    head, body = parts[:1], parts[1:]
    if len(body) < 2:
        return parts
    k %= len(body)
    return head + body[k:] + body[:k]


def vary(doc: dict[str, Any], round_no: int, index: int) -> TextItem:
    """Round 0: the document itself; later rounds: a variation that chunks and tokenises differently."""
    meta = {
        "title": doc["title"],
        "issuer": doc.get("issuer"),
        "doc_number": doc.get("doc_number"),
        "tags": [doc["origin"]],
    }
    source = f"{doc['origin']}:{doc['key']}"
    text = doc["text"]
    if round_no > 0:
        region = REGIONS[(round_no * 7 + index) % len(REGIONS)]
        action = ACTIONS[(round_no + index) % len(ACTIONS)]
        shift = round_no % 9 - 4 or 5
        text = _YEAR.sub(lambda m: str(int(m.group(1)) + shift), text)
        text = _SMALL_NUMBER.sub(lambda m: str(int(m.group(1)) + round_no), text)
        paragraphs = [p for p in text.split("\n") if p.strip()]
        if len(paragraphs) >= 4:
            text = "\n".join(_rotate(paragraphs, round_no))
        else:
            text = "".join(_rotate([s for s in _SENTENCE_END.split(text) if s], round_no))
        text = f"{region}{action}：{text}"
        meta["title"] = f"{region}{action}{doc['title']}"[:500]
        meta["tags"] = [doc["origin"], region]
        source = f"{source}:v{round_no}:{region}"
    return TextItem(text=text, source=source, meta=DocumentMeta(**meta))


def synthesise(docs: list[dict[str, Any]], seed: int = 0) -> Iterator[TextItem]:
    """An endless stream of documents: round after round over the base corpus, each round shuffled."""
    round_no = 0
    while True:
        order = list(range(len(docs)))
        random.Random(seed + round_no).shuffle(order)
        for i in order:
            yield vary(docs[i], round_no, i)
        round_no += 1


def load_questions(data_dir: Path, n: int, seed: int = 0) -> list[str]:
    """n real questions, half from policyqa and half from govqa (fewer if the files are shorter)."""
    pools = []
    for name in ("policyqa", "govqa"):
        qs = [
            r["question"].strip()[:1000]
            for r in read_jsonl(data_dir / name / "questions.jsonl")
            if r.get("question", "").strip()
        ]
        random.Random(seed).shuffle(qs)
        pools.append(qs)
    half = n // 2
    picked = pools[0][:half] + pools[1][: n - half]
    if len(picked) < n:  # one file is short: take the rest from the other
        picked += (pools[0][half:] + pools[1][n - half :])[: n - len(picked)]
    random.Random(seed + 1).shuffle(picked)
    return picked


# ---- measuring ------------------------------------------------------------------------------------


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def percentiles(values: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(np.asarray(values) * 1000, [50, 95])
    return round(float(p50), 2), round(float(p95), 2)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Profiler:
    """cProfile around a phase when --profile DIR is given; a no-op otherwise."""

    def __init__(self, directory: Path | None):
        self.directory = directory

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        if self.directory is None:
            return fn()
        prof = cProfile.Profile()
        try:
            return prof.runcall(fn)
        finally:
            self.directory.mkdir(parents=True, exist_ok=True)
            prof.dump_stats(self.directory / f"{name}.prof")
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
            log(
                f"---- profile: {name} (top 30 by cumulative time; {self.directory / name}.prof) ----\n{out.getvalue()}"
            )


def ingest(
    service: KnowledgeService, docs: list[dict[str, Any]], target: int, batch_docs: int
) -> dict[str, Any]:
    stream = synthesise(docs)
    chunks = documents = chars = failed = 0
    seconds = 0.0
    batches = 0
    while chunks < target:
        batch = [next(stream) for _ in range(batch_docs)]
        t0 = time.perf_counter()
        report = service.add_texts(KB_NAME, batch)
        seconds += time.perf_counter() - t0
        chunks += report.chunks
        documents += report.added + report.replaced
        chars += report.chars
        failed += report.failed
        batches += 1
        rate = chars / seconds * 60 / 1e6 if seconds else 0.0
        log(
            f"[ingest] {chunks:>7}/{target} chunks  {documents:>6} docs  {chars / 1e6:6.1f}M chars  "
            f"{seconds:7.1f}s  {rate:5.2f}M chars/min  (batch {batches}: {time.perf_counter() - t0:.1f}s)"
        )
    return {"chunks": chunks, "documents": documents, "chars": chars, "failed": failed, "seconds": seconds}


@dataclass
class Timings:
    """Per-query seconds: wall clock, and CPU time of this process (less sensitive to a busy machine)."""

    wall: list[float]
    cpu: list[float]
    empty: int  # queries without hits

    def summary(self, name: str) -> dict[str, float]:
        p50, p95 = percentiles(self.wall)
        c50, c95 = percentiles(self.cpu)
        return {
            f"{name}_p50_ms": p50,
            f"{name}_p95_ms": p95,
            f"{name}_cpu_p50_ms": c50,
            f"{name}_cpu_p95_ms": c95,
        }


def time_library(service: KnowledgeService, questions: list[str], warmup: int) -> Timings:
    for q in questions[:warmup]:
        service.search(q, [KB_NAME], top_k=10, mode="lexical")
    wall, cpu = [], []
    empty = 0
    for q in questions:
        t0, c0 = time.perf_counter(), time.process_time()
        result = service.search(q, [KB_NAME], top_k=10, mode="lexical")
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        empty += not result.hits
    return Timings(wall, cpu, empty)


class ServerThread:
    """A real uvicorn server on 127.0.0.1 (a free port) in a daemon thread, serving the given service."""

    def __init__(self, settings: Settings, service: KnowledgeService):
        import uvicorn

        from haoban.api.app import create_app

        # proto must be IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY on accepted connections only
        # for sockets that say they are TCP, and without it Nagle + delayed ACK add ~40 ms to every response.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(settings, service), log_level="warning", access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="uvicorn", daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn 未能启动")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


def time_http(base_url: str, questions: list[str], warmup: int) -> Timings:
    wall, cpu = [], []
    empty = 0
    with httpx.Client(base_url=base_url, timeout=60, trust_env=False) as client:

        def ask(q: str) -> dict[str, Any]:
            r = client.post(
                "/api/search", json={"query": q, "kbs": [KB_NAME], "top_k": 10, "mode": "lexical"}
            )
            r.raise_for_status()
            return r.json()

        for q in questions[:warmup]:
            ask(q)
        for q in questions:
            t0, c0 = time.perf_counter(), time.process_time()
            body = ask(q)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)  # client and server threads: both live in this process
            empty += not body["hits"]
    return Timings(wall, cpu, empty)


# ---- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--target-chunks",
        type=int,
        default=100_000,
        help="ingest until at least this many chunks (default 100000)",
    )
    ap.add_argument("--queries", type=int, default=300, help="questions timed per front (default 300)")
    ap.add_argument(
        "--warmup", type=int, default=5, help="untimed questions before each timed loop (default 5)"
    )
    ap.add_argument("--batch-docs", type=int, default=500, help="documents per add_texts call (default 500)")
    ap.add_argument(
        "--data-dir",
        default="../shared/data",
        help="directory holding policyqa/, govqa/, govdocs_statecouncil_govcn/",
    )
    ap.add_argument(
        "--workdir", type=Path, help="where the data directory goes (must be empty or absent; never deleted)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    ap.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "scale.json", help="result file"
    )
    ap.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run ingest and library search under cProfile, stats into DIR",
    )
    args = ap.parse_args(argv)

    data_dir = resolve_data_dir(args.data_dir)
    if args.workdir:
        if args.workdir.exists() and any(args.workdir.iterdir()):
            raise SystemExit(f"--workdir {args.workdir} 不是空目录")
        workdir, remove = args.workdir.resolve(), False
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir, remove = Path(tempfile.mkdtemp(prefix="haoban-scale-")), not args.keep
    profiler = Profiler(args.profile)
    load_start = [round(x, 2) for x in os.getloadavg()]
    log(f"[setup] data {data_dir}  work {workdir}")

    settings = Settings(
        data_dir=workdir / "data", embedding_backend="none", embed_in_background=False, log_level="WARNING"
    )
    service = KnowledgeService(settings, embedder=None)
    try:
        # Public, as a citizen-facing portal base: the HTTP timing runs as a visitor without a login.
        service.create_kb(KB_NAME, "scale.py 合成语料", visibility="public")
        docs = load_base_documents(data_dir)
        log(
            f"[setup] {len(docs)} base documents, {sum(len(d['text']) for d in docs) / 1e6:.2f}M chars per round"
        )
        questions = load_questions(data_dir, args.queries)

        ing = profiler.run("ingest", lambda: ingest(service, docs, args.target_chunks, args.batch_docs))
        rss_after_ingest = peak_rss_mb()
        with service.db.engine.connect() as conn:  # fold the WAL into the database file before measuring it
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        index_bytes = dir_bytes(settings.index_dir)
        db_bytes = sum(p.stat().st_size for p in settings.data_dir.glob("haoban.db*"))
        info = service.get_kb(KB_NAME)
        segments = len(service.view(info.id, with_dense=False).segments)
        log(
            f"[ingest] done: {info.chunk_count} chunks in {segments} segments, index {index_bytes / 2**20:.1f} MiB, db {db_bytes / 2**20:.1f} MiB"
        )

        # A fresh service, as after a restart: the first search loads the segments from disk.
        service.close()
        service = KnowledgeService(settings, embedder=None)
        t0 = time.perf_counter()
        service.search(questions[0], [KB_NAME], top_k=10, mode="lexical")
        cold_ms = (time.perf_counter() - t0) * 1000
        log(f"[search] cold first search (loads the index): {cold_ms:.0f} ms")

        lib = profiler.run("search", lambda: time_library(service, questions, args.warmup))
        log(
            f"[search] library: {lib.summary('library')}, max {max(lib.wall) * 1000:.1f} ms, {lib.empty} without hits"
        )

        with ServerThread(settings, service) as base_url:
            log(f"[search] HTTP server on {base_url}")
            web = time_http(base_url, questions, args.warmup)
        log(
            f"[search] HTTP: {web.summary('http')}, max {max(web.wall) * 1000:.1f} ms, {web.empty} without hits"
        )

        lib_s, web_s = lib.summary("library"), web.summary("http")
        result = {
            "chunks": ing["chunks"],
            "documents": ing["documents"],
            "chars": ing["chars"],
            "ingest_seconds": round(ing["seconds"], 2),
            "ingest_chars_per_min": round(ing["chars"] / ing["seconds"] * 60) if ing["seconds"] else None,
            "index_bytes": index_bytes,
            "db_bytes": db_bytes,
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "library_p50_ms": lib_s["library_p50_ms"],
            "library_p95_ms": lib_s["library_p95_ms"],
            "http_p50_ms": web_s["http_p50_ms"],
            "http_p95_ms": web_s["http_p95_ms"],
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "loadavg_start": load_start,
                "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            },
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            # Context for reading the numbers above.
            "library_cpu_p50_ms": lib_s["library_cpu_p50_ms"],
            "library_cpu_p95_ms": lib_s["library_cpu_p95_ms"],
            "http_cpu_p50_ms": web_s["http_cpu_p50_ms"],
            "http_cpu_p95_ms": web_s["http_cpu_p95_ms"],
            "segments": segments,
            "failed_documents": ing["failed"],
            "peak_rss_after_ingest_mb": round(rss_after_ingest, 1),
            "cold_first_search_ms": round(cold_ms, 1),
            "queries": len(questions),
            "queries_without_hits": lib.empty,
            "profiled": args.profile is not None,
        }
    finally:
        service.close()
        if remove:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"[setup] kept {workdir}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
