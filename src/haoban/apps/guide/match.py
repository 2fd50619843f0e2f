"""Colloquial request → catalogue items and bundles, with the fewest clarifying questions for 情形.

Retrieval is an in-memory BM25 over two token streams (jieba words and character bigrams, the latter
for typos and dialect words jieba splits oddly), on fields weighted by repetition (name and aliases count
most). The synonym dictionary expands colloquial words to canonical terms before scoring; a name or
alias found verbatim in the request gets a bonus. A catalogue of thousands of items indexes in well
under a second, so the index is rebuilt whenever the catalogue changes.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from haoban.apps.guide.schemas import Bundle, Question, ServiceItem
from haoban.text.normalize import normalize
from haoban.text.segment import tokenize

_CJK_RUN = re.compile(r"[\u3400-\u9fffa-z0-9]+")
# Words that say "what do I need to do overall" — a life-event bundle is the better answer then.
_BUNDLE_CUES = (
    "办什么",
    "办哪些",
    "要办啥",
    "哪些手续",
    "什么手续",
    "一件事",
    "都要办",
    "要跑哪",
    "需要办理哪些",
    "该办啥",
    "办些什么",
)


def bigrams(text: str) -> list[str]:
    out: list[str] = []
    for run in _CJK_RUN.findall(normalize(text)):
        out.extend(run[i : i + 2] for i in range(len(run) - 1)) if len(run) > 1 else out.append(run)
    return out


class BM25:
    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.len = [len(d) for d in docs]
        self.avg = (sum(self.len) / len(docs)) if docs else 1.0
        df: Counter[str] = Counter()
        for tf in self.tf:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, tf in enumerate(self.tf):
            for t in tf:
                self.postings[t].append(i)

    def scores(self, query: list[str]) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for t in set(query):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for i in self.postings[t]:
                f = self.tf[i][t]
                out[i] += (
                    idf * f * (self.k1 + 1) / (f + self.k1 * (1 - self.b + self.b * self.len[i] / self.avg))
                )
        return out


@dataclass
class Entry:
    kind: str  # item | bundle
    code: str
    name: str
    department: str
    subject: str
    phrases: list[str]  # name and aliases, for verbatim hits


@dataclass
class Hit:
    entry: Entry
    score: float
    reasons: list[str] = field(default_factory=list)


def _weighted(parts: list[tuple[str, int]]) -> str:
    return " ".join(" ".join([text] * w) for text, w in parts if text)


def _canonical_expansion(query: str, aliases: dict[str, list[str]]) -> list[str]:
    q = normalize(query)
    bare = q.replace("了", "")  # 生了孩子 / 丢了 — the particle splits many colloquial phrases
    found = []
    for canonical, variants in aliases.items():
        if canonical in q:
            continue
        if any(v and (normalize(v) in q or normalize(v) in bare) for v in variants):
            found.append(canonical)
    return found


class MatchIndex:
    def __init__(self, items: list[ServiceItem], bundles: list[Bundle], aliases: dict[str, list[str]]):
        self.items = {i.code: i for i in items}
        self.bundles = {b.code: b for b in bundles}
        self.aliases = aliases
        self.entries: list[Entry] = []
        texts: list[str] = []
        for it in items:
            self.entries.append(
                Entry("item", it.code, it.name, it.department, it.subject, [it.name, *it.aliases])
            )
            texts.append(
                _weighted(
                    [
                        (it.name, 3),
                        (" ".join(it.aliases), 2),
                        (" ".join(it.keywords), 2),
                        (" ".join(f.q for f in it.faq), 1),
                        (" ".join(s.name for s in it.situations), 1),
                        (it.department, 1),
                    ]
                )
            )
        for b in bundles:
            self.entries.append(Entry("bundle", b.code, b.name, "", "", [b.name, *b.aliases]))
            texts.append(
                _weighted(
                    [(b.name, 3), (" ".join(b.aliases), 2), (" ".join(b.keywords), 2), (b.description, 1)]
                )
            )
        self.words = BM25([tokenize(t) for t in texts])
        self.chars = BM25([bigrams(t) for t in texts])

    def search(self, query: str, k: int = 10, subject: str | None = None) -> tuple[list[Hit], list[str]]:
        expanded = _canonical_expansion(query, self.aliases)
        text = query + " " + " ".join(expanded)
        w = self.words.scores(tokenize(text))
        c = self.chars.scores(bigrams(text))
        wmax = max(w.values(), default=0.0) or 1.0
        cmax = max(c.values(), default=0.0) or 1.0
        q = normalize(text)
        wants_bundle = any(cue in q for cue in _BUNDLE_CUES)
        hits = []
        for i in set(w) | set(c):
            e = self.entries[i]
            if subject and e.kind == "item" and e.subject not in (subject, "个人和企业"):
                continue
            score = 0.6 * w.get(i, 0.0) / wmax + 0.4 * c.get(i, 0.0) / cmax
            reasons = [p for p in e.phrases if len(p) >= 2 and normalize(p) in q]
            if reasons:
                score += 0.3
            if e.kind == "bundle":
                score *= 1.25 if wants_bundle else 0.9
            hits.append(Hit(e, round(score, 4), reasons))
        hits.sort(key=lambda h: -h.score)
        return hits[:k], expanded


# ---- 情形 disambiguation ------------------------------------------------------------------------------

# dimension → value → colloquial cues found in a request (the value text itself also counts)
DIM_HINTS: dict[str, dict[str, tuple[str, ...]]] = {
    "户籍地": {
        "本地": ("本地户口", "本市户口", "本地人", "户口在本地", "户口在这", "本市户籍"),
        "外地": ("外地", "外省", "异地", "不是本地", "非本地", "外来", "随迁", "老家户口", "户口不在"),
    },
    "是否首次": {
        "是": ("第一次", "首次", "头一次", "头回", "从没办过", "从来没办"),
        "否": ("再次", "续签", "签注", "续期", "换新"),
    },
    "原因": {
        "到期": ("到期", "过期", "期满", "失效"),
        "损坏": ("坏了", "损坏", "破了", "烂了", "消磁", "看不清", "有误", "错了"),
        "丢失": ("丢了", "丢失", "掉了", "遗失", "被偷", "找不到", "弄丢"),
        "信息变更": ("改名", "变更", "更正", "改了名"),
        "转入": ("转入", "外地驾照", "转到本地"),
    },
    "婚姻状况": {
        "再婚": ("再婚", "二婚", "离过婚"),
        "初婚": ("第一次结婚", "初婚"),
        "非婚": ("未婚先孕", "非婚", "没领证", "没结婚"),
        "已婚": ("已婚", "夫妻", "和老婆", "和老公", "我爱人"),
        "境外出生": ("国外出生", "境外出生", "在国外生"),
    },
    "参保人群": {
        "新生儿": ("新生儿", "刚出生", "宝宝", "婴儿", "孩子出生"),
        "学生": ("学生", "在校", "上学的"),
        "成年居民": ("没工作的", "灵活就业", "老人"),
    },
    "退休类型": {
        "特殊工种": ("特殊工种", "井下", "高温", "有毒有害"),
        "病退": ("病退", "因病", "身体不行"),
        "正常": ("正常退休", "到年龄"),
    },
    "申报方式": {"单位": ("单位", "公司帮"), "个人": ("离职", "灵活就业", "自己申请")},
    "登记类型": {
        "注销": ("注销", "关门", "不干了"),
        "设立": ("开", "新办", "办个"),
        "变更": ("变更", "改"),
        "失业": ("失业", "没工作", "被裁"),
        "就业": ("灵活就业", "找到工作"),
    },
    "注销方式": {"简易": ("简易", "没开业", "未开业", "没有债务"), "一般": ("一般注销", "有债务", "清算")},
    "备案类型": {
        "长期居住": ("长期", "常住", "养老", "随子女"),
        "转诊": ("转诊", "转院"),
        "临时外出": ("临时", "出差", "旅游", "探亲"),
    },
    "就医地": {"外地": ("外地", "异地", "外省"), "本地": ("本地", "急诊")},
    "租赁备案": {"是": ("备案合同", "租赁备案"), "否": ("没有合同", "没备案", "没合同")},
    "经营类型": {
        "餐饮": ("饭店", "餐馆", "奶茶", "小吃", "快餐", "做吃的"),
        "销售": ("超市", "便利店", "零食", "卖食品"),
    },
    "申请人": {"企业": ("公司", "企业", "单位", "法人"), "个人": ("个人", "我自己", "本人")},
}
QUESTION_TEXT = {
    "户籍地": "您的户籍（户口）在本地还是外地？",
    "是否首次": "是第一次办理吗？",
    "原因": "需要办理的原因是？",
    "婚姻状况": "请问婚姻（生育）情况是？",
    "参保人群": "为谁办理参保？",
    "退休类型": "属于哪种退休？",
    "申报方式": "由单位申报还是个人申报？",
    "登记类型": "要办理哪一类登记？",
    "注销方式": "适用简易注销还是一般注销？",
    "备案类型": "属于哪类异地就医？",
    "就医地": "是在外地还是本地就医？",
    "租赁备案": "租房合同是否已在房管部门备案？",
    "经营类型": "经营餐饮还是食品销售？",
    "申请人": "您是以个人还是企业（单位）身份办理？",
}


def extract_answers(query: str, dims: set[str] | None = None) -> dict[str, str]:
    q = normalize(query)
    out: dict[str, str] = {}
    for dim, values in DIM_HINTS.items():
        if dims is not None and dim not in dims:
            continue
        for value, cues in values.items():
            if any(c in q for c in cues):
                out[dim] = value
                break
    return out


def consistent(situations: list, answers: dict[str, str]) -> list:
    return [s for s in situations if all(s.when.get(k, v) == v for k, v in answers.items())]


def questions_for(situations: list, answers: dict[str, str]) -> list[Question]:
    """Greedy minimum set of dimensions that tells the remaining 情形 apart."""
    left = consistent(situations, answers)
    if len(left) <= 1:
        return []
    groups = [left]
    asked: list[Question] = []
    dims = sorted({k for s in left for k in s.when if k not in answers})
    while any(len(g) > 1 for g in groups) and dims:
        best = min(dims, key=lambda dim, gs=groups: _worst(gs, dim))
        if _worst(groups, best)[0] == max(len(g) for g in groups):
            break  # no remaining dimension splits anything
        dims.remove(best)
        options = sorted({s.when[best] for s in left if best in s.when})
        asked.append(Question(key=best, text=QUESTION_TEXT.get(best, f"请选择{best}："), options=options))
        groups = [list(g2) for g in groups for g2 in _split(g, best)]
    return asked


def _worst(groups: list[list], dim: str) -> tuple[int, int]:
    """Largest group left after asking `dim` (smaller is better), then more groups first."""
    sizes = [len(part) for g in groups for part in _split(g, dim)]
    return (max(sizes), -len(sizes))


def _split(group: list, dim: str) -> list[list]:
    """Partition by the answer to `dim`; a 情形 that does not depend on `dim` stays in every part."""
    values = sorted({s.when[dim] for s in group if dim in s.when})
    if not values:
        return [group]
    return [[s for s in group if s.when.get(dim, v) == v] for v in values]
