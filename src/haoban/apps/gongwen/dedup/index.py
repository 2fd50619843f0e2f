"""A persistent, incremental sentence index of one corpus, and the duplicate check against it.

Layout of the corpus directory:

    index.sqlite        documents, distinct sentences (by a hash of the normalised text), occurrences
                        (sentence × document × span), LSH segment list, parameters, a generation counter
    segments/<name>/    one immutable LSH segment: keys.npy (sorted uint64 band keys), ids.npy (uint32
                        sentence ids), read through mmap
    write.lock          held (flock) by the one writer at a time, across processes

Why this shape:
- Sentences are stored once however many documents repeat them (公文 repeat a lot: 转发 copies whole
  documents, and every 通知 shares its phrasing), so LSH entries, hashing and verification scale with the
  *distinct* sentences; occurrences are 5 small integers each.
- LSH keys live in sorted numpy arrays, not a database table: 16 keys per sentence would be ~50M B-tree rows
  at 100k documents; a sorted array is 12 bytes an entry, built with one sort and searched with
  `searchsorted`. Arrays cannot be appended to, so each write batch adds a new immutable segment (like the
  knowledge base's BM25 segments); segments of a similar size are merged (tiered, so an entry is rewritten
  O(log n) times), and dead entries (sentences no document uses any more) are dropped on merge. Until then
  they only cost a lookup that finds no sentence row.
- Readers never block: SQLite in WAL mode, a batch commits its rows and its segment in one transaction,
  and a reader reloads the segment list only when the generation changed. A merged-away segment file is
  deleted after the commit; a reader that already mapped it keeps reading it (POSIX unlink semantics), and
  one that had not yet opened it reloads.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import shutil
import sqlite3
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from haoban.apps.gongwen.dedup.schemas import (
    DedupDocument,
    DedupReport,
    DedupSource,
    DedupStats,
    DedupTiming,
    DuplicatedSentence,
)
from haoban.apps.gongwen.dedup.text import (
    BOILERPLATE_FILE,
    MIN_CJK,
    Boilerplate,
    Sentence,
    checkable_sentences,
    cjk_count,
    normalize,
)
from haoban.errors import InvalidInput, TextTooLong
from haoban.text.minhash import MinHasher

DEFAULT_THRESHOLD = 0.7  # see benchmarks/README.md: edited copies score 0.8–0.95, fresh 公文 prose < 0.6
MIN_THRESHOLD = 0.3
MAX_CHECK_CHARS = 100_000  # one check: about 60 pages of a 公文
MAX_DOC_CHARS = 2_000_000  # one registered document (State Council documents with attachments reach 270k)
MAX_DOC_ID = 200
TOP_SOURCES = 3
CANDIDATES_PER_SENTENCE = 64  # verified per checked sentence, most shared band keys first
POSTING_CAP = 1000  # ids read per band key (a very common key says little)
TIER_BASE = 4  # segments within a factor of this in size form a tier; 4 of a tier are merged
TIER_FANOUT = 4
DEAD_COMPACT = 0.3  # compact when this share of LSH entries belong to sentences no longer used
BATCH_DOCS = 2000

SCHEMA = """
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    no INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, meta TEXT NOT NULL,
    version TEXT, chars INTEGER NOT NULL, sents BLOB NOT NULL, added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sentences (
    id INTEGER PRIMARY KEY, hash INTEGER NOT NULL, refs INTEGER NOT NULL, text TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS ux_sentences_hash ON sentences(hash);
CREATE TABLE IF NOT EXISTS occ (
    sent INTEGER NOT NULL, doc INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    para INTEGER NOT NULL, text TEXT, PRIMARY KEY (sent, doc, start)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments (name TEXT PRIMARY KEY, entries INTEGER NOT NULL, created REAL NOT NULL);
"""


@dataclass
class DocInput:
    doc_id: str
    title: str
    text: str
    meta: dict[str, Any] | None = None
    version: str | None = None  # e.g. the source's content hash: lets a sync skip unchanged documents


@dataclass
class _Segment:
    name: str
    keys: np.ndarray
    ids: np.ndarray


@dataclass
class _View:
    generation: int
    segments: list[_Segment] = field(default_factory=list)


def sentence_hash(norm: str) -> int:
    """Signed 64-bit id of a normalised sentence (SQLite integers are signed)."""
    return int.from_bytes(hashlib.blake2b(norm.encode(), digest_size=8).digest(), "little", signed=True)


def similarity(a: str, b: str) -> float:
    """How much of two normalised sentences is the same text in the same order, 0–1.

    The base is the Indel ratio 2·LCS / (|a| + |b|): 3 characters changed in a 40-character sentence give
    ~0.93, a 4-character word inserted ~0.95. When one sentence is (nearly) contained in the other and is at
    least 40% of its length — the draft joined two source sentences with a comma, or kept half of one —
    the best-aligned window counts too, discounted by the length difference (half the length: × 0.75).
    """
    base = Indel.normalized_similarity(a, b)
    short, long_ = sorted((len(a), len(b)))
    if long_ and short / long_ >= 0.4 and short >= MIN_CJK:
        part = fuzz.partial_ratio(a, b) / 100.0
        base = max(base, part * (0.5 + 0.5 * short / long_))
    return base


def _non_space(text: str) -> int:
    return sum(1 for c in text if not c.isspace())


def validate_check_text(text: str) -> None:
    """Clear Chinese errors for input that cannot be checked."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("待查文本为空，请粘贴或上传公文正文", code="DEDUP_EMPTY_TEXT")
    if len(text) > MAX_CHECK_CHARS:
        raise TextTooLong(
            f"待查文本共 {len(text)} 字，超过单次查重上限 {MAX_CHECK_CHARS} 字，请分段查重",
            code="DEDUP_TEXT_TOO_LONG",
            detail={"chars": len(text), "limit": MAX_CHECK_CHARS},
        )
    controls = sum(1 for c in text if unicodedata.category(c) in ("Cc", "Cs", "Co") and c not in "\n\r\t")
    if controls > max(2, len(text) // 100) or cjk_count(text) == 0:
        raise InvalidInput(
            "待查文本没有中文内容或含有大量无法识别的字符（可能是二进制文件），请粘贴公文正文",
            code="DEDUP_TEXT_GARBAGE",
        )


def _check_threshold(threshold: float) -> float:
    if not (isinstance(threshold, int | float) and MIN_THRESHOLD <= threshold <= 1.0):
        raise InvalidInput(f"相似度阈值须在 {MIN_THRESHOLD} 到 1 之间", code="DEDUP_THRESHOLD_INVALID")
    return float(threshold)


def _chunks(seq: list[Any], size: int = 900) -> Iterator[list[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


class DedupIndex:
    """One corpus on disk. Any number of instances (threads, processes) may read; writes are serialised."""

    def __init__(
        self,
        path: Path | str,
        *,
        corpus_id: str | None = None,
        bands: int = 16,
        rows: int = 3,
        shingle: int = 3,
        boilerplate: Boilerplate | None = None,
    ):
        self.path = Path(path)
        self.corpus_id = corpus_id or self.path.name
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "segments").mkdir(exist_ok=True)
        self._db_path = self.path / "index.sqlite"
        self._thread_lock = threading.Lock()
        self._view_lock = threading.Lock()
        self._view: _View | None = None
        self._local = threading.local()
        # Operators may extend the boilerplate list per deployment: <dedup root>/boilerplate.txt.
        self.boilerplate = boilerplate or Boilerplate.load(
            BOILERPLATE_FILE, self.path.parent / "boilerplate.txt"
        )
        with self._writing() as con:
            con.executescript(SCHEMA)
            stored = self._config(con, "params")
            if stored is None:
                params = {"bands": bands, "rows": rows, "shingle": shingle, "seed": MinHasher().seed}
                self._set_config(con, "params", json.dumps(params))
                self._set_config(con, "generation", "0")
                self._set_config(con, "dead", "0")
            else:
                params = json.loads(stored)  # an existing index keeps the parameters it was built with
        self.hasher = MinHasher(**params)

    # ---- connections and locks -------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self._db_path, isolation_level=None, timeout=60, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA cache_size=-65536")  # 64 MB page cache per connection
        return con

    def _reader(self) -> sqlite3.Connection:
        """One connection per thread for reads (sqlite3 connections must not be shared while in use)."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
        return con

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The single-writer section: a thread lock, then an flock other processes respect."""
        with self._thread_lock, open(self.path / "write.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            con = self._connect()
            try:
                yield con
            finally:
                con.close()
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _config(con: sqlite3.Connection, key: str) -> str | None:
        row = con.execute("SELECT value FROM config WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _set_config(con: sqlite3.Connection, key: str, value: str) -> None:
        con.execute("INSERT OR REPLACE INTO config(key, value) VALUES (?, ?)", (key, value))

    def _bump(self, con: sqlite3.Connection) -> None:
        con.execute("UPDATE config SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
        self._view = None

    # ---- writing ---------------------------------------------------------------------------------

    def add(
        self,
        doc_id: str,
        title: str,
        text: str,
        meta: dict[str, Any] | None = None,
        *,
        version: str | None = None,
    ) -> DedupDocument:
        """Add a document, or replace the one with the same id."""
        self.add_many([DocInput(doc_id, title, text, meta, version)])
        doc = self.get(doc_id)
        assert doc is not None
        return doc

    def add_many(
        self,
        docs: Iterable[DocInput],
        *,
        batch_docs: int = BATCH_DOCS,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Add or replace documents in batches (one transaction and one LSH segment per batch).

        Returns the number of documents written. `progress(documents, sentences)` after each batch.
        """
        done = sentences = 0
        batch: list[DocInput] = []
        for doc in docs:
            batch.append(self._validate_doc(doc))
            if len(batch) >= batch_docs:
                sentences += self._write_batch(batch)
                done += len(batch)
                batch = []
                if progress:
                    progress(done, sentences)
        if batch:
            sentences += self._write_batch(batch)
            done += len(batch)
            if progress:
                progress(done, sentences)
        return done

    @staticmethod
    def _validate_doc(doc: DocInput) -> DocInput:
        if not doc.doc_id or len(doc.doc_id) > MAX_DOC_ID:
            raise InvalidInput(f"文档标识不能为空且不超过 {MAX_DOC_ID} 字", code="DEDUP_DOC_ID_INVALID")
        if not isinstance(doc.text, str):
            raise InvalidInput("文档正文须为文本", code="DEDUP_DOC_TEXT_INVALID")
        if len(doc.text) > MAX_DOC_CHARS:
            raise TextTooLong(
                f"文档“{doc.title or doc.doc_id}”共 {len(doc.text)} 字，超过查重库单篇上限 {MAX_DOC_CHARS} 字",
                code="DEDUP_DOC_TOO_LONG",
            )
        return doc

    def _write_batch(self, docs: list[DocInput]) -> int:
        # CPU work first, outside the write lock.
        latest = {d.doc_id: d for d in docs}  # the same id twice in a batch: the last one wins
        prepared: list[tuple[DocInput, list[Sentence], list[int]]] = []
        for d in latest.values():
            sents, _ = checkable_sentences(d.text, boilerplate=self.boilerplate)
            prepared.append((d, sents, [sentence_hash(s.norm) for s in sents]))
        seg_dir: Path | None = None
        with self._writing() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                for d, _, _ in prepared:
                    self._remove_in(con, d.doc_id)
                # Distinct sentences of the batch: hash -> (norm, display text of the first occurrence).
                distinct: dict[int, tuple[str, str]] = {}
                for d, sents, hashes in prepared:
                    for s, h in zip(sents, hashes, strict=True):
                        if h not in distinct:
                            distinct[h] = (s.norm, d.text[s.start : s.end])
                ids: dict[int, int] = {}
                display: dict[int, str] = {}
                for part in _chunks(list(distinct)):
                    q = f"SELECT hash, id, text FROM sentences WHERE hash IN ({','.join('?' * len(part))})"
                    for h, sid, txt in con.execute(q, part):
                        ids[h] = sid
                        display[sid] = txt
                new_hashes = [h for h in distinct if h not in ids]
                # Ids are never reused: stale LSH entries of a removed sentence must not point at a new one.
                next_id = int(self._config(con, "next_sentence") or 1)
                for offset, h in enumerate(new_hashes):
                    ids[h] = next_id + offset
                    display[next_id + offset] = distinct[h][1]
                self._set_config(con, "next_sentence", str(next_id + len(new_hashes)))
                refs = Counter(ids[h] for _, _, hashes in prepared for h in hashes)
                con.executemany(
                    "INSERT INTO sentences(id, hash, refs, text) VALUES (?, ?, ?, ?)",
                    ((ids[h], h, refs[ids[h]], distinct[h][1]) for h in new_hashes),
                )
                new_set = set(new_hashes)
                con.executemany(
                    "UPDATE sentences SET refs = refs + ? WHERE id = ?",
                    ((refs[ids[h]], ids[h]) for h in distinct if h not in new_set),
                )
                next_no = (con.execute("SELECT COALESCE(MAX(no), 0) FROM docs").fetchone()[0]) + 1
                now = time.time()
                occ_rows: list[tuple[Any, ...]] = []
                doc_rows: list[tuple[Any, ...]] = []
                for i, (d, sents, hashes) in enumerate(prepared):
                    no = next_no + i
                    sids = [ids[h] for h in hashes]
                    doc_rows.append((
                        no, d.doc_id, d.title or "", json.dumps(d.meta or {}, ensure_ascii=False, default=str),
                        d.version, len(d.text), np.asarray(sids, dtype=np.uint32).tobytes(), now,
                    ))  # fmt: skip
                    for s, sid in zip(sents, sids, strict=True):
                        raw = d.text[s.start : s.end]
                        occ_rows.append(
                            (sid, no, s.start, s.end, s.paragraph, None if raw == display[sid] else raw)
                        )
                con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", doc_rows)
                con.executemany("INSERT OR IGNORE INTO occ VALUES (?, ?, ?, ?, ?, ?)", occ_rows)
                if new_hashes:
                    keys = self.hasher.band_keys([distinct[h][0] for h in new_hashes])
                    sid_arr = np.repeat(
                        np.asarray([ids[h] for h in new_hashes], dtype=np.uint32), self.hasher.bands
                    )
                    seg_dir = self._write_segment(con, keys.ravel(), sid_arr)
                self._bump(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                if seg_dir is not None:
                    shutil.rmtree(seg_dir, ignore_errors=True)
                raise
            self._maintain(con)
        return len(occ_rows)

    def _write_segment(self, con: sqlite3.Connection, keys: np.ndarray, ids: np.ndarray) -> Path:
        """Sort and write a segment (tmp dir renamed into place) and list it in the open transaction."""
        order = np.argsort(keys, kind="stable")
        name = f"{time.time_ns():020d}"
        tmp = self.path / "segments" / f"{name}.tmp"
        tmp.mkdir()
        np.save(tmp / "keys.npy", keys[order])
        np.save(tmp / "ids.npy", ids[order])
        final = self.path / "segments" / name
        tmp.rename(final)
        con.execute(
            "INSERT INTO segments(name, entries, created) VALUES (?, ?, ?)", (name, len(keys), time.time())
        )
        return final

    def remove(self, doc_id: str) -> bool:
        """Remove a document; False when it was not in the index."""
        return self.remove_many([doc_id]) == 1

    def remove_many(self, doc_ids: Iterable[str]) -> int:
        """Remove documents in one transaction; returns how many were in the index."""
        with self._writing() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                found = sum(self._remove_in(con, d) for d in dict.fromkeys(doc_ids))
                if found:
                    self._bump(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            if found:
                self._maintain(con)
        return found

    @property
    def source_state(self) -> str | None:
        """What the corpus was last synced from (e.g. a knowledge base's generation), kept by the caller."""
        return self._config(self._reader(), "source_state")

    def set_source_state(self, value: str) -> None:
        with self._writing() as con:
            self._set_config(con, "source_state", value)

    def _remove_in(self, con: sqlite3.Connection, doc_id: str) -> bool:
        row = con.execute("SELECT no, sents FROM docs WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            return False
        no, blob = row
        counts = Counter(np.frombuffer(blob, dtype=np.uint32).tolist())
        con.executemany(
            "UPDATE sentences SET refs = refs - ? WHERE id = ?", ((c, s) for s, c in counts.items())
        )
        con.executemany("DELETE FROM occ WHERE sent = ? AND doc = ?", ((s, no) for s in counts))
        dead = 0
        for part in _chunks(list(counts)):
            cur = con.execute(
                f"DELETE FROM sentences WHERE refs <= 0 AND id IN ({','.join('?' * len(part))})", part
            )
            dead += cur.rowcount
        con.execute("DELETE FROM docs WHERE no = ?", (no,))
        if dead:
            con.execute("UPDATE config SET value = CAST(value AS INTEGER) + ? WHERE key = 'dead'", (dead,))
        return True

    def clear(self) -> None:
        """Remove every document (the parameters stay)."""
        with self._writing() as con:
            con.execute("BEGIN IMMEDIATE")
            names = [r[0] for r in con.execute("SELECT name FROM segments")]
            for table in ("docs", "sentences", "occ", "segments"):
                con.execute(f"DELETE FROM {table}")
            self._set_config(con, "dead", "0")
            self._bump(con)
            con.execute("COMMIT")
        for name in names:
            shutil.rmtree(self.path / "segments" / name, ignore_errors=True)

    # ---- segment maintenance ---------------------------------------------------------------------

    def _maintain(self, con: sqlite3.Connection) -> None:
        """Merge segments of the same size tier; compact everything when many entries are dead."""
        segs = con.execute("SELECT name, entries FROM segments").fetchall()
        entries = sum(e for _, e in segs)
        dead = int(self._config(con, "dead") or 0) * self.hasher.bands
        if segs and dead > DEAD_COMPACT * entries:
            self._merge(con, [n for n, _ in segs])
            return
        tiers: dict[int, list[str]] = {}
        for name, n in sorted(segs, key=lambda r: r[0]):
            tiers.setdefault(int(math.log(max(n, 1), TIER_BASE)), []).append(name)
        for names in tiers.values():
            if len(names) >= TIER_FANOUT:
                self._merge(con, names)
                self._maintain(con)  # the merged segment may complete the next tier
                return

    def _merge(self, con: sqlite3.Connection, names: list[str]) -> None:
        keys = np.concatenate(
            [np.load(self.path / "segments" / n / "keys.npy", mmap_mode="r") for n in names]
        )
        ids = np.concatenate([np.load(self.path / "segments" / n / "ids.npy", mmap_mode="r") for n in names])
        alive_ids = np.fromiter((r[0] for r in con.execute("SELECT id FROM sentences")), dtype=np.int64)
        if len(ids):
            mask = np.zeros(int(max(ids.max(), alive_ids.max() if len(alive_ids) else 0)) + 1, dtype=bool)
            mask[alive_ids] = True
            live = mask[ids]
            keys, ids = keys[live], ids[live]
        con.execute("BEGIN IMMEDIATE")
        seg_dir: Path | None = None
        try:
            if len(keys):
                # Stable sort of concatenated sorted runs: timsort merges them in about linear time.
                seg_dir = self._write_segment(con, keys, ids)
            con.executemany("DELETE FROM segments WHERE name = ?", ((n,) for n in names))
            total = con.execute("SELECT COALESCE(SUM(entries), 0) FROM segments").fetchone()[0]
            live_sentences = con.execute("SELECT COUNT(*) FROM sentences").fetchone()[0]
            # Entries still dead in unmerged segments: what exceeds one set of keys per live sentence.
            self._set_config(con, "dead", str(max(0, total // self.hasher.bands - live_sentences)))
            self._bump(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            if seg_dir is not None:
                shutil.rmtree(seg_dir, ignore_errors=True)
            raise
        for n in names:
            shutil.rmtree(self.path / "segments" / n, ignore_errors=True)

    def compact(self) -> None:
        """Merge all segments into one and drop dead entries."""
        with self._writing() as con:
            names = [r[0] for r in con.execute("SELECT name FROM segments")]
            if names:
                self._merge(con, names)

    def rebuild(self, *, chunk: int = 500_000) -> None:
        """Recompute the LSH segments from the stored sentences (lost or damaged segment files, new code).

        Documents and sentences stay; to re-read documents from their source, `clear()` and add them again.
        """
        with self._writing() as con:
            old = [r[0] for r in con.execute("SELECT name FROM segments")]
            for d in (self.path / "segments").iterdir():  # leftovers of an interrupted write
                if d.name not in old:
                    shutil.rmtree(d, ignore_errors=True)
            con.execute("BEGIN IMMEDIATE")
            written: list[Path] = []
            try:
                cur = con.execute("SELECT id, text FROM sentences ORDER BY id")
                while rows := cur.fetchmany(chunk):
                    norms = [normalize(t) or t for _, t in rows]
                    keys = self.hasher.band_keys(norms)
                    ids = np.repeat(np.asarray([r[0] for r in rows], dtype=np.uint32), self.hasher.bands)
                    written.append(self._write_segment(con, keys.ravel(), ids))
                con.executemany("DELETE FROM segments WHERE name = ?", ((n,) for n in old))
                self._set_config(con, "dead", "0")
                self._bump(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                for d in written:
                    shutil.rmtree(d, ignore_errors=True)
                raise
            for n in old:
                shutil.rmtree(self.path / "segments" / n, ignore_errors=True)

    # ---- reading ---------------------------------------------------------------------------------

    def _current_view(self) -> _View:
        con = self._reader()
        for _attempt in range(5):
            con.execute("BEGIN")  # one snapshot for the generation and the segment list
            try:
                gen = int(self._config(con, "generation") or 0)
                names = [r[0] for r in con.execute("SELECT name FROM segments ORDER BY name")]
            finally:
                con.execute("COMMIT")
            with self._view_lock:
                if self._view is not None and self._view.generation == gen:
                    return self._view
                loaded = {s.name: s for s in self._view.segments} if self._view else {}
                try:
                    segs = [loaded.get(n) or self._load_segment(n) for n in names]
                except FileNotFoundError:
                    continue  # merged away between our snapshot and the open: look again
                self._view = _View(gen, segs)
                return self._view
        raise RuntimeError("查重索引正在频繁变更，请稍后重试")

    def _load_segment(self, name: str) -> _Segment:
        d = self.path / "segments" / name
        return _Segment(name, np.load(d / "keys.npy", mmap_mode="r"), np.load(d / "ids.npy", mmap_mode="r"))

    def __len__(self) -> int:
        return self._reader().execute("SELECT COUNT(*) FROM docs").fetchone()[0]

    def get(self, doc_id: str) -> DedupDocument | None:
        row = (
            self._reader()
            .execute(
                "SELECT doc_id, title, chars, length(sents) / 4, version, meta FROM docs WHERE doc_id = ?",
                (doc_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return DedupDocument(
            doc_id=row[0],
            title=row[1],
            chars=row[2],
            sentences=row[3],
            version=row[4],
            meta=json.loads(row[5]),
        )

    def versions(self) -> dict[str, str | None]:
        """doc_id → version of every document (for incremental syncs)."""
        return dict(self._reader().execute("SELECT doc_id, version FROM docs"))

    def stats(self) -> DedupStats:
        con = self._reader()
        disk = sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())
        return DedupStats(
            corpus_id=self.corpus_id,
            documents=con.execute("SELECT COUNT(*) FROM docs").fetchone()[0],
            sentences=con.execute("SELECT COUNT(*) FROM sentences").fetchone()[0],
            occurrences=con.execute("SELECT COUNT(*) FROM occ").fetchone()[0],
            segments=con.execute("SELECT COUNT(*) FROM segments").fetchone()[0],
            lsh_entries=con.execute("SELECT COALESCE(SUM(entries), 0) FROM segments").fetchone()[0],
            disk_bytes=disk,
            params=self.hasher.params,
        )

    # ---- the check -------------------------------------------------------------------------------

    def _candidates(self, view: _View, keys: np.ndarray) -> dict[int, list[int]]:
        """Per checked sentence: candidate sentence ids, those sharing the most band keys first."""
        n_sent, n_bands = keys.shape
        flat = keys.ravel()
        owners_parts: list[np.ndarray] = []
        ids_parts: list[np.ndarray] = []
        for seg in view.segments:
            lo = np.searchsorted(seg.keys, flat, "left")
            hi = np.searchsorted(seg.keys, flat, "right")
            for i in np.nonzero(hi > lo)[0]:
                got = np.asarray(seg.ids[lo[i] : min(hi[i], lo[i] + POSTING_CAP)])
                ids_parts.append(got.astype(np.int64))
                owners_parts.append(np.full(len(got), i // n_bands, dtype=np.int64))
        if not ids_parts:
            return {}
        pairs, counts = np.unique(
            (np.concatenate(owners_parts) << 32) | np.concatenate(ids_parts), return_counts=True
        )
        owners, sids = pairs >> 32, pairs & 0xFFFFFFFF
        order = np.lexsort((-counts, owners))  # by owner, then most shared keys first
        out: dict[int, list[int]] = {}
        for o, s in zip(owners[order].tolist(), sids[order].tolist(), strict=True):
            lst = out.setdefault(o, [])
            if len(lst) < CANDIDATES_PER_SENTENCE:
                lst.append(s)
        return out

    def check(
        self,
        text: str,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        exclude_doc_ids: Iterable[str] = (),
        top_sources: int = TOP_SOURCES,
        allow: Callable[[str, dict[str, Any]], bool] | None = None,
    ) -> DedupReport:
        """Which sentences of `text` are copied or near-copied from the corpus, and from where.

        `exclude_doc_ids`: documents not to count as sources (e.g. the draft's own earlier version).
        `allow(doc_id, meta)`: an extra filter on sources (e.g. what the caller may see).
        """
        t0 = time.perf_counter()
        validate_check_text(text)
        threshold = _check_threshold(threshold)
        if not 1 <= top_sources <= 20:
            raise InvalidInput("每句返回的来源数须在 1 到 20 之间", code="DEDUP_TOP_INVALID")
        sents, skipped = checkable_sentences(text, boilerplate=self.boilerplate)
        timing = DedupTiming()
        t1 = time.perf_counter()
        timing.split = t1 - t0
        con = self._reader()
        n_docs = con.execute("SELECT COUNT(*) FROM docs").fetchone()[0]
        checked_chars = _non_space(text)
        dups: list[DuplicatedSentence] = []
        if sents:
            view = self._current_view()
            cands = self._candidates(view, self.hasher.band_keys([s.norm for s in sents]))
            t2 = time.perf_counter()
            timing.candidates = t2 - t1
            matches = self._verify(con, sents, cands, threshold)
            t3 = time.perf_counter()
            timing.verify = t3 - t2
            found = self._attach_sources(con, text, sents, matches, set(exclude_doc_ids), top_sources, allow)
            dups = _resolve(sents, found)
            timing.sources = time.perf_counter() - t3
        dup_chars = sum(_non_space(d.text) for d in dups)
        timing.total = time.perf_counter() - t0
        notice = None
        if not sents:
            notice = f"没有可查重的句子：每句至少 {MIN_CJK} 个汉字，公文套话（如“特此通知”）不计"
        elif n_docs == 0:
            notice = "查重语料库中还没有文档"
        return DedupReport(
            corpus_id=self.corpus_id,
            corpus_documents=n_docs,
            threshold=threshold,
            duplicate_ratio=round(dup_chars / checked_chars, 4) if checked_chars else 0.0,
            checked_chars=checked_chars,
            duplicated_chars=dup_chars,
            checked_sentences=_count_checked(sents),
            skipped_sentences=skipped,
            duplicated_sentences=dups,
            notice=notice,
            timing=DedupTiming(**{k: round(v, 4) for k, v in timing.model_dump().items()}),
        )

    def _verify(
        self, con: sqlite3.Connection, sents: list[Sentence], cands: dict[int, list[int]], threshold: float
    ) -> dict[int, list[tuple[int, float]]]:
        """Per checked sentence: (sentence id, similarity) at or above the threshold, best first."""
        wanted = sorted({s for lst in cands.values() for s in lst})
        norms: dict[int, str] = {}
        for part in _chunks(wanted):
            for sid, txt in con.execute(
                f"SELECT id, text FROM sentences WHERE id IN ({','.join('?' * len(part))})", part
            ):
                norms[sid] = normalize(txt)
        out: dict[int, list[tuple[int, float]]] = {}
        for i, lst in cands.items():
            q = sents[i].norm
            found = [(sid, similarity(q, norms[sid])) for sid in lst if sid in norms]  # absent: removed since
            found = [(sid, sim) for sid, sim in found if sim >= threshold]
            if found:
                found.sort(key=lambda p: -p[1])
                out[i] = found
        return out

    def _attach_sources(
        self,
        con: sqlite3.Connection,
        text: str,
        sents: list[Sentence],
        matches: dict[int, list[tuple[int, float]]],
        exclude: set[str],
        top: int,
        allow: Callable[[str, dict[str, Any]], bool] | None,
    ) -> dict[int, DuplicatedSentence]:
        doc_cache: dict[int, tuple[str, str, dict[str, Any]] | None] = {}
        sent_text: dict[int, str] = {}

        def doc(no: int) -> tuple[str, str, dict[str, Any]] | None:
            if no not in doc_cache:
                row = con.execute("SELECT doc_id, title, meta FROM docs WHERE no = ?", (no,)).fetchone()
                info = (row[0], row[1], json.loads(row[2])) if row else None
                if info and (info[0] in exclude or (allow is not None and not allow(info[0], info[2]))):
                    info = None
                doc_cache[no] = info
            return doc_cache[no]

        # Enough occurrences per sentence to fill `top` distinct documents after exclusions and filtering.
        limit = top + len(exclude) + (50 if allow else 5)
        out: dict[int, DuplicatedSentence] = {}
        for i in sorted(matches):
            sources: list[DedupSource] = []
            seen_docs: set[int] = set()
            for sid, sim in matches[i]:
                rows = con.execute(
                    'SELECT doc, start, "end", para, text FROM occ WHERE sent = ? ORDER BY doc LIMIT ?',
                    (sid, limit),
                ).fetchall()
                for no, start, end, para, raw in rows:
                    info = doc(no)
                    if info is None or no in seen_docs:
                        continue
                    if raw is None:
                        if sid not in sent_text:
                            sent_text[sid] = con.execute(
                                "SELECT text FROM sentences WHERE id = ?", (sid,)
                            ).fetchone()[0]
                        raw = sent_text[sid]
                    seen_docs.add(no)
                    sources.append(DedupSource(
                        doc_id=info[0], title=info[1], start=start, end=end, text=raw, paragraph_index=para,
                        similarity=round(sim, 4), meta=info[2],
                    ))  # fmt: skip
                    if len(sources) >= top:
                        break
                if len(sources) >= top:
                    break
            if sources:
                s = sents[i]
                out[i] = DuplicatedSentence(
                    start=s.start, end=s.end, text=text[s.start : s.end], paragraph_index=s.paragraph,
                    similarity=sources[0].similarity, sources=sources,
                )  # fmt: skip
        return out


def _inside(inner: Sentence, outer: Sentence) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _count_checked(sents: list[Sentence]) -> int:
    """Sentences as a reader counts them: clauses, plus joined sentences none of whose clauses was long enough."""
    plain = [s for s in sents if not s.compound]
    return len(plain) + sum(1 for c in sents if c.compound and not any(_inside(p, c) for p in plain))


def _resolve(sents: list[Sentence], found: dict[int, DuplicatedSentence]) -> list[DuplicatedSentence]:
    """Report a joined sentence when it matches better than its best clause, else the clauses; no overlaps."""
    drop: set[int] = set()
    for i, dup in found.items():
        if not sents[i].compound:
            continue
        parts = [j for j in found if not sents[j].compound and _inside(sents[j], sents[i])]
        if dup.similarity > max((found[j].similarity for j in parts), default=0.0):
            drop.update(parts)
        else:
            drop.add(i)
    return sorted((d for i, d in found.items() if i not in drop), key=lambda d: (d.start, d.end))
