"""A tiny gradient-boosted tree ensemble evaluated in pure Python.

Trained with scikit-learn's HistGradientBoostingClassifier by `scripts/build_spelling.py` and exported to
JSON, so the run time needs neither pickle (version-coupled, unsafe to load) nor scikit-learn.
"""

from __future__ import annotations

import math
from typing import Any


class TreeEnsemble:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.init = float(spec["init"])
        self.rate = float(spec["learning_rate"])
        # Per tree: (feature, threshold, left, right, value) arrays; feature -1 marks a leaf.
        self.trees = [
            (t["feature"], t["threshold"], t["left"], t["right"], t["value"]) for t in spec["trees"]
        ]
        self._arrays: list[tuple[Any, ...]] | None = None

    def decision(self, x: list[float]) -> float:
        score = self.init
        for feature, threshold, left, right, value in self.trees:
            node = 0
            while feature[node] >= 0:
                node = left[node] if x[feature[node]] <= threshold[node] else right[node]
            score += self.rate * value[node]
        return score

    def batch_proba(self, rows: list[list[float]]) -> list[float]:
        """Probabilities for many rows at once, walking all rows through each tree level by level."""
        import numpy as np

        if not rows:
            return []
        if self._arrays is None:
            self._arrays = [tuple(np.asarray(a) for a in t) for t in self.trees]
        X = np.asarray(rows, dtype=np.float64)
        idx = np.arange(len(X))
        z = np.full(len(X), self.init)
        for feature, threshold, left, right, value in self._arrays:
            node = np.zeros(len(X), dtype=np.int64)
            while True:
                f = feature[node]
                inner = f >= 0
                if not inner.any():
                    break
                go_left = X[idx, np.where(inner, f, 0)] <= threshold[node]
                node = np.where(inner, np.where(go_left, left[node], right[node]), node)
            z += self.rate * value[node]
        return list(1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))))

    def proba(self, x: list[float]) -> float:
        z = self.decision(x)
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0


def export_hgb(model: Any) -> dict[str, Any]:
    """Turn a fitted binary sklearn HistGradientBoostingClassifier (no missing values, numeric
    features only) into the JSON spec above. Its leaf values already include the learning rate."""
    import numpy as np

    trees = []
    for (pred,) in model._predictors:
        nodes = pred.nodes
        leaf = nodes["is_leaf"].astype(bool)
        trees.append(
            {
                "feature": [-1 if lf else int(f) for f, lf in zip(nodes["feature_idx"], leaf, strict=True)],
                "threshold": [float(x) for x in nodes["num_threshold"]],
                "left": [int(x) for x in nodes["left"]],
                "right": [int(x) for x in nodes["right"]],
                "value": [float(x) for x in nodes["value"]],
            }
        )
    return {"init": float(np.ravel(model._baseline_prediction)[0]), "learning_rate": 1.0, "trees": trees}
