"""What a question asks: its content words (weighted by rarity in the knowledge base) and its type.

Both the sentence picker (extract.py) and the evidence score (evidence.py) read this analysis, so the
same words decide which sentences answer and whether the knowledge base answers at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from haoban.text.normalize import normalize
from haoban.text.segment import char_bigrams, cut, stopwords, tokenize

# Words that say how something is asked, not what about: dropped from the content words (the shared
# stop list already holds the common function and question words).
QUESTION_WORDS = frozenset(
    """
    什么 什么样 哪些 哪个 哪里 哪儿 哪家 哪位 哪种 哪类 哪几 哪几个 哪几种 哪一 何时 何地 为何 为什么 多久 多长
    多长时间 多大 多高 几个 几天 几年 几月 几号 几次 有何 有哪些 有没有 一下 咨询 了解 告诉 知道 请问 想问 问问
    请 麻烦 您好 你好 谢谢 下 呢 吗 吧 啊 么 嘛 怎么 怎样 如何 是否 能否 可否 可以 能 要 应 应该 需 需要 会 该 如
    具体 主要 分别 一般 都 还 又 些 哪 啥 咋 咋办 办法 呀 多少钱 怎么样 怎么办
    何种 何处 何人 何以 何日 何等 何谓 几时 哪天 哪一天 啥时候 为啥 指代
    """.split()
)

# Words naming what is asked about a topic rather than the topic itself (材料 of 居住证, 条件 of 落户).
# They weigh half in coverage: a passage about the topic matters more than one that shares the aspect.
ASPECT_WORDS = frozenset(
    """
    材料 资料 证件 证明 手续 条件 资格 要求 标准 流程 程序 步骤 时间 时限 期限 多久 多长时间 费用 收费 多少钱 价格
    地点 地址 窗口 哪里 电话 网址 渠道 方式 途径 办法 规定 政策 内容 范围 对象 情形 依据 规则 补贴 金额 额度 比例
    有效期 截止 什么时候 哪些 什么 怎么 如何 怎样 需要 需 要 提交 准备 带 交 其他 别的 另外 还有 以外 之外 多少
    具体 详细 注意 事项 注意事项 办理 申请 申领 措施 情况 工作 问题 有关 相关
    """.split()
)
ASPECT_FACTOR = 0.5

_NUM_Q = re.compile(
    r"多少|几[个天年月日次家人元项条倍岁周类种批所辆台吨]?|比例|金额|数额|额度|费率|标准是|上限|下限|最高|最低|多大|多高|多长|规模"
)
_DATE_Q = re.compile(
    r"什么时候|何时|几号|几月|哪天|哪一天|哪年|什么时间|日期|时间|起止|截止|期限|多久|多长时间|时限|时效|从何时|自何时"
)
_LIST_Q = re.compile(r"哪些|哪几|包括|包含|材料|措施|方式|渠道|途径|内容|范围|情形|有什么")
_MATERIAL_Q = re.compile(r"材料|证件|资料|手续|带什么|带哪些|提交什么|提交哪些|准备什么|准备哪些|要带")
_COND_Q = re.compile(r"条件|资格|哪些人|什么人|谁可以|符合|要求|标准|门槛|前提")
_HOW_Q = re.compile(r"如何|怎么|怎样|流程|程序|步骤|手续|办理|申请|申领|办事")
_WHERE_Q = re.compile(r"哪里|何处|地点|在哪|去哪|哪儿|地址|窗口|到哪")
_WHO_Q = re.compile(r"谁|哪个部门|哪些部门|哪个单位|哪些单位|哪家|什么部门|什么单位|由哪|负责")
_WHY_Q = re.compile(r"为什么|为何|目的|原因|意义")
_MEASURE_Q = re.compile(r"措施|举措|政策|办法|做法|手段|行动|安排")
_YESNO_Q = re.compile(r"是否|能否|可否|能不能|可不可以|是不是|有没有|会不会|吗[？?]?$")

QUESTION_TYPES: dict[str, re.Pattern[str]] = {
    "number": _NUM_Q,
    "date": _DATE_Q,
    "list": _LIST_Q,
    "material": _MATERIAL_Q,
    "condition": _COND_Q,
    "how": _HOW_Q,
    "where": _WHERE_Q,
    "who": _WHO_Q,
    "why": _WHY_Q,
    "yesno": _YESNO_Q,
    "measure": _MEASURE_Q,
}

_CJK_ONE = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Term:
    text: str  # normalised (lower case, half width), as it is matched against normalised sentences
    weight: float
    parts: tuple[str, ...] = ()  # shorter search words inside it, for partial credit
    alts: tuple[str, ...] = ()  # other spellings that count as the word itself (一次 / 1次)


_CN_DIGITS = {
    "一": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
    "十": "10",
}
_CN_COUNT = re.compile(
    r"^([一二两三四五六七八九十])([次个天年月日周岁项类件份名人户家元倍]|个月|个工作日|工作日)$"
)


def alternatives(word: str) -> tuple[str, ...]:
    """一次 → 1次, 两年 → 2年: government text writes small counts either way."""
    m = _CN_COUNT.match(word)
    return (_CN_DIGITS[m.group(1)] + m.group(2),) if m else ()


@dataclass
class QuestionInfo:
    text: str
    terms: list[Term]
    types: set[str] = field(default_factory=set)
    unit: str | None = None  # the unit a 多少/几 question asks in (天, 元, 人 …), if it names one
    known_weight: float = 0.0  # share of the weight on words the knowledge base contains at all
    # The question without its question words and punctuation, as runs of text (normalised): what a
    # sentence that answers it tends to repeat verbatim, whatever the word segmentation.
    core: list[str] = field(default_factory=list)
    bigrams: frozenset[str] = frozenset()

    @property
    def topic(self) -> Term | None:
        """The weightiest word that is not an aspect word: what the question is about."""
        topical = [t for t in self.terms if t.text not in ASPECT_WORDS] or self.terms
        return max(topical, key=lambda t: t.weight, default=None)

    @property
    def total_weight(self) -> float:
        return sum(t.weight for t in self.terms)


DocFreq = Callable[[list[str]], tuple[int, dict[str, int]]]  # words → (number of passages, df per word)


def content_words(question: str) -> list[str]:
    """The question's words that carry its topic, in order, without repeats."""
    stop = stopwords()
    out: list[str] = []
    for w in cut(question):
        w = normalize(w).strip()
        if not w or w in stop or w in QUESTION_WORDS:
            continue
        if len(w) == 1 and _CJK_ONE.fullmatch(w):
            continue  # single characters match almost every sentence
        if w not in out:
            out.append(w)
    return out


_UNIT_Q = re.compile(
    r"(?:多少|几)(个月|个工作日|工作日|小时|分钟|个|天|年|月|日|次|家|人|元|块钱|钱|万元|亿元|项|条|倍|岁|周|类|种|批|所|辆|台|吨|户|名|亩|平方米|公里)"
)
_UNIT_ALIASES = {"钱": "元", "块钱": "元", "万元": "万", "亿元": "亿"}


def asked_unit(question: str) -> str | None:
    """几天 → 天, 多少钱 → 元, 多少万元 → 万: what a number in the answer should be counted in."""
    m = _UNIT_Q.search(question)
    if not m:
        return None
    unit = _UNIT_ALIASES.get(m.group(1), m.group(1))
    return "" if unit == "个" else unit


def question_types(question: str) -> set[str]:
    return {name for name, pat in QUESTION_TYPES.items() if pat.search(question)}


def analyze(question: str, doc_freq: DocFreq | None = None) -> QuestionInfo:
    """Content words weighted by inverse document frequency over the knowledge base's passages.

    A word the base never contains gets the highest weight: it is likely what the question is about
    and nothing can cover it, which is the main sign of a question the base cannot answer.
    """
    words = content_words(question)
    parts = {
        w: tuple(p for p in tokenize(w) if p != w and len(p) > 1 and p not in QUESTION_WORDS) for w in words
    }
    # A two-character word as indexed for search (a marked character pair): the base may hold the two
    # characters side by side without the segmenter ever cutting them out as a word.
    pairs = {w: tuple(char_bigrams(w)) if len(w) == 2 else () for w in words}
    lookup = list(dict.fromkeys(words + [p for ps in [*parts.values(), *pairs.values()] for p in ps]))
    n, df = doc_freq(lookup) if doc_freq and lookup else (0, {})
    terms: list[Term] = []
    known = 0.0
    for w in words:
        if n:
            d = df.get(w, 0)
            if d == 0 and parts[w]:
                # Segmented differently in the documents: the rarest of its parts bounds its frequency.
                found = [df.get(p, 0) for p in parts[w]]
                d = min(found) if all(found) else 0
            if d == 0 and pairs[w]:
                # Not a word of the base but a piece of its text (等部 of 等部门): known, as rare as that pair.
                # Longer words are not pieced together from pairs (残疾人证 from 残疾, 疾人, 人证): an unknown
                # compound is what marks a question the base cannot answer.
                d = df.get(pairs[w][0], 0)
            # A word the base never contains weighs as much as its rarest word: it is likely the topic.
            weight = idf(n, d) if d else idf(n, 1)
        else:
            d = 1
            weight = 1.0 + 0.15 * min(len(w), 6)  # no statistics: longer words are usually more specific
        if re.fullmatch(r"\d+(\.\d+)?", w):
            weight *= 0.6  # bare numbers (years, counts) matter but rarely carry the topic alone
        if w in ASPECT_WORDS:
            weight *= ASPECT_FACTOR
        if d:
            known += weight
        terms.append(Term(w, round(weight, 4), parts[w], alternatives(w)))
    core = core_runs(question)
    info = QuestionInfo(
        question,
        terms,
        question_types(question),
        unit=asked_unit(question),
        core=core,
        bigrams=frozenset(bigrams_of(core)),
    )
    info.known_weight = known / info.total_weight if n and info.total_weight else 1.0
    return info


_CORE_SPLIT = re.compile(
    r"什么样|什么|哪些|哪个|哪里|哪儿|哪几|如何|怎么样|怎么|怎样|多少|是否|能否|可否|请问|有何|有没有|为什么|何时|哪|吗|呢|吧"
    r"|几(?:个月|个工作日|个|天|年|月|日|次|家|人|元|项|条|倍|岁|周|类|种|批|所|辆|台|吨|号)?|[\W_]+"
)


def core_runs(question: str) -> list[str]:
    return [r for r in _CORE_SPLIT.split(normalize(question)) if len(r) >= 2]


def bigrams_of(runs: list[str] | str) -> set[str]:
    if isinstance(runs, str):
        runs = [runs]
    return {r[i : i + 2] for r in runs for i in range(len(r) - 1)}


def longest_common(runs: list[str], text_norm: str) -> int:
    """Length of the longest piece of the question (one of its runs) found verbatim in the text."""
    best = 0
    for run in runs:
        for i in range(len(run) - best):
            j = i + best + 1
            while j <= len(run) and run[i:j] in text_norm:
                j += 1
            best = max(best, j - 1 - i)
    return best


def idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def match_score(term: Term, text_norm: str) -> float:
    """1 when the word occurs in the (normalised) text; partial credit when only its parts do."""
    if term.text in text_norm or any(a in text_norm for a in term.alts):
        return 1.0
    if term.parts:
        hit = sum(1 for p in term.parts if p in text_norm)
        return 0.5 * hit / len(term.parts)
    return 0.0


def coverage(info: QuestionInfo, text_norm: str) -> float:
    """Weighted share of the question's content words present in the text (0..1)."""
    total = info.total_weight
    if not total:
        return 0.0
    return sum(t.weight * match_score(t, text_norm) for t in info.terms) / total
