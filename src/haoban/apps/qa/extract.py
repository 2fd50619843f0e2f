"""Extractive answers: pick the sentences of the retrieved passages that answer the question.

Every window of 1–3 contiguous sentences in the top passages is described by a few numbers and scored
by a weighted sum of them (`LEXICAL_WEIGHTS`, or `HYBRID_WEIGHTS` when vectors are ready):
- words: share of the question's content words in the window, rare words weighing more (question.py);
- bigrams / phrase: share of the question's character pairs in the window, and the longest piece of
  the question found there verbatim (robust to word segmentation: questions often copy a phrase of
  the sentence that answers them);
- passage / passage_bigrams / document / topic: the question's words and character pairs in the whole
  passage with its title, heading path and the heading line just before it, the best such passage of
  the same document, and whether the question's weightiest topic word is there at all (the answer
  often does not repeat what its heading or title names);
- rank, lexical, dense: the passage's place in the fused ranking, its BM25 score relative to the best,
  and its E5 cosine, standardised (zero weight without vectors);
- cue / unit: the window holds what the question type asks for (a number for 多少, a date for 什么时候,
  a list for 哪些, documents for 材料, 应当/符合/具备 for 条件 …), and a count in the asked unit (几天 → 7天);
- after_question: the sentence before the window is a question (FAQ-style documents answer right after);
- two / three, length: the window's size (more sentences must earn their place).
The weights were fitted on the public policyqa questions (a softmax over each question's windows, the
windows containing the gold answer as targets; fits on either half score the other half within a point
of the full fit), then adjusted by hand where noted. Chunks overlap, so windows are compared by their
span in the document and the same text is never cited twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from haoban.apps.qa.question import QuestionInfo, bigrams_of, coverage, longest_common, match_score
from haoban.knowledge.schemas import SearchHit
from haoban.safety.injection import looks_like_injection
from haoban.text.normalize import normalize
from haoban.text.sentences import split_sentences

MAX_PASSAGES = 12  # passages whose sentences are considered
MAX_WINDOW = 3  # sentences in one cited window
MAX_WINDOW_CHARS = 400  # a window longer than this is only allowed as a single sentence
SECOND_MARGIN = 1.5  # a second passage is cited when its best window scores within this of the first
SAME_TEXT = 0.8  # share of character pairs two windows must have in common to count as one statement

FEATURES = (
    "words", "bigrams", "phrase", "passage", "passage_bigrams", "document", "topic",
    "rank", "lexical", "dense", "cue", "unit", "after_question", "two", "three", "length",
)  # fmt: skip
# Fitted on policyqa with keyword retrieval only, and with hybrid retrieval (vectors for every passage),
# then three adjustments for robustness on short citizen questions, each costing < 1 point of span hits
# on policyqa: `topic` raised to 1.0, the (learnt, negative) `lexical` weight halved, `three` lowered
# (a third sentence must earn its place).
LEXICAL_WEIGHTS: dict[str, float] = {
    "words": 1.7, "bigrams": 4.1, "phrase": 3.3, "passage": 1.15, "passage_bigrams": 3.4, "document": 5.7,
    "topic": 1.0, "rank": 0.45, "lexical": -0.5, "dense": 0.0, "cue": 1.3, "unit": 2.0, "after_question": 1.8,
    "two": -0.3, "three": 0.6, "length": -0.13,
}  # fmt: skip
HYBRID_WEIGHTS: dict[str, float] = {
    "words": 2.0, "bigrams": 4.2, "phrase": 3.3, "passage": 0.3, "passage_bigrams": 2.7, "document": 6.0,
    "topic": 1.0, "rank": 0.7, "lexical": -1.0, "dense": 1.1, "cue": 1.4, "unit": 2.0, "after_question": 1.7,
    "two": -0.5, "three": 0.6, "length": -0.1,
}  # fmt: skip
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
    "condition": re.compile(r"应当|符合|具备|满足|须|需|必须|条件|不得|方可|具有|持有|年满"),
    "how": re.compile(r"可以|可通过|通过|向|到|办理|提交|申请|登录|拨打|前往|采取|实行|实施|推行|开展"),
    "where": re.compile(
        r"窗口|中心|大厅|地点|派出所|网站|网上|平台|地址|所在地|居住地|app|小程序|热线|医院|机构"
    ),
    "who": re.compile(r"部门|机关|单位|机构|委员会|政府|局|厅|负责|牵头|由"),
    "why": re.compile(r"为了|旨在|目的|以便|为.*[，,]"),
    "yesno": re.compile(r"可以|不得|应当|允许|禁止|不予|予以|免征|免收|暂停|不再"),
    "material": re.compile(r"提交|提供|携带|出具|原件|复印件|证明|证书|证件|身份证|材料|申请表"),
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
        """Highlight spans in the passage, one per sentence."""
        return [(s.start, s.end) for s in self.sentences]

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
    candidates: list[Window] = field(default_factory=list)  # every scored window, best first


def _is_heading(text: str) -> bool:
    """A line without sentence punctuation that is short: a title or heading, not an answer."""
    return len(text) <= 40 and text[-1] not in _TERMINAL


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
                not _is_heading(raw) and not raw.endswith(_QUESTION_END) and not looks_like_injection(raw)
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


def window_features(info: QuestionInfo, passages: list[Passage], use_dense: bool) -> list[Window]:
    """Every window of every passage with its features and score (unsorted)."""
    out: list[Window] = []
    weights = HYBRID_WEIGHTS if use_dense else LEXICAL_WEIGHTS
    core_len = max(1, sum(len(r) for r in info.core))
    top_lexical = max((p.hit.lexical_score or 0.0 for p in passages), default=0.0) or 1.0
    for p in passages:
        n = len(p.sentences)
        base = {
            "passage": p.coverage,
            "passage_bigrams": p.bigrams,
            "document": p.document,
            "topic": p.topic,
            "rank": 1.0 / (1.0 + p.rank),
            "lexical": (p.hit.lexical_score or 0.0) / top_lexical,
            "dense": dense_value(p.hit) if use_dense else 0.0,
        }
        for i in range(n):
            if not p.sentences[i].usable:
                continue
            after_q = float(i > 0 and p.sentences[i - 1].text.endswith(_QUESTION_END))
            chars = 0
            for j in range(i, min(n, i + MAX_WINDOW)):
                sent = p.sentences[j]
                if not sent.usable:
                    break
                chars += len(sent.text)
                if j > i and chars > MAX_WINDOW_CHARS:
                    break
                sents = p.sentences[i : j + 1]
                norm = "".join(s.norm for s in sents)
                raw = "".join(s.text for s in sents)
                f = dict(base)
                f["words"] = coverage(info, norm)
                grams = frozenset().union(*(s.grams for s in sents))
                f["bigrams"] = len(info.bigrams & grams) / len(info.bigrams) if info.bigrams else 0.0
                f["phrase"] = min(1.0, max(s.phrase for s in sents) / core_len)
                f["cue"] = _cue(info, raw)
                f["unit"] = float(bool(info.unit) and bool(_unit_pattern(info.unit).search(raw)))
                f["after_question"] = after_q
                f["two"] = float(j - i == 1)
                f["three"] = float(j - i >= 2)
                f["length"] = chars / 100
                score = sum(weights[k] * f[k] for k in FEATURES)
                out.append(Window(p, i, j, score, f["words"], f["cue"], f))
    return out


def _overlaps(a: Window, b: Window) -> bool:
    da, sa, ea = a.doc_range
    db, sb, eb = b.doc_range
    return da == db and sa < eb and sb < ea


def _same_text(a: Window, b: Window) -> bool:
    """Whether two windows say the same thing (a notice and its reprint): most character pairs shared."""
    ga = frozenset().union(*(s.grams for s in a.sentences))
    gb = frozenset().union(*(s.grams for s in b.sentences))
    if not ga or not gb:
        return False
    return len(ga & gb) / min(len(ga), len(gb)) >= SAME_TEXT


def extract(
    info: QuestionInfo, hits: list[SearchHit], use_dense: bool = False, leads: dict[str, str] | None = None
) -> Extraction:
    """Score the windows of the top passages and choose what to cite.

    The best window is the answer. The same statement found in another document (a notice and its
    reprint, a policy and its explainer) is cited with it as a second source, and the best window of
    another passage that scores within SECOND_MARGIN adds to the answer.
    """
    passages = build_passages(info, hits, leads=leads)
    result = Extraction(passages)
    candidates = window_features(info, passages, use_dense)
    if not candidates:
        return result
    candidates.sort(key=lambda w: -w.score)
    result.candidates = candidates
    for w in candidates:
        result.best_by_passage.setdefault(w.passage.rank, w)
    first = candidates[0]
    result.windows.append(first)
    echo = next(
        (
            w
            for w in candidates[1:]
            # (the same text covers the same words: that cheap test goes before the comparison)
            if w.passage.hit.citation.document_id != first.passage.hit.citation.document_id
            and abs(w.coverage - first.coverage) < 0.15
            and _same_text(w, first)
        ),
        None,
    )
    if echo is not None:
        echo.echo = True
        result.windows.append(echo)
    for w in candidates[1:]:
        if w.score < first.score - SECOND_MARGIN:
            break
        if (
            w.passage.rank != first.passage.rank
            and w.coverage > 0
            and not any(_overlaps(w, c) or _same_text(w, c) for c in result.windows)
        ):
            result.windows.append(w)
            break
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
