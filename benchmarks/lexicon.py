"""Sensitive-word matching at scale: 100k generated terms over 10 MB of real Chinese text.

Text: citizen messages (../shared/data/gov_messages/train.jsonl) and policy notices
(../shared/data/policyqa/corpus.jsonl), concatenated and repeated until the UTF-8 size reaches --mb.
The data are read in place, never copied into the repository.

Terms: --terms in all. Most are random strings of 2–8 common Chinese characters (like a real list,
almost none occur in ordinary text); 5 % are substrings (3–6 characters) cut from the text itself so
that the run also pays for real hits and their spans; 2 % carry the "pinyin" flag; 1,000 allow-list
entries. Everything goes through the real path: LexiconService.import_bytes into SQLite, then the
automaton build, then LexiconService.check.

Prints progress on stderr and, as the last line of stdout, the result JSON (also written to --out).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from haoban.safety.lexicon import LexiconService, fold  # noqa: E402
from haoban.store.db import Database  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_text(data_dir: Path, mb: float) -> str:
    parts: list[str] = []
    for path, key in ((data_dir / "gov_messages" / "train.jsonl", "text"), (data_dir / "policyqa" / "corpus.jsonl", "text")):
        with path.open(encoding="utf-8") as f:
            parts.extend(json.loads(line)[key] for line in f if line.strip())
    base = "\n".join(parts)
    target = int(mb * 1024 * 1024)
    size = len(base.encode("utf-8"))
    text = base * (target // size + 1)
    # cut to the target size in UTF-8 bytes
    return text.encode("utf-8")[:target].decode("utf-8", errors="ignore")


def make_terms(text: str, n: int, seed: int, real_share: float = 0.05) -> tuple[list[str], list[str], list[str]]:
    rng = random.Random(seed)
    common = [chr(c) for c in range(0x4E00, 0x4E00 + 3500)]
    real = max(1, int(n * real_share))
    from_text: set[str] = set()
    while len(from_text) < real:
        i = rng.randrange(0, len(text) - 10)
        piece = text[i : i + rng.randint(3, 6)]
        if all("\u4e00" <= c <= "\u9fff" for c in piece):
            from_text.add(piece)
    random_terms: set[str] = set()
    while len(random_terms) + len(from_text) < n:
        random_terms.add("".join(rng.choice(common) for _ in range(rng.randint(2, 8))))
    terms = sorted(random_terms | from_text)
    pinyin = set(rng.sample(sorted(random_terms), max(1, n // 50)))
    allow = sorted({t + rng.choice(common) for t in rng.sample(sorted(from_text), min(1000, len(from_text)))})
    return terms, sorted(pinyin), allow


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--terms", type=int, default=100_000)
    ap.add_argument("--mb", type=float, default=10.0, help="text size in MB (UTF-8)")
    ap.add_argument("--data-dir", type=Path, default=DATA)
    ap.add_argument("--seed", type=int, default=20251121)
    ap.add_argument("--real-share", type=float, default=0.05, help="share of terms cut from the text (they produce the hits)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "lexicon.json")
    args = ap.parse_args()

    text = load_text(args.data_dir, args.mb)
    text_bytes = len(text.encode("utf-8"))
    log(f"text: {len(text):,} characters, {text_bytes / 2**20:.1f} MB")
    terms, pinyin, allow = make_terms(text, args.terms, args.seed, args.real_share)
    fold("预热")  # build the per-process folding tables outside the timed parts
    flagged = set(pinyin)
    txt = "\n".join(t + ("\tpinyin" if t in flagged else "") for t in terms).encode()

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/lexicon.db")
        db.migrate()
        lex = LexiconService(db, seed=False)
        lex.set_category("基准", "block")
        t0 = time.perf_counter()
        report = lex.import_bytes(txt, name="terms.txt", category="基准")
        lex.import_bytes("\n".join(allow).encode(), name="allow.txt", kind="allow", category="基准")
        import_s = time.perf_counter() - t0
        log(f"import: {report.added:,} terms in {import_s:.1f} s")

        gc.collect()
        rss0 = rss_mb()
        t0 = time.perf_counter()
        compiled = lex.compiled()
        build_s = time.perf_counter() - t0
        gc.collect()
        build_rss = rss_mb() - rss0
        stats = compiled.automaton.get_stats()
        log(f"build: {compiled.patterns:,} patterns in {build_s:.1f} s, +{build_rss:.0f} MB RSS")

        # One call over the whole text (a large upload), then the same text in 2,000-character pieces
        # (questions, answers and document chunks are checked one by one).
        rss0 = rss_mb()
        t0, c0 = time.perf_counter(), time.process_time()
        whole = lex.check(text)  # reports the first 1,000 matches in full, counts all
        whole_s, whole_cpu = time.perf_counter() - t0, time.process_time() - c0
        whole_peak = peak_mb()
        log(f"whole text: {whole_s:.2f} s, {whole.total_matches:,} matches")

        pieces = [text[i : i + 2000] for i in range(0, len(text), 2000)]
        t0, c0 = time.perf_counter(), time.process_time()
        piece_matches = sum(lex.check(p).total_matches for p in pieces)
        pieces_s, pieces_cpu = time.perf_counter() - t0, time.process_time() - c0
        log(f"pieces: {len(pieces):,} checks in {pieces_s:.2f} s, {piece_matches:,} matches")

        # Evasion costs nothing extra: the same text with a zero-width space after every character.
        sample = text[: len(text) // 10]
        spaced = "\u200b".join(sample)
        t0 = time.perf_counter()
        lex.check(spaced)
        spaced_s = time.perf_counter() - t0
        db.dispose()

    mb = text_bytes / 2**20
    result = {
        "terms": report.added,
        "real_share": args.real_share,
        "pinyin_flagged": len(pinyin),
        "allow_entries": len(allow),
        "patterns": compiled.patterns,
        "text_mb": round(mb, 2),
        "text_chars": len(text),
        "import_seconds": round(import_s, 2),
        "build_seconds": round(build_s, 2),
        "build_rss_mb": round(build_rss, 1),
        "automaton_bytes": stats.get("total_size"),
        "whole_text_seconds": round(whole_s, 3),
        "whole_text_mb_per_s": round(mb / whole_s, 2),
        "whole_text_cpu_mb_per_s": round(mb / whole_cpu, 2),
        "whole_text_matches": whole.total_matches,
        "pieces": len(pieces),
        "pieces_seconds": round(pieces_s, 3),
        "pieces_mb_per_s": round(mb / pieces_s, 2),
        "pieces_cpu_mb_per_s": round(mb / pieces_cpu, 2),
        "pieces_per_s": round(len(pieces) / pieces_s, 1),
        "zero_width_text_mb_per_s": round(len(spaced.encode()) / 2**20 / spaced_s, 2),
        "peak_rss_mb": round(whole_peak, 1),
        "target_mb_per_s": 5.0,
        "meets_target": mb / whole_s >= 5.0 and mb / pieces_s >= 5.0,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
