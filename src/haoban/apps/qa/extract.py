"""Extractive answers: pick the sentences of the retrieved passages that answer the question.

Every usable sentence of the top passages is described by a few numbers and scored by a weighted sum
of them (`SENTENCE_WEIGHTS`):
- words / bigrams / phrase: share of the question's content words (rare words weighing more,
  question.py), of its character pairs, and the longest piece of the question found verbatim;
- local_words / local_bigrams: the same shares with each word and pair weighted by its IDF over the
  candidate sentences themselves: the topic a title names is in every sentence and tells them apart
  no more than a stop word, the asked aspect (有效期, 材料) is in few;
- pair_words / pair_bigrams, prev_*, next_words, intro, after_question: the sentence read with the one
  before it (the topic named there, only referred to here: 该贷款…), and whether it follows a question;
- passage / passage_bigrams / document / topic / rank / lexical: how well its passage (with title,
  heading path and the heading line before it) and the best passage of its document match, and the
  passage's retrieval rank and BM25 score relative to the best;
- cue / unit: the sentence holds what the question type asks for (a number for 多少, a date for
  什么时候, a list for 哪些, documents for 材料, 应当/符合/具备/要/一律 for 条件 and 要求, 给予/减免/延长 for
  措施 and 政策 …), a count in the asked unit;
- length / short: long sentences must earn their place, fragments rarely answer;
- heading / after_heading: a short numbered line without a comma that opens a paragraph
  ("（六）优化网上办税缴费平台。") repeats the question's topic but does not answer it; the sentence after
  it (or after a bare heading line) does, weighted by how well that heading matches;
- title / lead / novel: the headline repeated at the top of a news item (the document title inside the
  sentence, the first 80 characters of the document) rarely answers; how much the sentence says beyond
  the question's own character pairs;
- echoes: the same sentence in several retrieved documents (a notice and its reprints) is usually the
  statement the question was written from.
- after_restate: the sentence before says little beyond the question's own character pairs (it restates
  the question: "……措施如下", a restated heading): this one, weighted by how well that one matches, is
  the answer. Its weight was set on the dev half with the other weights fixed (a full refit on the new
  retrieval lowered the dev hits).
- other_region: the question names a province and the sentence (with its document title) names only
  other ones: 湖北's rule does not answer a question about 辽宁, however well the rest matches. Its weight
  was set like after_restate's.
The weights are a softmax over each question's sentences (the ones overlapping the gold answer as
targets) fitted on the dev half of the public policyqa questions only (benchmarks/qa.py `splits`).
At most MAX_SENTENCES sentences are highlighted; chunks overlap, so sentences are compared by their
span in the document and the same text is never highlighted twice. The same statement in another
document (a notice and its reprint) is cited as a further source of it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from haoban.apps.qa.question import QuestionInfo, bigrams_of, coverage, longest_common, match_score
from haoban.knowledge.schemas import SearchHit
from haoban.safety.injection import looks_like_injection
from haoban.text.normalize import normalize
from haoban.text.sentences import split_sentences

MAX_PASSAGES = 12  # passages whose sentences are considered
MAX_SENTENCES = 3  # distinct sentences highlighted in one answer (its echoes in other documents aside)
SENTENCE_MARGIN = 4.0  # a further sentence is highlighted only when it scores within this of the best
RESTATE_NOVEL = 8  # character pairs beyond the question's that a sentence restating it may add
MAX_ECHOES = 2  # other documents cited for the same statement (a notice and its reprints)
SAME_TEXT = 0.8  # share of character pairs two sentences must have in common to count as one statement

# E5 cosines are compressed (~0.8–0.95): for ranking passages against each other they enter standardised.
DENSE_CENTRE = 0.83
DENSE_SPREAD = 0.03
DENSE_MISSING = -2.0  # standardised cosine of a passage outside the vector top list

_NUM = (
    r"\d|[一二三四五六七八九十百千万亿两]+(?:个|万|亿|元|人|家|项|天|日|年|月|次|倍|%|％|岁|周|所|户)|百分之"
)
_ANSWER_CUES: dict[str, re.Pattern[str]] = {
    "number": re.compile(_NUM),
    "date": re.compile(
        r"\d{1,2}月\d{1,2}日|\d{4}年|\d{1,2}日|[一二三四五六七八九十\d]+个?(?:工作日|日|天|月|年|小时)|起|以前|之前|以内|之内|为止|期间|截至|每年|每月|每季度|每周|每天|每日|当日|即时|立即"
    ),
    "list": re.compile(r"、.*、|；|：|（[一二三四五六七八九十]+）|(?:^|\s)\d{1,2}[.．、]|包括|如下"),
    # 条件 and 要求: what must be met or done (要保证, 一律, 严禁), not 需要 / 主要 / 重要 / 要素.
    "condition": re.compile(
        r"应当|符合|具备|满足|须|需|必须|条件|不得|方可|具有|持有|年满|要求|严禁|一律|不准|务必|(?<![需主重必只])要(?![求素点])"
    ),
    "how": re.compile(r"可以|可通过|通过|向|到|办理|提交|申请|登录|拨打|前往|采取|实行|实施|推行|开展"),
    "where": re.compile(
        r"窗口|中心|大厅|地点|派出所|网站|网上|平台|地址|所在地|居住地|app|小程序|热线|医院|机构"
    ),
    "who": re.compile(r"部门|机关|单位|机构|委员会|政府|局|厅|负责|牵头|由"),
    "why": re.compile(r"为了|旨在|目的|以便|为.*[，,]"),
    "yesno": re.compile(r"可以|不得|应当|允许|禁止|不予|予以|免征|免收|暂停|不再"),
    "material": re.compile(r"提交|提供|携带|出具|原件|复印件|证明|证书|证件|身份证|材料|申请表"),
    # 措施 / 政策: what is done for whom (给予, 减免, 延长, 补贴 …), not the background of a notice.
    "measure": re.compile(
        r"给予|减免|免征|减征|免收|延长|延期|补贴|补助|奖励|支持|实行|实施|推行|开通|设立|暂停|放宽|简化|允许|缓缴|降低|提高"
    ),
}
_TERMINAL = "。！？；;!?：:…”’）)】"
_QUESTION_END = ("？", "?")
_ARTICLE = re.compile(r"^第[一二三四五六七八九十百千零〇两\d]+条")
_NUMBERING = re.compile(
    r"^\s*(?:第[一二三四五六七八九十百千零〇两\d]+[编章节条]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[）)]|\d+(?:\.\d+)*[.．、]?|附件\d*[:：]?)\s*"
)


@dataclass
class Sentence:
    start: int  # offsets in the passage (chunk text)
    end: int
    text: str
    norm: str
    usable: bool  # not a bare heading line, not a question, not an instruction aimed at a model
    phrase: int = 0  # longest piece of the question found in it verbatim
    grams: frozenset[str] = frozenset()  # its character pairs (normalised)


@dataclass
class Passage:
    rank: int  # 0 = best retrieved
    hit: SearchHit
    sentences: list[Sentence]
    coverage: float  # question words in title + heading path + text
    topic: float = 0.0  # the question's weightiest word in title + heading path + text
    bigrams: float = 0.0  # question character pairs in title + text
    document: float = 0.0  # best coverage among the passages of the same document

    @property
    def doc_start(self) -> int:
        return self.hit.citation.start


@dataclass
class Window:
    passage: Passage
    first: int  # sentence indices, inclusive
    last: int
    score: float
    coverage: float
    cue: float
    features: dict[str, float] = field(default_factory=dict)
    echo: bool = False  # the first window's statement, found in another document

    @property
    def sentences(self) -> list[Sentence]:
        return self.passage.sentences[self.first : self.last + 1]

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Highlight spans in the passage, one per sentence.

        A leading article label (第四条) is left out, as in the answer text: the source names it.
        """
        out = [(s.start, s.end) for s in self.sentences]
        label = heading_label(self.passage.hit.citation.heading_path)
        first = self.sentences[0]
        if label and _ARTICLE.match(label) and first.text.startswith(label):
            skip = len(first.text[len(label) :]) - len(first.text[len(label) :].lstrip())
            if first.start + len(label) + skip < first.end:
                out[0] = (first.start + len(label) + skip, first.end)
        return out

    @property
    def doc_range(self) -> tuple[str, int, int]:
        s = self.sentences
        return (
            self.passage.hit.citation.document_id,
            self.passage.doc_start + s[0].start,
            self.passage.doc_start + s[-1].end,
        )

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.sentences)


@dataclass
class Extraction:
    passages: list[Passage]
    windows: list[Window] = field(default_factory=list)  # the chosen ones: 0, 1 or 2, best first
    best_by_passage: dict[int, Window] = field(default_factory=dict)  # rank → its best window
    candidates: list[Candidate] = field(default_factory=list)  # every scored sentence, best first


def _is_heading(text: str) -> bool:
    """A line without sentence punctuation that is short: a title or heading, not an answer."""
    return len(text) <= 40 and text[-1] not in _TERMINAL


# A short "label: value" line (长沙： 0731-88666312, 开户行：中国工商银行……) states a fact without closing
# punctuation: contact lists, addresses and accounts are answers, not headings.
_LABELLED = re.compile(r"^[^：:]{1,20}[：:]\s*\S{2,}")


def lead_heading(before: str) -> str:
    """The heading line just before a passage, if the text there ends with one ("## 二、需要提交的材料").

    A chunk sometimes starts under a heading that its heading path does not name (a Markdown heading,
    or a heading left at the end of the previous chunk); the line still tells what the passage is about.
    """
    lines = [ln.strip().lstrip("#").strip() for ln in before.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines or not before.rstrip(" \t\u3000").endswith(("\n", "\r")):
        return ""
    last = lines[-1]
    return last if _is_heading(last) else ""


def build_passages(
    info: QuestionInfo, hits: list[SearchHit], limit: int = MAX_PASSAGES, leads: dict[str, str] | None = None
) -> list[Passage]:
    """leads: chunk id → heading line just before the passage in its document (see lead_heading)."""
    passages = []
    for rank, hit in enumerate(hits[:limit]):
        sentences = []
        for s, e in split_sentences(hit.text):
            raw = hit.text[s:e]
            norm = normalize(raw)
            usable = (
                (not _is_heading(raw) or bool(_LABELLED.match(raw)))
                and not raw.endswith(_QUESTION_END)
                and not looks_like_injection(raw)
            )
            sentences.append(
                Sentence(
                    s, e, raw, norm, usable, longest_common(info.core, norm), frozenset(bigrams_of(norm))
                )
            )
        c = hit.citation
        lead = (leads or {}).get(hit.chunk_id, "")
        context = normalize(f"{c.title} {c.heading_path} {lead} {hit.text}")
        pb = _share(info.bigrams, normalize(f"{c.title} {hit.text}"))
        topic = match_score(info.topic, context) if info.topic else 0.0
        passages.append(Passage(rank, hit, sentences, coverage(info, context), topic, pb))
    best_doc: dict[str, float] = {}
    for p in passages:
        d = p.hit.citation.document_id
        best_doc[d] = max(best_doc.get(d, 0.0), p.coverage)
    for p in passages:
        p.document = best_doc[p.hit.citation.document_id]
    return passages


def _share(grams: frozenset[str], text_norm: str) -> float:
    if not grams:
        return 0.0
    return len(grams & bigrams_of(text_norm)) / len(grams)


# Question types that name what the answer must contain count twice in the cue: a window without a
# number cannot answer 多少, while almost any sentence can be read as answering 如何.
_SPECIFIC = frozenset({"number", "date", "material", "where", "who", "condition"})


def _cue(info: QuestionInfo, text: str) -> float:
    asked = [t for t in info.types if t in _ANSWER_CUES]
    if not asked:
        return 0.0
    weight = {t: 2.0 if t in _SPECIFIC else 1.0 for t in asked}
    found = 0.0
    for t in asked:
        pattern = _unit_pattern(info.unit) if t == "number" and info.unit else _ANSWER_CUES[t]
        if pattern.search(text):
            found += weight[t]
    return found / sum(weight.values())


@lru_cache(maxsize=64)
def _unit_pattern(unit: str) -> re.Pattern[str]:
    """A count in the asked unit: 7天 / 七天 / 共7天, 1000元 / 1.5万元."""
    return re.compile(rf"[\d一二三四五六七八九十百千万两〇零.．]+\s*(?:个)?{re.escape(unit)}")


def dense_value(hit: SearchHit) -> float:
    """A passage's E5 cosine on the standardised scale (0 at the calibrated midpoint)."""
    if hit.dense_score is None:
        return DENSE_MISSING
    return max(-3.0, min(3.0, (hit.dense_score - DENSE_CENTRE) / DENSE_SPREAD))


SENTENCE_FEATURES = (
    "words", "bigrams", "phrase", "cue", "unit", "after_question", "prev_words", "prev_bigrams",
    "next_words", "intro", "passage", "passage_bigrams", "document", "topic", "rank", "lexical",
    "length", "short", "list_item", "pair_words", "pair_bigrams", "local_words", "local_bigrams", "dense",
    "heading", "after_heading", "title", "novel", "lead", "echoes", "after_restate", "other_region",
)  # fmt: skip
SENTENCE_WEIGHTS: dict[str, float] = {
    "words": 0.14, "bigrams": 0.7, "phrase": 1.25, "cue": 1.37, "unit": 1.09, "after_question": -1.07,
    "prev_words": -0.35, "prev_bigrams": -0.61, "next_words": -0.94, "intro": -0.35, "passage": 0.85,
    "passage_bigrams": 3.36, "document": 3.42, "topic": 0.72, "rank": 0.44, "lexical": 3.07, "length": -0.39,
    "short": -1.47, "list_item": 0.39, "pair_words": 1.77, "pair_bigrams": 2.45, "local_words": 0.21,
    "local_bigrams": 1.17, "heading": -1.81, "after_heading": 3.09, "title": -0.78, "novel": 0.19,
    "lead": -0.27, "echoes": 1.47, "after_restate": 3.0, "other_region": -2.0, "dense": 0.0,
}  # fmt: skip
HYBRID_SENTENCE_WEIGHTS: dict[str, float] = dict(SENTENCE_WEIGHTS)
_LIST_ITEM = re.compile(
    r"^\s*(?:[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+、|\d{1,2}[.．、]|第[一二三四五六七八九十]+[，,、])"
)


def _numbered_heading(sents: list[Sentence], i: int) -> bool:
    """A short numbered line without a comma that opens a paragraph: "（六）优化网上办税缴费平台。" names a
    topic, the answer follows it. A short item followed by the next item ("（一）身份证原件。") is a list."""
    text = _NOTE.sub("", sents[i].text)
    m = _LIST_ITEM.match(text)
    if not m or len(text) - m.end() > 24 or any(ch in text[m.end() :] for ch in "，,；;"):
        return False
    return i + 1 >= len(sents) or not _LIST_ITEM.match(sents[i + 1].text)


# Province-level regions, by the short names that documents and questions use (山东 of 山东省, 内蒙古 …).
_REGION = re.compile(
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|贵州|"
    "云南|陕西|甘肃|青海|内蒙古|广西|西藏|宁夏|新疆|香港|澳门|台湾"
)


# A note closing the previous paragraph that the sentence splitter left in front of a heading:
# "（责任单位：市财政局、各区政府） 7.加强医疗费用保障。"
_NOTE = re.compile(r"^\s*[（(][^（）()]{0,40}[：:][^（）()]{0,60}[）)]\s*")


@dataclass
class Candidate:
    """One usable sentence of one passage, with the features that say whether it answers."""

    passage: Passage
    index: int
    score: float
    features: dict[str, float]

    @property
    def sentence(self) -> Sentence:
        return self.passage.sentences[self.index]

    @property
    def doc_range(self) -> tuple[str, int, int]:
        s = self.sentence
        return (
            self.passage.hit.citation.document_id,
            self.passage.doc_start + s.start,
            self.passage.doc_start + s.end,
        )


def _pairs(info: QuestionInfo, grams: frozenset[str]) -> float:
    return len(info.bigrams & grams) / len(info.bigrams) if info.bigrams else 0.0


def _local_weights(items: list[str], texts: list[str], info: QuestionInfo | None = None) -> dict[str, float]:
    """IDF of each item over the candidate sentences (times the word's weight in the base, for words)."""
    if not items or not texts:
        return {}
    n = len(texts)
    base = {t.text: t.weight for t in info.terms} if info is not None else {}
    out = {}
    for it in items:
        df = sum(1 for t in texts if it in t)
        out[it] = math.log(1 + (n - df + 0.5) / (df + 0.5)) * base.get(it, 1.0)
    return out


def _weighted_share(weights: dict[str, float], text: str) -> float:
    total = sum(weights.values())
    return sum(w for it, w in weights.items() if it in text) / total if total else 0.0


def sentence_candidates(
    info: QuestionInfo,
    passages: list[Passage],
    weights: dict[str, float] | None = None,
    use_dense: bool = False,
) -> list[Candidate]:
    """Every usable sentence of the passages with its features and score (unsorted)."""
    weights = SENTENCE_WEIGHTS if weights is None else weights
    active = [(k, w) for k in SENTENCE_FEATURES if (w := weights.get(k, 0.0))]
    core_len = max(1, sum(len(r) for r in info.core))
    top_lexical = max((p.hit.lexical_score or 0.0 for p in passages), default=0.0) or 1.0
    out: list[Candidate] = []
    # What tells the sentences of the retrieved passages apart: a question word that every one of them
    # contains (the topic named in a title) weighs little here, a word few of them contain weighs more.
    pool = [s for p in passages for s in p.sentences if s.usable]
    term_w = _local_weights([t.text for t in info.terms], [s.norm for s in pool], info)
    gram_w = _local_weights(sorted(info.bigrams), [s.norm for s in pool])
    docs_of: dict[str, set[str]] = {}
    for p in passages:
        for s in p.sentences:
            docs_of.setdefault(s.norm, set()).add(p.hit.citation.document_id)
    echo_count = {k: len(v) for k, v in docs_of.items()}
    asked_regions = set(_REGION.findall(info.text))
    for p in passages:
        sents = p.sentences
        n = len(sents)
        base = {
            "passage": p.coverage,
            "passage_bigrams": p.bigrams,
            "document": p.document,
            "topic": p.topic,
            "rank": 1.0 / (1.0 + p.rank),
            "lexical": (p.hit.lexical_score or 0.0) / top_lexical,
            "dense": dense_value(p.hit) if use_dense else 0.0,
        }
        title = normalize(p.hit.citation.title or "")
        title_regions = set(_REGION.findall(p.hit.citation.title or ""))
        words = [coverage(info, s.norm) for s in sents]
        pairs = [_pairs(info, s.grams) for s in sents]
        headings = [_numbered_heading(sents, i) for i in range(n)]
        novel = [len(s.grams - info.bigrams) for s in sents]  # character pairs beyond the question's
        for i, s in enumerate(sents):
            if not s.usable:
                continue
            prev = sents[i - 1] if i > 0 else None
            f = dict(base)
            f["words"] = words[i]
            f["bigrams"] = pairs[i]
            f["phrase"] = min(1.0, s.phrase / core_len)
            f["cue"] = _cue(info, s.text)
            f["unit"] = float(bool(info.unit) and bool(_unit_pattern(info.unit).search(s.text)))
            f["after_question"] = float(prev is not None and prev.text.endswith(_QUESTION_END))
            # The sentence before often names the topic and this one the answer ("……如下：" + the list).
            f["prev_words"] = words[i - 1] if prev is not None else 0.0
            f["prev_bigrams"] = pairs[i - 1] if prev is not None else 0.0
            f["next_words"] = words[i + 1] if i + 1 < n else 0.0
            f["intro"] = float(prev is not None and prev.text.rstrip().endswith(("：", ":")))
            f["length"] = min(len(s.text), 300) / 100
            f["short"] = float(len(s.text) < 12)
            f["list_item"] = float(bool(_LIST_ITEM.match(s.text)))
            # With the sentence before: the topic is often named there and only referred to here (该贷款).
            pair = (prev.norm if prev is not None else "") + s.norm
            f["pair_words"] = coverage(info, pair)
            f["pair_bigrams"] = _pairs(info, s.grams | (prev.grams if prev is not None else frozenset()))
            f["local_words"] = _weighted_share(term_w, s.norm)
            f["local_bigrams"] = _weighted_share(gram_w, s.norm)
            f["heading"] = float(headings[i])
            f["after_heading"] = (
                words[i - 1] if prev is not None and (not prev.usable or headings[i - 1]) else 0.0
            )
            f["title"] = float(len(title) >= 6 and title in s.norm)
            f["novel"] = min(novel[i], 40) / 20
            f["lead"] = float(p.doc_start + s.start < 80)
            f["echoes"] = min(echo_count.get(s.norm, 1) - 1, 3) / 3
            # The sentence before says little beyond the question's own character pairs: it restates the
            # question ("在援企稳岗方面……措施如下：", a restated heading), the answer is this one.
            restating = prev is not None and prev.usable and novel[i - 1] <= RESTATE_NOVEL
            f["after_restate"] = words[i - 1] if restating else 0.0
            # The question asks about one region, the sentence (or its document) speaks of others only.
            named = title_regions | set(_REGION.findall(s.text)) if asked_regions else set()
            f["other_region"] = float(bool(named) and not named & asked_regions)
            score = sum(w * f[k] for k, w in active)
            out.append(Candidate(p, i, score, f))
    return out


def _same_statement(a: Sentence, b: Sentence) -> bool:
    """Whether two sentences say the same thing (a notice and its reprint): most character pairs shared."""
    if not a.grams or not b.grams:
        return False
    return len(a.grams & b.grams) / min(len(a.grams), len(b.grams)) >= SAME_TEXT


def _duplicate(c: Candidate, chosen: list[Candidate]) -> bool:
    """The same sentence already chosen: chunks overlap, so one document yields it more than once."""
    doc, s, e = c.doc_range
    for o in chosen:
        od, os_, oe = o.doc_range
        if doc == od and (s < oe and os_ < e or _same_statement(c.sentence, o.sentence)):
            return True
    return False


def choose_sentences(ranked: list[Candidate]) -> list[Candidate]:
    """The best sentence, and up to MAX_SENTENCES - 1 more that score within SENTENCE_MARGIN of it."""
    chosen: list[Candidate] = []
    for c in ranked:
        if chosen and c.score < chosen[0].score - SENTENCE_MARGIN:
            break
        if not _duplicate(c, chosen):
            chosen.append(c)
            if len(chosen) == MAX_SENTENCES:
                break
    return chosen


def _locate(c: Candidate, passages: list[Passage]) -> tuple[Passage, int]:
    """The sentence in the first of `passages` (same document) that holds it, else where it was found."""
    doc, s, e = c.doc_range
    for p in passages:
        if p.hit.citation.document_id != doc:
            continue
        for i, sent in enumerate(p.sentences):
            if p.doc_start + sent.start == s and p.doc_start + sent.end == e:
                return p, i
    return c.passage, c.index


def _window(info: QuestionInfo, passage: Passage, first: int, last: int, score: float) -> Window:
    sents = passage.sentences[first : last + 1]
    grams = frozenset().union(*(s.grams for s in sents))
    norm = "".join(s.norm for s in sents)
    f = {"words": coverage(info, norm), "bigrams": _pairs(info, grams)}
    return Window(passage, first, last, score, f["words"], _cue(info, "".join(s.text for s in sents)), f)


def group_windows(info: QuestionInfo, chosen: list[Candidate]) -> list[Window]:
    """Chosen sentences as cited windows: adjacent sentences of one passage read as one quotation.

    Windows come in the order of their best sentence; inside a window the sentences keep document order.
    """
    placed: dict[int, list[tuple[int, float]]] = {}  # passage rank → (sentence index, score)
    passages: dict[int, Passage] = {}
    order: list[int] = []
    for c in chosen:
        p, i = _locate(c, list(passages.values()))
        if p.rank not in passages:
            passages[p.rank] = p
            order.append(p.rank)
        placed.setdefault(p.rank, []).append((i, c.score))
    windows: list[Window] = []
    for rank in order:
        items = sorted(placed[rank])
        run = [items[0]]
        for item in items[1:]:
            if item[0] == run[-1][0] + 1:
                run.append(item)
                continue
            windows.append(_window(info, passages[rank], run[0][0], run[-1][0], max(x[1] for x in run)))
            run = [item]
        windows.append(_window(info, passages[rank], run[0][0], run[-1][0], max(x[1] for x in run)))
    windows.sort(key=lambda w: -w.score)
    return windows


def _echoes(
    info: QuestionInfo, windows: list[Window], ranked: list[Candidate], chosen: list[Candidate]
) -> list[Window]:
    """The chosen statements found in other documents (reprints), cited as further sources."""
    docs = {c.passage.hit.citation.document_id for c in chosen}
    out: list[Window] = []
    for s in (s for w in windows for s in w.sentences):
        for c in ranked:
            doc = c.passage.hit.citation.document_id
            if doc in docs or not _same_statement(s, c.sentence):
                continue
            w = _window(info, c.passage, c.index, c.index, c.score)
            w.echo = True
            out.append(w)
            docs.add(doc)
            if len(out) == MAX_ECHOES:
                return out
    return out


def extract(
    info: QuestionInfo, hits: list[SearchHit], use_dense: bool = False, leads: dict[str, str] | None = None
) -> Extraction:
    """Score the sentences of the top passages and choose what to highlight.

    The best sentences (at most MAX_SENTENCES, within SENTENCE_MARGIN of the best) are the answer;
    adjacent ones of one passage form one quotation. The first quotation's statement found in another
    document (a notice and its reprint) is cited with it as a further source.
    """
    passages = build_passages(info, hits, leads=leads)
    result = Extraction(passages)
    ranked = sentence_candidates(info, passages, HYBRID_SENTENCE_WEIGHTS if use_dense else None, use_dense)
    if not ranked:
        return result
    ranked.sort(key=lambda c: -c.score)
    result.candidates = ranked
    for c in ranked:
        if c.passage.rank not in result.best_by_passage:
            result.best_by_passage[c.passage.rank] = _window(info, c.passage, c.index, c.index, c.score)
    chosen = choose_sentences(ranked)
    windows = group_windows(info, chosen)
    result.windows = windows + _echoes(info, windows, ranked, chosen)
    return result


# ---- answer text -------------------------------------------------------------------------------


def heading_label(heading_path: str) -> str:
    """The innermost heading in a citable form: "第四条", or a section name without its numbering."""
    if not heading_path:
        return ""
    last = heading_path.split(">")[-1].strip()
    m = _ARTICLE.match(last)
    if m:
        return m.group(0)
    return _NUMBERING.sub("", last).strip("。.：: ")


def source_phrase(w: Window) -> str:
    c = w.passage.hit.citation
    number = f"（{c.doc_number}）" if c.doc_number else ""
    label = heading_label(c.heading_path)
    if not label:
        return f"《{c.title}》{number}"
    if _ARTICLE.match(label):
        return f"《{c.title}》{number}{label}"
    return f"《{c.title}》{number}“{label}”部分"


def display_text(w: Window) -> str:
    """The window's sentences as shown in the answer: no leading 第X条 label (the source names it)."""
    text = "".join(s.text for s in w.sentences).strip()
    label = heading_label(w.passage.hit.citation.heading_path)
    if label and _ARTICLE.match(label) and text.startswith(label):
        text = text[len(label) :].lstrip()  # str.lstrip() also takes the ideographic space
    text = re.sub(r"\s*\n\s*", "", text)
    if text and text[-1] not in "。！？；…”’）)":
        text += "。"
    return text


def compose(windows: list[Window]) -> str:
    """'根据《标题》（文号）第X条：……[1]'; the same statement in another document adds its number
    ('……[1][2]'), and a further passage follows as '此外，《标题》规定：……[3]'."""
    parts: list[str] = []
    first_doc = windows[0].passage.hit.citation.document_id if windows else ""
    echoes = "".join(f"[{n}]" for n, w in enumerate(windows, 1) if w.echo)
    for n, w in enumerate(windows, 1):
        if w.echo:
            continue
        body = display_text(w)
        if n == 1:
            parts.append(f"根据{source_phrase(w)}：{body}[{n}]{echoes}")
        elif w.passage.hit.citation.document_id == first_doc:
            label = heading_label(w.passage.hit.citation.heading_path)
            where = f"同一文件{label}" if _ARTICLE.match(label) else "同一文件"
            parts.append(f"{where}还规定：{body}[{n}]")
        else:
            parts.append(f"此外，{source_phrase(w)}规定：{body}[{n}]")
    return "\n".join(parts)
