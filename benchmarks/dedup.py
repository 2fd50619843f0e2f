"""智能查重 benchmark: quality of the sentence-level duplicate check, and its scale at 100k documents.

Data (under --data-dir, default ../shared/data):
- govdocs_statecouncil_govcn/data.jsonl — 60 documents of the State Council and its General Office
  (国发, 国办发, 国函 …) as published on www.gov.cn/zhengce. Official documents of state organs are not
  subject to copyright (Copyright Law of the PRC, Art. 5).
- policyqa/corpus.jsonl — 599 COVID-era policy notices (DataFountain/CCF 2020 NCPPolicies; evaluation only).
- govqa/corpus.jsonl (scale part only) and gov_messages/train.jsonl (citizen messages: fresh text unlike any
  公文, the "should never match" probe set).

Quality (`--part quality`): index the 60 + 599 documents minus a held-out tenth; draw sentences from the
indexed documents and put them into drafts (about 12 sentences each, mixed with fresh ones) as
  exact   — verbatim;
  punct   — punctuation changed: ，→、 or ；, full-width → half-width brackets/digits, spaces inserted;
  edit    — 1 to 3 characters substituted (one per ~15 characters);
  insert  — one or two words (进一步、切实、全面 …) inserted;
  mixed   — one substitution, one insertion and a punctuation change;
and fresh sentences from the held-out documents (公文 prose of the same kind; some are genuinely shared
phrasing, reported separately by similarity) and from citizen messages. A probe counts as found when a
reported duplicated sentence covers at least half of it; attribution is right when the first source is
the document the sentence was taken from at an overlapping position, or a sentence with the same
normalised text (公文 repeat sentences verbatim; the index lists the earliest document first).
Results are given at the default threshold and swept over thresholds.

Scale (`--part scale`): synthesise --docs documents (default 100k) from the real corpora the way
benchmarks/scale.py does (round 0 as they are; later rounds with a region prefix, shifted years/numbers,
rotated paragraphs), joined until a document has at least --doc-chars characters (about 2,300 on average:
a typical 公文 length; the base documents average 570), and — so that the index holds as many *distinct* sentences as a real archive would — in every
later round half of the sentences get one character changed. Reports build throughput, distinct
sentences, disk size, peak RSS, and check latency p50/p95 for 3,000-character drafts (a third copied, a
third edited, a third fresh).

    .venv/bin/python benchmarks/dedup.py                      # both parts, 100k documents (≤ 15 min on 2 cores)
    .venv/bin/python benchmarks/dedup.py --part quality       # about a minute
    .venv/bin/python benchmarks/dedup.py --docs 5000 --out /tmp/dedup.json    # a quick run

Progress goes to stderr; the last line of stdout is one JSON object (also written to --out, default
benchmarks/results/dedup.json).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from haoban.apps.gongwen.dedup import DEFAULT_THRESHOLD, DedupIndex, DocInput
from haoban.apps.gongwen.dedup.text import checkable_sentences, normalize

REPO = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
KINDS = ("exact", "punct", "edit", "insert", "mixed")
INSERT_WORDS = ("进一步", "切实", "全面", "积极", "认真", "大力", "持续", "扎实", "统筹", "着力")
# Substitutes: frequent characters of 公文, so an edit looks like a plausible rewording.
SUBSTITUTES = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理"
REGIONS = ("北京市", "河北省", "山西省", "辽宁省", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省",
           "河南省", "湖北省", "湖南省", "广东省", "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省")  # fmt: skip
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-3]\d)(?=年)")
_SMALL_NUMBER = re.compile(r"(?<![\d.])([1-9]\d{0,2})(?=[%％万亿元个项家人次条])")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def resolve_data_dir(value: str) -> Path:
    for candidate in (Path(value).expanduser(), REPO / value):
        if (candidate / "policyqa").is_dir():
            return candidate.resolve()
    raise SystemExit(f"找不到语料目录 {value}（应包含 policyqa/、govqa/、govdocs_statecouncil_govcn/）")


def load_docs(data_dir: Path, with_govqa: bool) -> list[dict[str, str]]:
    docs = [
        {"id": f"govcn:{r['id']}", "title": r.get("title") or "", "text": r["text"]}
        for r in read_jsonl(data_dir / "govdocs_statecouncil_govcn" / "data.jsonl")
    ]
    docs += [
        {"id": f"policyqa:{r['docid']}", "title": r["text"][:30], "text": r["text"]}
        for r in read_jsonl(data_dir / "policyqa" / "corpus.jsonl")
    ]
    if with_govqa:
        docs += [
            {"id": f"govqa:{r['id']}", "title": r["text"][:30], "text": r["text"]}
            for r in read_jsonl(data_dir / "govqa" / "corpus.jsonl")
        ]
    return [d for d in docs if d["text"].strip()]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# ---- probe generation -------------------------------------------------------------------------------


def _substitute(s: str, rng: random.Random, n: int) -> str:
    chars = list(s)
    spots = [i for i, c in enumerate(chars) if _CJK_CHAR.fullmatch(c)]
    for i in rng.sample(spots, min(n, len(spots))):
        chars[i] = rng.choice([c for c in SUBSTITUTES if c != chars[i]])
    return "".join(chars)


def _insert(s: str, rng: random.Random, n: int) -> str:
    for _ in range(n):
        spots = [i for i, c in enumerate(s) if c in "，、；" or (i and _CJK_CHAR.fullmatch(s[i - 1]))]
        i = rng.choice(spots[: max(1, len(spots) - 2)]) if spots else 0
        s = s[:i] + rng.choice(INSERT_WORDS) + s[i:]
    return s


def _punct(s: str, rng: random.Random) -> str:
    out = []
    for c in s:
        if c == "，":
            out.append(rng.choice(["，", "、", "；", ",", " "]))
        elif c in "（）":
            out.append("(" if c == "（" else ")")
        elif c == "“" or c == "”":
            out.append('"')
        else:
            out.append(c)
    t = "".join(out)
    i = rng.randrange(1, max(2, len(t) - 1))
    return t[:i] + " " + t[i:]


def make_probe(s: str, kind: str, rng: random.Random) -> str:
    body = s.rstrip("。；;！？")
    if kind == "exact":
        out = body
    elif kind == "punct":
        out = _punct(body, rng)
    elif kind == "edit":
        out = _substitute(body, rng, min(3, max(1, len(body) // 15)))
    elif kind == "insert":
        out = _insert(body, rng, 1 if len(body) < 30 else 2)
    else:
        out = _punct(_insert(_substitute(body, rng, 1), rng, 1), rng)
    return out + "。"


def fresh_sentences(texts: list[str], rng: random.Random, n: int) -> list[str]:
    pool = []
    for t in texts:
        sents, _ = checkable_sentences(t)
        pool += [t[s.start : s.end] for s in sents if not s.compound and 12 <= s.end - s.start <= 150]
    rng.shuffle(pool)
    # Each ends a sentence, so a probe in a draft never runs into the next one.
    return [t if t[-1] in "。！？" else t.rstrip("；;，,") + "。" for t in pool[:n]]


# ---- quality ----------------------------------------------------------------------------------------


def quality(data_dir: Path, work: Path, n_probes: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    docs = load_docs(data_dir, with_govqa=False)
    rng.shuffle(docs)
    held = docs[: len(docs) // 10]
    indexed = docs[len(docs) // 10 :]
    idx = DedupIndex(work / "quality")
    t0 = time.perf_counter()
    idx.add_many(DocInput(d["id"], d["title"], d["text"]) for d in indexed)
    build = time.perf_counter() - t0
    stats = idx.stats()
    log(f"quality: indexed {len(indexed)} documents in {build:.1f}s, {stats.sentences} distinct sentences")

    # Source sentences: plain sentences (not ；-joined) of 15–150 characters from indexed documents.
    pool = []
    for d in indexed:
        sents, _ = checkable_sentences(d["text"])
        pool += [(d["id"], s) for s in sents if not s.compound and 15 <= s.end - s.start <= 150]
    rng.shuffle(pool)
    picked = pool[:n_probes]
    by_id = {d["id"]: d for d in indexed}
    fresh_gov = fresh_sentences([d["text"] for d in held], rng, n_probes)
    messages = [r["text"] for r in read_jsonl(data_dir / "gov_messages" / "train.jsonl")]
    fresh_msg = fresh_sentences(messages[:3000], rng, n_probes)

    # Each probe: (kind, text, source doc id, source span, normalised source text)
    probes: list[tuple[str, str, str | None, tuple[int, int] | None, str | None]] = []
    for k, (doc_id, s) in enumerate(picked):
        kind = KINDS[k % len(KINDS)]
        orig = by_id[doc_id]["text"][s.start : s.end]
        probes.append((kind, make_probe(orig, kind, rng), doc_id, (s.start, s.end), s.norm))
    probes += [("fresh_gov", s, None, None, None) for s in fresh_gov]
    probes += [("fresh_msg", s, None, None, None) for s in fresh_msg]
    rng.shuffle(probes)

    # Drafts of ~12 sentences, 3 paragraphs; check at a low threshold and keep the similarity.
    results: list[dict[str, Any]] = []
    latencies = []
    for i in range(0, len(probes), 12):
        group = probes[i : i + 12]
        text, spans = "", []
        for j, p in enumerate(group):
            if j and j % 4 == 0:
                text += "\n"
            spans.append((len(text), len(text) + len(p[1])))
            text += p[1]
        t = time.perf_counter()
        report = idx.check(text, threshold=0.5, top_sources=3)
        latencies.append(time.perf_counter() - t)
        for (kind, _ptext, doc_id, src_span, src_norm), (a, b) in zip(group, spans, strict=True):
            best = None
            for dup in report.duplicated_sentences:
                overlap = min(b, dup.end) - max(a, dup.start)
                if overlap >= 0.5 * (b - a) and (best is None or dup.similarity > best.similarity):
                    best = dup
            row: dict[str, Any] = {"kind": kind, "similarity": best.similarity if best else 0.0}
            if best and doc_id:
                top = best.sources[0]

                def right(
                    src: Any, doc_id: str = doc_id, span: Any = src_span, norm: str | None = src_norm
                ) -> bool:
                    same_place = src.doc_id == doc_id and src.start < span[1] and span[0] < src.end
                    return same_place or normalize(src.text) == norm

                row["top1"] = right(top)
                row["top3"] = any(right(s) for s in best.sources)
                row["top1_same_doc"] = top.doc_id == doc_id
            if best and not doc_id:
                row["example"] = (_ptext, best.sources[0].text, best.similarity)
            results.append(row)

    def at(thr: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind in (*KINDS, "fresh_gov", "fresh_msg"):
            rows = [r for r in results if r["kind"] == kind]
            hit = [r for r in rows if r["similarity"] >= thr]
            if kind.startswith("fresh"):
                out[kind] = {"n": len(rows), "flagged": round(len(hit) / max(1, len(rows)), 4),
                             "flagged_ge_0_9": round(sum(r["similarity"] >= 0.9 for r in rows) / max(1, len(rows)), 4)}  # fmt: skip
            else:
                out[kind] = {"n": len(rows), "recall": round(len(hit) / max(1, len(rows)), 4)}
        copied = [r for r in results if r["kind"] in KINDS]
        found = [r for r in copied if r["similarity"] >= thr]
        out["recall_all_copied"] = round(len(found) / max(1, len(copied)), 4)
        out["recall_edited"] = round(
            sum(r["similarity"] >= thr for r in copied if r["kind"] != "exact")
            / max(1, sum(r["kind"] != "exact" for r in copied)), 4)  # fmt: skip
        out["attribution_top1"] = round(sum(bool(r.get("top1")) for r in found) / max(1, len(found)), 4)
        out["attribution_top3"] = round(sum(bool(r.get("top3")) for r in found) / max(1, len(found)), 4)
        out["attribution_top1_same_doc"] = round(
            sum(bool(r.get("top1_same_doc")) for r in found) / max(1, len(found)), 4
        )
        return out

    examples = [r["example"] for r in results if "example" in r and r["similarity"] >= DEFAULT_THRESHOLD]
    sims = {
        k: [r["similarity"] for r in results if r["kind"] == k] for k in (*KINDS, "fresh_gov", "fresh_msg")
    }
    return {
        "indexed_documents": len(indexed),
        "held_out_documents": len(held),
        "distinct_sentences": stats.sentences,
        "build_seconds": round(build, 2),
        "probes": dict(Counter(r["kind"] for r in results)),
        "threshold": DEFAULT_THRESHOLD,
        "at_default": at(DEFAULT_THRESHOLD),
        "sweep": {str(t): at(t) for t in THRESHOLDS},
        "median_similarity": {k: round(float(np.median(v)), 4) if v else None for k, v in sims.items()},
        "draft_check_ms_p50": round(float(np.percentile(latencies, 50)) * 1000, 2),
        "fresh_flagged_examples": [
            {"probe": p, "source": s, "similarity": sim} for p, s, sim in examples[:8]
        ],
    }


# ---- scale ------------------------------------------------------------------------------------------


def _vary(text: str, round_no: int, rng: random.Random) -> str:
    if round_no == 0:
        return text
    shift = round_no % 9 - 4 or 5
    text = _YEAR.sub(lambda m: str(int(m.group(1)) + shift), text)
    text = _SMALL_NUMBER.sub(lambda m: str(int(m.group(1)) + round_no), text)
    paragraphs = [p for p in text.split("\n") if p.strip()]
    if len(paragraphs) >= 4:
        k = round_no % (len(paragraphs) - 1)
        paragraphs = paragraphs[:1] + paragraphs[1 + k :] + paragraphs[1 : 1 + k]
    # Half of the sentences get one character changed: variants of an archive differ in detail.
    parts = re.split(r"(?<=[。；！？])", "\n".join(paragraphs))
    parts = [_substitute(p, rng, 1) if len(p) > 10 and rng.random() < 0.5 else p for p in parts]
    return "".join(parts)


def synthesise(base: list[dict[str, str]], n: int, target_chars: int, seed: int) -> Iterator[DocInput]:
    rng = random.Random(seed)
    made = 0
    round_no = 0
    while made < n:
        order = list(range(len(base)))
        random.Random(seed + round_no).shuffle(order)
        pos = 0
        while pos < len(order) and made < n:
            parts, chars = [], 0
            while chars < target_chars and pos < len(order):
                d = base[order[pos]]
                parts.append(_vary(d["text"], round_no, rng))
                chars += len(parts[-1])
                pos += 1
            region = REGIONS[(made + round_no) % len(REGIONS)]
            title = base[order[pos - len(parts)]]["title"]
            title = title if round_no == 0 else f"{region}转发{title}"
            yield DocInput(f"syn-{made}", title[:200], "\n".join(parts), {"round": round_no})
            made += 1
        round_no += 1


def make_drafts(base: list[dict[str, str]], messages: list[str], n: int, chars: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pool = []
    for d in rng.sample(base, min(400, len(base))):
        sents, _ = checkable_sentences(d["text"])
        pool += [d["text"][s.start : s.end] for s in sents if not s.compound and s.end - s.start >= 15]
    fresh = fresh_sentences(messages, rng, 4000)
    drafts = []
    for _ in range(n):
        text = ""
        while len(text) < chars:
            r = rng.random()
            if r < 1 / 3:
                s = rng.choice(pool)
            elif r < 2 / 3:
                s = make_probe(rng.choice(pool), rng.choice(KINDS[1:]), rng)
            else:
                s = rng.choice(fresh)
            text += s + ("\n" if rng.random() < 0.2 else "")
        drafts.append(text[:chars])
    return drafts


def scale(
    data_dir: Path, work: Path, n_docs: int, target_chars: int, n_checks: int, seed: int
) -> dict[str, Any]:
    base = load_docs(data_dir, with_govqa=True)
    messages = [r["text"] for r in read_jsonl(data_dir / "gov_messages" / "train.jsonl")][:5000]
    path = work / "scale"
    idx = DedupIndex(path)
    log(f"scale: building {n_docs} documents from {len(base)} base documents")
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    chars = 0

    def counted() -> Iterator[DocInput]:
        nonlocal chars
        for d in synthesise(base, n_docs, target_chars, seed):
            chars += len(d.text)
            yield d

    last = [t0]

    def progress(docs: int, sents: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 15 or docs == n_docs:
            last[0] = now
            log(f"  {docs} docs, {sents} sentences, {docs / (now - t0):.0f} docs/s, rss {rss_mb():.0f} MB")

    occurrences = 0

    def progress_and_count(docs: int, sents: int) -> None:
        nonlocal occurrences
        occurrences = sents
        progress(docs, sents)

    idx.add_many(counted(), batch_docs=2000, progress=progress_and_count)
    build = time.perf_counter() - t0
    build_cpu = time.process_time() - cpu0
    build_peak = peak_rss_mb()
    stats = idx.stats()
    log(
        f"scale: built in {build:.0f}s; {stats.sentences} distinct sentences, {stats.disk_bytes / 2**20:.0f} MB"
    )
    idx.close()
    del idx
    gc.collect()

    # Checking from a freshly opened index, as a server process would.
    drafts = make_drafts(base, messages, n_checks, 3000, seed)
    rss_before = rss_mb()
    idx = DedupIndex(path)
    t = time.perf_counter()
    first = idx.check(drafts[0])
    cold = time.perf_counter() - t
    lat, ratios, n_dup = [], [], []
    for d in drafts[1:]:
        t = time.perf_counter()
        r = idx.check(d)
        lat.append(time.perf_counter() - t)
        ratios.append(r.duplicate_ratio)
        n_dup.append(len(r.duplicated_sentences))
    p50, p95 = (float(x) * 1000 for x in np.percentile(lat, [50, 95]))
    log(f"scale: check p50 {p50:.0f} ms, p95 {p95:.0f} ms (first {cold * 1000:.0f} ms)")
    return {
        "documents": stats.documents,
        "chars": chars,
        "avg_chars_per_doc": round(chars / max(1, stats.documents)),
        "occurrences": occurrences,
        "distinct_sentences": stats.sentences,
        "lsh_entries": stats.lsh_entries,
        "segments": stats.segments,
        "build_seconds": round(build, 1),
        "build_cpu_seconds": round(build_cpu, 1),  # the machine is shared: CPU time is the steadier number
        "loadavg_1min_after_build": round(__import__("os").getloadavg()[0], 2),
        "docs_per_second": round(stats.documents / build, 1),
        "sentences_per_second": round(occurrences / build, 1),
        "chars_per_second": round(chars / build),
        "disk_mb": round(stats.disk_bytes / 2**20, 1),
        "disk_bytes_per_doc": round(stats.disk_bytes / max(1, stats.documents)),
        "build_peak_rss_mb": round(build_peak, 1),
        "check_rss_increase_mb": round(rss_mb() - rss_before, 1),
        "check_draft_chars": 3000,
        "check_count": len(lat),
        "check_first_ms": round(cold * 1000, 1),
        "check_p50_ms": round(p50, 1),
        "check_p95_ms": round(p95, 1),
        "check_mean_duplicate_ratio": round(float(np.mean(ratios)), 4),
        "check_mean_duplicated_sentences": round(float(np.mean(n_dup)), 1),
        "first_check_timing": first.timing.model_dump(),
        "params": stats.params,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--part", choices=("quality", "scale", "all"), default="all")
    ap.add_argument("--docs", type=int, default=100_000, help="scale: documents to synthesise")
    ap.add_argument("--doc-chars", type=int, default=1200, help="scale: characters per synthetic document")
    ap.add_argument("--checks", type=int, default=60, help="scale: drafts checked for latency")
    ap.add_argument("--probes", type=int, default=1000, help="quality: copied sentences probed")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work-dir", default=None, help="where the indexes are built (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the built indexes")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "dedup.json"))
    args = ap.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="dedup-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "benchmark": "dedup",
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    try:
        if args.part in ("quality", "all"):
            result["quality"] = quality(data_dir, work, args.probes, args.seed)
        if args.part in ("scale", "all"):
            result["scale"] = scale(data_dir, work, args.docs, args.doc_chars, args.checks, args.seed)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
