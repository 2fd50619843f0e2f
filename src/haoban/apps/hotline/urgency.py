"""Urgency and sentiment from words: risk words (life, safety, mass incidents) escalate a ticket.

A lexicon, not a model: every escalation can be traced to the words that caused it. The lists are the
project's own, written for 12345 practice (生命安全 → 特急; 公共安全 and strong anger → 紧急).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Threat to life or of violence: handled within hours and flagged to a supervisor.
CRITICAL = ["自杀", "轻生", "不想活", "活不下去", "跳楼", "爆炸", "燃气泄漏", "煤气味", "天然气泄漏", "着火", "火灾",
            "持刀", "杀人", "砍人", "溺水", "触电", "坍塌", "中毒", "群体", "聚集", "堵路", "上访", "围堵"]
URGENT = ["井盖缺失", "水管爆裂", "漏电", "危房", "墙体开裂", "脱落", "塌陷", "积水", "停水", "停电", "救护车",
          "食物中毒", "上吐下泻", "高烧", "被骗", "诈骗", "打架", "偷排", "发黑发臭", "死了", "红绿灯坏",
          "掉下去", "摔倒", "没水用"]
ANGER = ["太差", "气愤", "愤怒", "忍无可忍", "没人管", "不管", "推诿", "投诉无门", "欺负", "无法入睡", "骗",
         "乱收费", "什么态度", "多次", "一直没人", "强烈要求", "严重", "很危险", "跑路"]
SAD = ["求求", "求政府", "走投无路", "负债累累", "生活困难", "看不起病", "活不下去"]
URGENCY_ORDER = {"一般": 0, "紧急": 1, "特急": 2}


@dataclass
class UrgencyResult:
    urgency: str  # 特急/紧急/一般
    sentiment: str  # 愤怒/焦虑/平和
    score: float  # 0–1, for ordering the queue
    risk_words: list[str] = field(default_factory=list)
    escalate: bool = False  # notify a supervisor now


def assess(text: str) -> UrgencyResult:
    crit = [w for w in CRITICAL if w in text]
    urgent = [w for w in URGENT if w in text]
    anger = [w for w in ANGER if w in text] + (["！！"] if "！！" in text or "!!" in text else [])
    sad = [w for w in SAD if w in text]
    urgency = "特急" if crit else "紧急" if urgent else "一般"
    sentiment = "愤怒" if len(anger) >= 2 else "焦虑" if sad or urgent or crit else "愤怒" if anger else "平和"
    score = min(1.0, 0.6 * bool(crit) + 0.3 * bool(urgent) + 0.08 * len(anger) + 0.1 * len(sad) + 0.05 * len(urgent))
    return UrgencyResult(urgency, sentiment, round(score, 3), crit + urgent, escalate=bool(crit) or len(anger) >= 3)


def higher(a: str, b: str) -> str:
    return a if URGENCY_ORDER.get(a, 0) >= URGENCY_ORDER.get(b, 0) else b
