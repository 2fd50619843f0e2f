"""The router: one classifier per field (诉求类型, 领域, 承办部门) plus the 权责清单 rules, saved as versions.

Models live in <data_dir>/hotline/models/v<N>/ (router.joblib + report.json); the newest version is the
one in use, so retraining never overwrites the model a running process is reading.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import joblib

from haoban.apps.hotline.classify import FieldClassifier, Prediction, holdout_report
from haoban.errors import Conflict, InvalidInput

FIELDS = ("request_type", "domain", "department")
FIELD_LABELS = {"request_type": "诉求类型", "domain": "领域", "department": "承办部门"}
REVIEW_THRESHOLD = 0.6  # department confidence below this → human review queue
GUIDE_BOOST = 0.25  # a "guide" rule adds this much probability to its department before renormalising


@dataclass
class RuleHit:
    id: str
    name: str
    department: str
    mode: str  # override | guide
    matched: list[str]


@dataclass
class Routing:
    predictions: dict[str, Prediction]
    rules: list[RuleHit] = field(default_factory=list)
    department: str | None = None
    confidence: float = 0.0
    needs_review: bool = False
    review_reason: str = ""
    model_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "predictions": {k: asdict(v) for k, v in self.predictions.items()},
            "rules": [asdict(r) for r in self.rules],
            "department": self.department,
            "confidence": round(self.confidence, 4),
            "needs_review": self.needs_review,
            "review_reason": self.review_reason,
            "model_version": self.model_version,
        }


@cache
def packaged_rules() -> list[dict]:
    raw = (resources.files("haoban.apps.hotline") / "data" / "rules.json").read_text(encoding="utf-8")
    return json.loads(raw)["rules"]


def match_rules(text: str, location: str | None, rules: list[dict]) -> list[RuleHit]:
    hits = []
    where = f"{location or ''} {text}"
    for r in rules:
        kw = [k for k in r["keywords"] if k in text]
        if not kw:
            continue
        locs = r.get("locations") or []
        loc = [p for p in locs if p in where]
        if locs and not loc:
            continue
        hits.append(RuleHit(r["id"], r["name"], r["department"], r.get("mode", "override"), kw + loc))
    return hits


class Router:
    def __init__(self, classifiers: dict[str, FieldClassifier], report: dict[str, Any], version: int | None = None):
        self.classifiers = classifiers
        self.report = report
        self.version = version

    @classmethod
    def train(cls, texts: list[str], labels: dict[str, list[str | None]], threshold: float = REVIEW_THRESHOLD) -> Router:
        start = time.perf_counter()
        classifiers: dict[str, FieldClassifier] = {}
        report: dict[str, Any] = {"trained_at": datetime.now(UTC).isoformat(), "examples": len(texts), "fields": {}}
        for name, ys in labels.items():
            pairs = [(t, y) for t, y in zip(texts, ys, strict=True) if y]
            if not pairs:
                continue
            tx, ty = [p[0] for p in pairs], [p[1] for p in pairs]
            try:
                classifiers[name] = FieldClassifier().fit(tx, ty)  # type: ignore[arg-type]
            except InvalidInput as exc:  # too few confirmed labels for this field: the others still train
                report["fields"][name] = {"examples": len(pairs), "skipped": exc.message}
                continue
            report["fields"][name] = {
                "examples": len(pairs),
                "classes": classifiers[name].classes,
                "holdout": holdout_report(tx, ty, threshold),  # type: ignore[arg-type]
            }
        if not classifiers:
            raise InvalidInput("训练数据不足：每个字段都至少需要两个类别、每类不少于 3 条已确认的工单", code="HOTLINE_TRAIN_DATA")
        report["seconds"] = round(time.perf_counter() - start, 2)
        return cls(classifiers, report)

    def route(self, text: str, location: str | None = None, rules: list[dict] | None = None,
              threshold: float = REVIEW_THRESHOLD, explain: int = 6) -> Routing:
        preds = {name: clf.predict([text], explain=explain)[0] for name, clf in self.classifiers.items()}
        hits = match_rules(text, location, packaged_rules() if rules is None else rules)
        routing = Routing(preds, hits, model_version=self.version)
        dept = preds.get("department")
        override = next((h for h in hits if h.mode == "override"), None)
        if override:
            routing.department, routing.confidence = override.department, 1.0
        elif dept:
            probs = dict([(dept.label, dept.confidence), *dept.alternatives])
            for h in hits:  # guide rules shift probability toward their department
                probs[h.department] = probs.get(h.department, 0.0) + GUIDE_BOOST
            total = sum(probs.values()) or 1.0
            best = max(probs, key=probs.get)  # type: ignore[arg-type]
            routing.department, routing.confidence = best, probs[best] / total
        if routing.department is None:
            routing.needs_review, routing.review_reason = True, "没有可用的分派模型或规则"
        elif routing.confidence < threshold:
            routing.needs_review = True
            routing.review_reason = f"分派置信度 {routing.confidence:.2f} 低于阈值 {threshold:.2f}"
        return routing


MAX_SAVE_ATTEMPTS = 20


class ModelStore:
    """Versioned router models under <data_dir>/hotline/models."""

    def __init__(self, root: Path):
        self.root = root
        self._cached: Router | None = None

    def versions(self) -> list[int]:
        if not self.root.exists():
            return []
        return sorted(int(p.name[1:]) for p in self.root.iterdir() if p.name.startswith("v") and p.name[1:].isdigit()
                      and (p / "router.joblib").exists())

    def save(self, router: Router) -> int:
        """Write the model to a private folder, then claim the next version by renaming it into place.

        Renaming a folder onto an existing (non-empty) version fails, so two trainings finishing at once
        (two API workers, or the console and the CLI) get different versions instead of mixing files.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".training-", dir=self.root))
        joblib.dump(router.classifiers, tmp / "router.joblib", compress=3)
        for _ in range(MAX_SAVE_ATTEMPTS):
            version = (self.versions() or [0])[-1] + 1
            router.version = version
            router.report["version"] = version
            (tmp / "report.json").write_text(json.dumps(router.report, ensure_ascii=False, indent=2), encoding="utf-8")
            try:
                os.rename(tmp, self.root / f"v{version}")  # readers only ever see a complete version
            except OSError:
                continue  # another training took this version a moment ago
            self._cached = router
            return version
        shutil.rmtree(tmp, ignore_errors=True)
        raise Conflict("保存分派模型失败：同时进行的训练过多，请稍后重试", code="HOTLINE_MODEL_SAVE_CONFLICT")

    def current(self) -> Router | None:
        versions = self.versions()
        if not versions:
            return None
        if self._cached is None or self._cached.version != versions[-1]:
            folder = self.root / f"v{versions[-1]}"
            report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
            self._cached = Router(joblib.load(folder / "router.joblib"), report, versions[-1])
        return self._cached
