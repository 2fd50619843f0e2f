"""会议纪要 extraction quality on the project's own set (benchmarks/data/minutes: NN.txt transcripts written for
this project, gold decisions and action items in gold.json).

Scores, micro-averaged over all meetings:
- action items: a predicted action matches a gold one when the owner is the same (parts split on 、 compared
  as a set), the resolved deadline is the same date (or both have none), and the gold key phrase occurs in the
  predicted task or its source span; one-to-one, greedy in transcript order. precision, recall, F1.
- decisions: a gold decision is found when its key phrase occurs in a predicted decision (text or span);
  recall, and precision = predicted decisions that contain some gold key.
Reported for all meetings and per split (dev = seen while writing the rules, heldout = written after).

    .venv/bin/python benchmarks/minutes.py [--model-url http://127.0.0.1:8000/v1 --model NAME]

Without --model-url the extractive path is measured. Per-meeting details go to stderr; the last stdout
line is one JSON object, also written to benchmarks/results/minutes.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from haoban.apps.gongwen.minutes import ActionItem, Decision, MeetingInfo, minutes  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "minutes"


def _owner_key(owner: str) -> frozenset[str]:
    return frozenset(
        p.strip().removesuffix("同志") for p in owner.replace("和", "、").split("、") if p.strip()
    )


def match_actions(gold: list[dict], pred: list[ActionItem], transcript: str) -> int:
    used: set[int] = set()
    hits = 0
    for g in gold:
        for i, p in enumerate(pred):
            if i in used:
                continue
            date = p.deadline.date.isoformat() if p.deadline and p.deadline.date else None
            where = p.task + transcript[p.start : p.end]
            if _owner_key(p.owner) == _owner_key(g["owner"]) and date == g["deadline"] and g["key"] in where:
                used.add(i)
                hits += 1
                break
    return hits


def decision_scores(gold: list[str], pred: list[Decision], transcript: str) -> tuple[int, int]:
    texts = [d.text + transcript[d.start : d.end] for d in pred]
    found = sum(1 for key in gold if any(key in t for t in texts))
    correct = sum(1 for t in texts if any(key in t for key in gold))
    return found, correct


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def _f1(p: float, r: float) -> float:
    return round(2 * p * r / (p + r), 4) if p + r else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-url", help="OpenAI 兼容地址（含 /v1）；不给则只测抽取式")
    parser.add_argument("--model", default="default")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "minutes.json")
    args = parser.parse_args()

    gateway = None
    if args.model_url:
        from haoban.config import Settings
        from haoban.llm.gateway import make_gateway

        gateway = make_gateway(
            Settings(llm_base_url=args.model_url, llm_model=args.model, embedding_backend="none")
        )

    gold_all = {
        k: v for k, v in json.loads((DATA / "gold.json").read_text("utf-8")).items() if not k.startswith("_")
    }
    totals: dict[str, dict[str, int]] = {}
    per_meeting = []
    started = time.perf_counter()
    modes: list[str] = []
    for key, gold in sorted(gold_all.items()):
        transcript = (DATA / f"{key}.txt").read_text("utf-8")
        info = MeetingInfo(date=dt.date.fromisoformat(gold["meeting_date"]))
        result = minutes(transcript, meeting=info, gateway=gateway)
        modes.append(result.mode)
        a_hits = match_actions(gold["actions"], result.actions, transcript)
        d_found, d_correct = decision_scores(gold["decisions"], result.decisions, transcript)
        row = {
            "id": key,
            "split": gold["split"],
            "actions_gold": len(gold["actions"]),
            "actions_pred": len(result.actions),
            "actions_hit": a_hits,
            "decisions_gold": len(gold["decisions"]),
            "decisions_pred": len(result.decisions),
            "decisions_found": d_found,
            "decisions_correct": d_correct,
        }
        per_meeting.append(row)
        print(json.dumps(row, ensure_ascii=False), file=sys.stderr)
        for bucket in ("all", gold["split"]):
            t = totals.setdefault(bucket, {})
            for name, value in row.items():
                if isinstance(value, int):
                    t[name] = t.get(name, 0) + value
    elapsed = time.perf_counter() - started

    def scores(t: dict[str, int]) -> dict[str, float | int]:
        p = _ratio(t["actions_hit"], t["actions_pred"])
        r = _ratio(t["actions_hit"], t["actions_gold"])
        return {
            "meetings": sum(1 for m in per_meeting if True) if t is totals["all"] else None,
            "action_precision": p,
            "action_recall": r,
            "action_f1": _f1(p, r),
            "decision_recall": _ratio(t["decisions_found"], t["decisions_gold"]),
            "decision_precision": _ratio(t["decisions_correct"], t["decisions_pred"]),
            "actions_gold": t["actions_gold"],
            "decisions_gold": t["decisions_gold"],
        }

    out: dict[str, object] = {"mode": "model" if gateway else "extractive", **scores(totals["all"])}
    out["modes_used"] = {m: modes.count(m) for m in set(modes)}
    for split in ("dev", "heldout"):
        if split in totals:
            s = scores(totals[split])
            s.pop("meetings")
            out[split] = s
    out["seconds"] = round(elapsed, 2)
    out["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    out["per_meeting"] = per_meeting
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    summary = {k: v for k, v in out.items() if k != "per_meeting"}
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
