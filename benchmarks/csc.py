"""Chinese spelling check (CSC) benchmark for the 公文 review spelling checker.

    .venv/bin/python benchmarks/csc.py --data ../shared/data/csc_ecspell_law/data.jsonl [--out PATH]
    .venv/bin/python benchmarks/csc.py --odw-dev            # the held-out 20% of ECSpell odw.train
    .venv/bin/python benchmarks/csc.py --govdocs            # false alarms on 60 clean State Council documents

Input: JSON lines with `source` and `target` (optional `edits`, ignored: edits are re-derived from the
character diff), or the upstream ECSpell/SIGHAN tab format `label<TAB>source<TAB>target`.
Each source sentence is given to `SpellChecker.correct`; the prediction is compared with the target.

Metrics (SIGHAN-2015 style, sentence level; a "positive" sentence has at least one gold error):
- detection: a sentence is *predicted* positive when the system changed anything. Detection TP =
  gold-positive sentence whose set of changed positions equals the gold error positions exactly.
  Precision = TP / predicted positive, recall = TP / gold positive.
- correction: TP = gold-positive sentence whose changed positions AND replacement characters equal
  the gold ones exactly (i.e. prediction == target). Same denominators as detection.
- sentence accuracy, and false-positive sentences among the gold-negative (already correct) ones.
- char-level correction: P/R/F1 over (position, character) pairs of changed positions.
`--unseen-only` keeps only sentences whose correct form is not in the LM's training text (see
`training_targets`): ECSpell reuses sentences across its splits, which flatters the full-set numbers.
Only substitution errors are scored. A pair whose source and target differ in length is counted in
`length_mismatch`, scored as a gold-positive sentence the system cannot get right (the prediction
is still compared position by position), and otherwise skipped for char-level scores.

`--govdocs` instead runs `SpellChecker.check` over the full text of the 60 State Council documents
(clean official prose, so every correction is a false alarm) and reports corrections per 10k characters,
separately for the third of the documents the LM never saw (md5(id) % 3 == 0) and the rest, plus the
time per 5,000 characters.

Progress goes to stderr; the last line of stdout is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from haoban.apps.gongwen.spelling import get_spell_checker  # noqa: E402


def read_pairs(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            row = json.loads(line)
            pairs.append((row["source"], row["target"]))
        else:
            parts = line.split("\t")
            if len(parts) >= 3:
                pairs.append((parts[-2], parts[-1]))
            elif len(parts) == 2:
                pairs.append((parts[0], parts[1]))
    return pairs


def odw_dev(data_dir: Path) -> list[tuple[str, str]]:
    """Same split as scripts/build_spelling.py: md5(source) % 5 == 0 of odw.train."""
    pairs = read_pairs(data_dir / "csc_train/odw.train")
    return [p for p in pairs if int(hashlib.md5(p[0].encode("utf-8")).hexdigest(), 16) % 5 == 0]


def training_targets(data_dir: Path) -> set[str]:
    """Correct sentences of the ECSpell training files that feed the shipped LM (odw minus dev, law, med).

    ECSpell reuses many sentences with different injected errors, so a test sentence's correct form is
    often already in the LM; `--unseen-only` measures the checker on the rest."""
    seen: set[str] = set()
    for name in ("odw.train", "law.train", "med.train"):
        for src, tgt in read_pairs(data_dir / "csc_train" / name):
            if name != "odw.train" or int(hashlib.md5(src.encode("utf-8")).hexdigest(), 16) % 5 != 0:
                seen.add(tgt)
    return seen


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score(pairs: list[tuple[str, str]], preds: list[str]) -> dict[str, float | int]:
    gold_pos = pred_pos = det_tp = cor_tp = correct_sent = neg_fp = negatives = mismatch = 0
    ch_tp = ch_pred = ch_gold = 0
    for (src, tgt), pred in zip(pairs, preds, strict=True):
        if len(src) != len(tgt):
            mismatch += 1
            gold_pos += 1
            pred_pos += pred != src
            continue
        gold = {(i, t) for i, (s, t) in enumerate(zip(src, tgt, strict=True)) if s != t}
        got = {(i, p) for i, (s, p) in enumerate(zip(src, pred, strict=False)) if s != p}
        if len(pred) != len(src):  # never happens with this checker; count it as a wrong change
            got = {(-1, "")}
        gold_pos += bool(gold)
        pred_pos += bool(got)
        negatives += not gold
        neg_fp += bool(not gold and got)
        correct_sent += got == gold
        if gold and got:
            det_tp += {i for i, _ in got} == {i for i, _ in gold}
            cor_tp += got == gold
        ch_tp += len(got & gold)
        ch_pred += len(got)
        ch_gold += len(gold)
    dp = det_tp / pred_pos if pred_pos else 0.0
    dr = det_tp / gold_pos if gold_pos else 0.0
    cp = cor_tp / pred_pos if pred_pos else 0.0
    cr = cor_tp / gold_pos if gold_pos else 0.0
    chp = ch_tp / ch_pred if ch_pred else 0.0
    chr_ = ch_tp / ch_gold if ch_gold else 0.0
    return {
        "sentences": len(pairs),
        "gold_positive": gold_pos,
        "predicted_positive": pred_pos,
        "length_mismatch": mismatch,
        "sentence_accuracy": round(correct_sent / len(pairs), 4) if pairs else 0.0,
        "sentence_detection_precision": round(dp, 4),
        "sentence_detection_recall": round(dr, 4),
        "sentence_detection_f1": round(f1(dp, dr), 4),
        "sentence_correction_precision": round(cp, 4),
        "sentence_correction_recall": round(cr, 4),
        "sentence_correction_f1": round(f1(cp, cr), 4),
        "false_positive_rate_on_clean": round(neg_fp / negatives, 4) if negatives else 0.0,
        "char_correction_precision": round(chp, 4),
        "char_correction_recall": round(chr_, 4),
        "char_correction_f1": round(f1(chp, chr_), 4),
    }


def govdocs(data_dir: Path) -> dict[str, object]:
    checker = get_spell_checker()
    groups: dict[str, list[int]] = {"held_out": [0, 0], "in_lm_corpus": [0, 0]}
    examples: list[str] = []
    t0 = time.perf_counter()
    path = data_dir / "govdocs_statecouncil_govcn/data.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        held = int(hashlib.md5(str(doc["id"]).encode("utf-8")).hexdigest(), 16) % 3 == 0
        found = checker.check(doc["text"])
        g = groups["held_out" if held else "in_lm_corpus"]
        g[0] += len(doc["text"])
        g[1] += len(found)
        for c in found[:3]:
            examples.append(f"{doc['id']}: {doc['text'][max(0, c.start - 6) : c.end + 6]} -> {c.suggestion}")
    elapsed = time.perf_counter() - t0
    chars = sum(g[0] for g in groups.values())
    out: dict[str, object] = {"data": "govdocs_statecouncil_govcn", "chars": chars}
    for name, (n_chars, n_found) in groups.items():
        out[f"{name}_chars"] = n_chars
        out[f"{name}_corrections"] = n_found
        out[f"{name}_per_10k_chars"] = round(n_found / n_chars * 10_000, 3) if n_chars else 0.0
    total = sum(g[1] for g in groups.values())
    out["corrections_per_10k_chars"] = round(total / chars * 10_000, 3)
    out["seconds_per_5000_chars"] = round(elapsed / chars * 5000, 3)
    for e in examples[:40]:
        print("  " + e, file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="jsonl (source, target) or tab file (label, source, target)")
    ap.add_argument("--odw-dev", action="store_true", help="use the held-out 20%% of ECSpell odw.train")
    ap.add_argument(
        "--govdocs", action="store_true", help="false alarms on the clean State Council documents"
    )
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument(
        "--unseen-only",
        action="store_true",
        help="drop sentences whose correct form occurs in the ECSpell training files the LM was built from",
    )
    ap.add_argument("--out", type=Path, help="also write the result JSON here")
    args = ap.parse_args()
    if args.govdocs:
        result = govdocs(args.data_dir)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(result, ensure_ascii=False))
        return
    if args.odw_dev:
        pairs, name = odw_dev(args.data_dir), "odw-dev"
    elif args.data:
        pairs, name = read_pairs(args.data), args.data.parent.name or args.data.stem
    else:
        ap.error("give --data FILE or --odw-dev")
    if args.unseen_only:
        pairs = [p for p in pairs if p[1] not in training_targets(args.data_dir)]
        name += "-unseen"
    if args.limit:
        pairs = pairs[: args.limit]

    t0 = time.perf_counter()
    checker = get_spell_checker()
    load_s = time.perf_counter() - t0
    print(f"loaded in {load_s:.2f}s; {len(pairs)} sentences from {name}", file=sys.stderr)
    preds = []
    t1 = time.perf_counter()
    for n, (src, _tgt) in enumerate(pairs, 1):
        preds.append(checker.correct(src))
        if n % 200 == 0:
            print(f"  {n}/{len(pairs)}", file=sys.stderr)
    elapsed = time.perf_counter() - t1
    result: dict[str, object] = {"data": name, **score(pairs, preds)}
    chars = sum(len(s) for s, _ in pairs)
    result["load_seconds"] = round(load_s, 2)
    result["sentences_per_second"] = round(len(pairs) / elapsed, 1) if elapsed else 0.0
    result["chars_per_second"] = round(chars / elapsed) if elapsed else 0
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
