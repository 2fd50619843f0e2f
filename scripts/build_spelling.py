"""Build the spelling checker's shipped artifacts (src/haoban/apps/gongwen/spelling/data/).

    nice .venv/bin/python scripts/build_spelling.py [--data-dir ../shared/data]

Inputs (see data/SOURCE.md for origins and licences):
- ECSpell training sets odw/law/med (MIT): the correct side feeds the character LM, the error pairs
  feed the pair statistics, and all of it trains the decision classifier. 20% of odw.train
  (md5(source) % 5 == 0) is held out as the development set and used for nothing but reporting.
- State Council documents (official documents, outside copyright): two thirds (md5(id) % 3 != 0)
  feed the LM and serve as clean negative examples for the classifier; the other third is kept out
  so the false-alarm rate can be measured honestly on it (benchmarks/csc.py --govdocs).
- ECSpell's sound/shape confusion sets (MIT), pypinyin (MIT) for same-pinyin groups, and jieba's
  dictionary (MIT) plus the project's domain dictionary for word evidence.
SIGHAN and policyqa data (research-use only) are not used for anything shipped.

The classifier is trained on candidates from 5-fold cross-fitting: the LM and pair counts used for a
fold's features never contain that fold's sentences, otherwise the model would learn to trust an LM
that has already seen the answer. The decision threshold is the one with the best out-of-fold odw
sentence F1 among those with sentence precision >= TARGET_PRECISION and at most MAX_FALSE_ALARMS
changed clean State Council sentences per 10k characters.

Takes about 5 minutes on one core. `--cache FILE` keeps the feature rows for quicker re-runs of the
classifier part; `--include-dev` also trains on the odw dev 20% (a final refit: dev numbers are then
no longer held out).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from pypinyin import Style, lazy_pinyin, pinyin
from sklearn.ensemble import HistGradientBoostingClassifier

from haoban.apps.gongwen.spelling.checker import SpellChecker, select, word_model
from haoban.apps.gongwen.spelling.classifier import TreeEnsemble, export_hgb
from haoban.apps.gongwen.spelling.model import (
    CJK,
    FEATURES,
    SAME_PINYIN,
    SEEN_PAIR,
    SIMILAR_SHAPE,
    SIMILAR_SOUND,
    Generator,
    Stats,
    WordModel,
    count_ngrams,
    features,
    normalize_for_lm,
)
from haoban.text.sentences import split_sentences

OUT = Path(__file__).resolve().parent.parent / "src/haoban/apps/gongwen/spelling/data"
COMMON_CHARS = 6000  # candidates are limited to the most frequent characters
DICT_BIGRAM_MIN = 3
HOMOPHONE_MIN = 20  # two-character words at least this frequent (jieba counts) can be proposed  # dictionary bigrams rarer than this are dropped from the artifact
FOLDS = 5
# Threshold: best odw F1 on out-of-fold predictions with at least this sentence precision and at
# most this many changed clean State Council sentences per 10k characters.
TARGET_PRECISION = 0.80
MAX_FALSE_ALARMS = 0.5


def log(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


def md5int(s: str) -> int:
    return int(hashlib.md5(s.encode("utf-8")).hexdigest(), 16)


def read_tab(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and len(parts[1]) == len(parts[2]):
            out.append((parts[1], parts[2]))
    return out


def odw_split(data_dir: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    pairs = read_tab(data_dir / "csc_train/odw.train")
    dev = [p for p in pairs if md5int(p[0]) % 5 == 0]
    train = [p for p in pairs if md5int(p[0]) % 5 != 0]
    return train, dev


def gov_sentences(data_dir: Path, held_out: bool) -> list[str]:
    out = []
    for line in (data_dir / "govdocs_statecouncil_govcn/data.jsonl").read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        if (md5int(str(doc["id"])) % 3 == 0) == held_out:
            text = doc["text"]
            out.extend(text[a:b] for a, b in split_sentences(text))
    return out


def error_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(a, b) for s, t in pairs for a, b in zip(s, t, strict=True) if a != b and CJK.match(b)]


def dict_ngrams(freq: dict[str, int]) -> Counter[str]:
    """Char unigram and bigram counts inside dictionary words, weighted by word frequency."""
    out: Counter[str] = Counter()
    for w, f in freq.items():
        if not f:
            continue
        w = normalize_for_lm(w)
        for i, c in enumerate(w):
            out[c] += f
            if i + 1 < len(w):
                out[w[i : i + 2]] += f
    return Counter({g: n for g, n in out.items() if len(g) == 1 or n >= DICT_BIGRAM_MIN})


def base_confusion(data_dir: Path, common: set[str]) -> dict[str, dict[str, int]]:
    conf: dict[str, dict[str, int]] = defaultdict(dict)
    for name, flag in (("soundConfusion.json", SIMILAR_SOUND), ("shapeConfusion.json", SIMILAR_SHAPE)):
        raw = json.loads((data_dir / "csc_train" / name).read_text(encoding="utf-8"))
        for k, vs in raw.items():
            for v in vs:
                if k != v and v in common:
                    conf[k][v] = conf[k].get(v, 0) | flag
    # Same toneless pinyin (any reading) among common characters.
    by_sound: dict[str, set[str]] = defaultdict(set)
    for c in common:
        for r in pinyin(c, style=Style.NORMAL, heteronym=True)[0]:
            by_sound[r].add(c)
    for group in by_sound.values():
        for k in group:
            for v in group:
                if k != v:
                    conf[k][v] = conf[k].get(v, 0) | SAME_PINYIN
    return conf


def with_pairs(conf: dict[str, dict[str, int]], errs: Counter[str]) -> dict[str, tuple[str, str]]:
    """Add the seen error pairs; encode as {char: (candidates, one hex flag digit per candidate)}."""
    merged = {k: dict(v) for k, v in conf.items()}
    for pair in errs:
        w, c = pair[0], pair[1]
        merged.setdefault(w, {})
        merged[w][c] = merged[w].get(c, 0) | SEEN_PAIR
    return {k: ("".join(sorted(v)), "".join(f"{v[c]:x}" for c in sorted(v))) for k, v in merged.items()}


def make_stats(
    lm_sents: list[str], dict_ng: Counter[str], conf: dict[str, dict[str, int]], pairs: list[tuple[str, str]]
) -> Stats:
    errs = error_pairs(pairs)
    confusion = with_pairs(conf, Counter(a + b for a, b in errs))
    return Stats.from_corpus(lm_sents + [t for _, t in pairs], dict_ng, confusion, errs)


def readings_and_homophones(words: WordModel, common: set[str]) -> dict[str, dict[str, object]]:
    """Toneless readings of common characters; two-character words grouped by their pinyin."""
    readings = {c: pinyin(c, style=Style.NORMAL, heteronym=True)[0][:3] for c in sorted(common)}
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for w, f in words.freq.items():
        if len(w) == 2 and f >= HOMOPHONE_MIN and all(c in common for c in w):
            groups[" ".join(lazy_pinyin(w))].append((f, w))
    homophones = {
        k: "".join(w for _, w in sorted(v, reverse=True)) for k, v in sorted(groups.items()) if len(v) > 1
    }
    return {"readings": readings, "homophones": homophones}


def rows_for(checker: SpellChecker, pairs: list[tuple[str, str]], tag: int, sid0: int):
    """Feature rows for every candidate of every sentence: X, y, (sentence id, pos, repl, ctype, tag)."""
    X, y, meta = [], [], []
    missed = gold = 0
    for k, (src, tgt) in enumerate(pairs):
        norm = normalize_for_lm(src)
        covered: set[int] = set()
        cache: dict[tuple[int, int], tuple[float, float, int, float]] = {}
        for m in CJK.finditer(norm):
            i = m.start()
            for c, t in checker.candidates(norm, i):
                good = int(tgt[i : i + len(c)] == c and src[i : i + len(c)] != c)
                if good:
                    covered.update(j for j in range(i, i + len(c)) if src[j] != tgt[j])
                X.append(features(checker.stats, checker.words, norm, i, c, t, cache))
                y.append(good)
                meta.append((sid0 + k, i, c, t, tag))
        errs = {j for j in range(len(src)) if src[j] != tgt[j]}
        gold += len(errs)
        missed += len(errs - covered)
    return X, y, meta, missed, gold


def sentence_scores(probs, meta, sents, threshold: float) -> dict[str, float]:
    """Sentence-level correction P/R/F1 (SIGHAN style) with the checker's own selection rule."""
    scored: dict[int, list[tuple[int, str, float, int]]] = defaultdict(list)
    for p, (sid, i, c, t, _tag) in zip(probs, meta, strict=True):
        scored[sid].append((i, c, float(p), t))
    tp = fp = pos = 0
    for sid, (src, tgt) in sents.items():
        pred = list(src)
        for i, c, _p, _t in select(scored.get(sid, []), threshold):
            pred[i : i + len(c)] = list(c)
        out = "".join(pred)
        pos += src != tgt
        if out != src:
            if out == tgt:
                tp += 1
            else:
                fp += 1
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / pos if pos else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"p": prec, "r": rec, "f1": f1, "changed": tp + fp}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument(
        "--include-dev",
        action="store_true",
        help="also train on the odw dev 20%% (final refit for shipping; dev numbers are then no longer held out)",
    )
    ap.add_argument("--cache", type=Path, help="reuse/keep the cross-fitted feature rows here (pickle)")
    args = ap.parse_args()
    t0 = time.time()
    rnd = random.Random(20240607)

    odw_train, odw_dev = odw_split(args.data_dir)
    if args.include_dev:
        odw_train += odw_dev
    law = read_tab(args.data_dir / "csc_train/law.train")
    med = read_tab(args.data_dir / "csc_train/med.train")
    # tag 0 = odw (the domain that matters), 1 = law/med
    train = [(p, 0) for p in odw_train] + [(p, 1) for p in law + med]
    log(f"train {len(train)} (odw {len(odw_train)}), odw dev {len(odw_dev)}")
    gov = gov_sentences(args.data_dir, held_out=False)
    log(f"govdocs LM sentences {len(gov)}")
    # Clean State Council sentences (tag 2) are both LM text and negative examples: without them the
    # classifier only sees sentences that nearly all contain an error and over-corrects clean prose.
    train += [((g, g), 2) for g in gov]

    words = word_model()
    dict_ng = dict_ngrams(words.freq)
    lm_uni, _, _ = count_ngrams([t for (_, t), _ in train])
    char_freq = Counter({c: n for c, n in dict_ng.items() if len(c) == 1 and CJK.match(c)})
    for c, n in lm_uni.items():
        if CJK.match(c):
            char_freq[c] += n * 1000  # the LM corpus is ~1000x smaller than jieba's source corpus
    common = {c for c, _ in char_freq.most_common(COMMON_CHARS)}
    conf = base_confusion(args.data_dir, common)
    pin = readings_and_homophones(words, common)
    log(f"confusion entries {len(conf)}, pairs {sum(map(len, conf.values()))}, {time.time() - t0:.0f}s")

    # ---- cross-fitted training rows
    order = list(range(len(train)))
    rnd.shuffle(order)
    fold_of = {k: n % FOLDS for n, k in enumerate(order)}
    X: list[list[float]] = []
    y: list[int] = []
    meta: list[tuple[int, int, str, int, int]] = []
    sents: dict[int, tuple[str, str]] = {}
    missed = gold = 0
    cached = args.cache and args.cache.exists()
    if cached:
        X, y, meta, sents, missed, gold = pickle.loads(args.cache.read_bytes())
    for f in range(0 if cached else FOLDS):
        inside = [k for k in range(len(train)) if fold_of[k] == f]
        outside = [train[k][0] for k in range(len(train)) if fold_of[k] != f]
        stats = make_stats([], dict_ng, conf, outside)
        checker = SpellChecker(Generator(stats, words, pin["readings"], pin["homophones"]), None, 1.0)
        for k in inside:
            (src, tgt), tag = train[k]
            sents[k] = (src, tgt)
            xr, yr, mr, mi, go = rows_for(checker, [(src, tgt)], tag, k)
            X += xr
            y += yr
            meta += mr
            missed += mi
            gold += go
        log(f"fold {f}: rows {len(X)} positives {sum(y)} gold {gold} missed {missed} {time.time() - t0:.0f}s")
    if args.cache and not cached:
        args.cache.write_bytes(pickle.dumps((X, y, meta, sents, missed, gold)))
    Xa, ya = np.array(X), np.array(y)
    log(f"candidate recall ceiling {1 - missed / gold:.3f}")

    # ---- out-of-fold classifier predictions to choose the threshold
    def fit(idx: np.ndarray) -> HistGradientBoostingClassifier:
        clf = HistGradientBoostingClassifier(
            max_iter=args.trees,
            max_leaf_nodes=15,
            learning_rate=0.08,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=0,
        )
        return clf.fit(Xa[idx], ya[idx])

    row_fold = np.array([fold_of[m[0]] for m in meta])
    oof = np.zeros(len(ya))
    for f in range(FOLDS):
        clf = fit(np.where(row_fold != f)[0])
        oof[row_fold == f] = clf.predict_proba(Xa[row_fold == f])[:, 1]
        log(f"oof fold {f} done {time.time() - t0:.0f}s")
    odw_ids = {k for k in sents if train[k][1] == 0}
    odw_rows = [n for n, m in enumerate(meta) if m[0] in odw_ids]
    gov_ids = {k for k in sents if train[k][1] == 2}
    gov_rows = [n for n, m in enumerate(meta) if m[0] in gov_ids]
    gov_chars = sum(len(sents[k][0]) for k in gov_ids)
    best_t, best = 0.9, {"f1": -1.0}
    for t in np.arange(0.30, 0.96, 0.02):
        sc_odw = sentence_scores(
            oof[odw_rows], [meta[n] for n in odw_rows], {k: sents[k] for k in odw_ids}, t
        )
        # Every change to a clean State Council sentence is a false alarm.
        sc_gov = sentence_scores(
            oof[gov_rows], [meta[n] for n in gov_rows], {k: sents[k] for k in gov_ids}, t
        )
        false_alarms = sc_gov["changed"] / gov_chars * 10_000
        log(
            f"t={t:.2f} odw P={sc_odw['p']:.3f} R={sc_odw['r']:.3f} F1={sc_odw['f1']:.3f} | "
            f"clean-text false alarms {false_alarms:.2f}/10k chars"
        )
        if sc_odw["p"] >= TARGET_PRECISION and false_alarms <= MAX_FALSE_ALARMS and sc_odw["f1"] > best["f1"]:
            best_t, best = float(t), {**sc_odw, "false_alarms_per_10k": false_alarms}
    log(f"threshold {best_t:.2f}: {best}")

    # ---- final artifacts: everything but the odw dev set
    clf = fit(np.arange(len(ya)))
    spec = export_hgb(clf)
    ens = TreeEnsemble(spec)
    probe = Xa[: min(2000, len(Xa))]
    diff = np.max(np.abs(clf.predict_proba(probe)[:, 1] - np.array([ens.proba(list(x)) for x in probe])))
    assert diff < 1e-6, f"exported trees disagree with sklearn ({diff})"
    spec["threshold"] = round(best_t, 3)
    spec["features"] = list(FEATURES)

    all_pairs = [p for p, _ in train]
    errs = error_pairs(all_pairs)
    pair_counts = Counter(a + b for a, b in errs)
    confusion = with_pairs(conf, pair_counts)
    uni, bi, tri = count_ngrams([t for _, t in all_pairs])
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "lm.txt").open("w", encoding="utf-8") as fh:
        for counts in (uni, bi, tri):
            for g, n in sorted(counts.items()):
                fh.write(f"{g}\t{n}\n")
    with (OUT / "dict_ngrams.txt").open("w", encoding="utf-8") as fh:
        for g, n in sorted(dict_ng.items()):
            fh.write(f"{g}\t{n}\n")
    conf_out = {k: list(v) for k, v in sorted(confusion.items())}
    (OUT / "confusion.json").write_text(
        json.dumps(conf_out, ensure_ascii=False, separators=(",", ":")), "utf-8"
    )
    char_err = Counter(a for a, _ in errs)
    (OUT / "errors.json").write_text(
        json.dumps(
            {"pairs": dict(sorted(pair_counts.items())), "chars": dict(sorted(char_err.items()))},
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        "utf-8",
    )
    (OUT / "pinyin.json").write_text(json.dumps(pin, ensure_ascii=False, separators=(",", ":")), "utf-8")
    (OUT / "classifier.json").write_text(json.dumps(spec, separators=(",", ":")), "utf-8")
    log(f"artifacts written to {OUT} in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
