"""Trained text classifiers for 诉求类型, 领域 and the handling department, with calibrated confidence.

Features: TF-IDF over character 1–3-grams (robust to typos, masked digits and unseen words) joined with
TF-IDF over jieba words (project dictionary); model: a linear SVM whose scores are turned into
probabilities by CalibratedClassifierCV (sigmoid, 3 folds). Explanations are coefficient × tf-idf value
of the terms present in the text, averaged over the calibration folds' SVMs.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from haoban.errors import InvalidInput
from haoban.text.normalize import normalize
from haoban.text.segment import cut, stopwords

MIN_PER_CLASS = 3  # a class needs this many examples to be learnt (calibration uses 3 folds)
_MASK = re.compile(r"\*+")


def prepare_text(text: str) -> str:
    # Masked spans (****) carry no meaning; collapsing them keeps them from forming spurious n-grams.
    return _MASK.sub("＊", normalize(text or ""))


def words(text: str) -> list[str]:
    # No HMM: the character n-grams already cover words jieba does not know, and this is the hot path.
    stop = stopwords()
    return [w for w in cut(text, hmm=False) if w not in stop and w != "＊"]


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2, max_features=200_000)),
            ("word", TfidfVectorizer(tokenizer=words, lowercase=False, token_pattern=None, sublinear_tf=True, min_df=1, ngram_range=(1, 2), max_features=200_000)),
        ]
    )


@dataclass
class Prediction:
    label: str
    confidence: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # next-best labels with probability
    features: list[tuple[str, float]] = field(default_factory=list)  # top terms for the label, with weight


class FieldClassifier:
    """One field (e.g. department): fit on (text, label) pairs; predict calibrated probabilities."""

    def __init__(self, c: float = 1.0, balanced: bool = False):
        self.c = c
        self.balanced = balanced
        self.features = _features()
        self.model: CalibratedClassifierCV | None = None
        self.classes: list[str] = []
        self._coef: np.ndarray | None = None
        self._names: np.ndarray | None = None

    def fit(self, texts: list[str], labels: list[str]) -> FieldClassifier:
        counts = Counter(labels)
        keep = [i for i, y in enumerate(labels) if counts[y] >= MIN_PER_CLASS]
        if len({labels[i] for i in keep}) < 2:
            raise InvalidInput("训练数据不足：至少需要两个类别、每类不少于 3 条已标注工单", code="HOTLINE_TRAIN_DATA")
        texts = [prepare_text(texts[i]) for i in keep]
        labels = [labels[i] for i in keep]
        x = self.features.fit_transform(texts)
        svm = LinearSVC(C=self.c, class_weight="balanced" if self.balanced else None)
        folds = min(3, min(Counter(labels).values()))
        self.model = CalibratedClassifierCV(svm, method="sigmoid", cv=folds)
        self.model.fit(x, labels)
        self.classes = [str(c) for c in self.model.classes_]
        coefs = [cc.estimator.coef_ for cc in self.model.calibrated_classifiers_]
        coef = np.mean(coefs, axis=0)
        if len(self.classes) == 2:  # a binary SVM keeps one row, for the positive class
            coef = np.vstack([-coef[0], coef[0]])
        self._coef = coef
        self._names = np.asarray(self.features.get_feature_names_out())
        return self

    def transform(self, texts: list[str]):
        return self.features.transform([prepare_text(t) for t in texts])

    def proba(self, texts: list[str]) -> np.ndarray:
        if self.model is None:
            raise InvalidInput("分类模型尚未训练", code="HOTLINE_MODEL_MISSING")
        return self.model.predict_proba(self.transform(texts))

    def predict(self, texts: list[str], *, explain: int = 0, alternatives: int = 2) -> list[Prediction]:
        x = self.transform(texts)
        probs = self.model.predict_proba(x)  # type: ignore[union-attr]
        out = []
        for row, p in enumerate(probs):
            order = np.argsort(-p)
            best = int(order[0])
            pred = Prediction(
                label=self.classes[best],
                confidence=float(p[best]),
                alternatives=[(self.classes[int(j)], float(p[j])) for j in order[1 : 1 + alternatives]],
            )
            if explain:
                pred.features = self._explain(x[row], best, explain)
            out.append(pred)
        return out

    def explain(self, text: str, label: str, top: int = 8) -> list[tuple[str, float]]:
        if label not in self.classes:
            return []
        return self._explain(self.transform([text])[0], self.classes.index(label), top)

    def _explain(self, xrow, cls: int, top: int) -> list[tuple[str, float]]:
        xrow = xrow.tocsr()
        idx, vals = xrow.indices, xrow.data
        contrib = self._coef[cls, idx] * vals  # type: ignore[index]
        order = np.argsort(-contrib)
        result: list[tuple[str, float]] = []
        seen: set[str] = set()
        for j in order:
            if contrib[j] <= 0 or len(result) >= top:
                break
            term = str(self._names[idx[j]]).split("__", 1)[-1].strip()  # type: ignore[index]
            if not term or term in seen or term == "＊":
                continue
            seen.add(term)
            result.append((term, round(float(contrib[j]), 4)))
        return result


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """ECE: |accuracy − confidence| averaged over equal-width confidence bins, weighted by bin size."""
    total, ece = len(confidence), 0.0
    edges = np.linspace(0, 1, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            ece += mask.sum() / total * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def evaluate(clf: FieldClassifier, texts: list[str], labels: list[str], threshold: float) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class F1, ECE and coverage (share at or above the review threshold)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    probs = clf.proba(texts)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    pred = [clf.classes[int(i)] for i in probs.argmax(1)]
    conf = probs.max(1)
    correct = np.array([p == y for p, y in zip(pred, labels, strict=True)])
    known = sorted(set(labels))
    per_class = f1_score(labels, pred, labels=known, average=None, zero_division=0)
    covered = conf >= threshold
    return {
        "n": len(labels),
        "accuracy": round(float(accuracy_score(labels, pred)), 4),
        "macro_f1": round(float(f1_score(labels, pred, labels=known, average="macro", zero_division=0)), 4),
        "per_class": {k: round(float(v), 4) for k, v in zip(known, per_class, strict=True)},
        "ece": round(expected_calibration_error(conf, correct), 4),
        "threshold": threshold,
        "coverage": round(float(covered.mean()), 4),
        "accuracy_covered": round(float(correct[covered].mean()), 4) if covered.any() else None,
        "per_second": round(len(labels) / seconds, 1) if seconds > 0 else math.inf,
        # CPU time of this process: steadier than wall time when other work shares the machine.
        "cpu_per_second": round(len(labels) / cpu, 1) if cpu > 0 else math.inf,
    }


def holdout_report(texts: list[str], labels: list[str], threshold: float, seed: int = 7) -> dict[str, Any] | None:
    """Train on 80 % and measure on 20 % (stratified where possible); None when there is too little data."""
    counts = Counter(labels)
    keep = [i for i, y in enumerate(labels) if counts[y] >= MIN_PER_CLASS + 2]
    if len(keep) < 30 or len({labels[i] for i in keep}) < 2:
        return None
    t = [texts[i] for i in keep]
    y = [labels[i] for i in keep]
    tr_x, te_x, tr_y, te_y = train_test_split(t, y, test_size=0.2, random_state=seed, stratify=y)
    return evaluate(FieldClassifier().fit(tr_x, tr_y), te_x, te_y, threshold)
