"""智能审核基准：干净原文上的误报率，以及注入已知错误后的检出率。

数据：默认 ../shared/data/govdocs_statecouncil_govcn/data.jsonl —— 60 篇国务院及国务院办公厅公文（1981—2019 年），
2019 年 2 月抓取自中国政府网 www.gov.cn/zhengce（见该目录 SOURCE.txt）。依《著作权法》第五条，国家机关的
决议、决定、命令和其他具有立法、行政、司法性质的文件不受著作权保护。每行一个 JSON 对象，用 `text` 字段。

两项测量：
1. 误报：对 60 篇原文逐篇审核（含离线错别字模型，`--no-typo` 可去掉以加快），原文上的每一条问题都计为误报，
   报告每万字误报数（全部问题，以及只算“错误”和“警告”、不算“提示”的数）和误报最多的规则。网页文本本来就没有版记和版头，缺少可选要素的规则本来就不会报。
2. 检出率：错误生成器（下面的 INJECTORS）对原文的副本逐份注入一处已知类型的错误，记下注入位置。
   审核这份副本，若有一条“对应规则”的问题与注入位置重叠，就算检出。报告各错误类型和总体的检出率。
   每份副本只注入一处错误，以便归因；同一篇原文可以产生多种错误类型的副本。

    .venv/bin/python benchmarks/review.py                       # 全部，写 benchmarks/results/review.json
    .venv/bin/python benchmarks/review.py --per-type 10 --out /tmp/r.json   # 快速自检

进度写到 stderr；stdout 最后一行是结果 JSON。
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from haoban.apps.gongwen.document import Gongwen, parse_text  # noqa: E402
from haoban.apps.gongwen.review import review  # noqa: E402
from haoban.apps.gongwen.review.numbers import find_dates  # noqa: E402
from haoban.apps.gongwen.review.rules_format import classify_heading  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "govdocs_statecouncil_govcn" / "data.jsonl"
CN_DIGIT = "〇一二三四五六七八九"


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


@dataclass
class Injected:
    text: str
    start: int  # the span of the error in the new text (end exclusive; widened to ≥ 1 character)
    end: int
    detail: str


def splice(text: str, start: int, end: int, new: str, span: tuple[int, int] | None = None) -> Injected:
    """Replace text[start:end] by new; the error span defaults to the new text (at least one character)."""
    out = text[:start] + new + text[end:]
    s, e = span if span else (start, start + len(new))
    if e <= s:
        e = s + 1
    return Injected(out, s, e, f"{text[start:end]!r} → {new!r}")


# --- the error generator: each injector returns one Injected or None when the document has no place for it ----


def cn_date(y: int, m: int, d: int) -> str:
    def small(n: int) -> str:
        if n < 10:
            return CN_DIGIT[n]
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else CN_DIGIT[tens]) + "十" + (CN_DIGIT[ones] if ones else "")

    return "".join(CN_DIGIT[int(c)] for c in str(y)) + f"年{small(m)}月{small(d)}日"


def own_number(doc: Gongwen) -> re.Match[str] | None:
    if doc.doc_number is None or doc.doc_number.start < 0:
        return None
    return re.search(r"〔(\d{4})〕(\d+)号", doc.doc_number.text)


def inj_doc_number_bracket(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    m = own_number(doc)
    if m is None:
        return None
    lb, rb = rng.choice([("[", "]"), ("(", ")"), ("【", "】"), ("（", "）"), ("［", "］")])
    s = doc.doc_number.start + m.start()
    return splice(text, s, s + len(m.group()), f"{lb}{m[1]}{rb}{m[2]}号")


def inj_doc_number_zero(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    m = own_number(doc)
    if m is None or len(m[2]) > 2:
        return None
    s = doc.doc_number.start + m.start()
    return splice(text, s, s + len(m.group()), f"〔{m[1]}〕{m[2].zfill(3)}号")


def inj_doc_number_di(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    m = own_number(doc)
    if m is None:
        return None
    s = doc.doc_number.start + m.start()
    return splice(text, s, s + len(m.group()), f"〔{m[1]}〕第{m[2]}号")


def inj_date_leading_zero(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    hits = [h for h in find_dates(text) if not h.chinese and (h.month < 10 or h.day < 10)]
    if doc.date is not None:
        own = [h for h in hits if doc.date.start <= h.start < doc.date.end]
        hits = own or hits
    if not hits:
        return None
    h = hits[0] if doc.date is not None and hits[0].start >= doc.date.start else rng.choice(hits)
    return splice(text, h.start, h.end, f"{h.year}年{h.month:02d}月{h.day:02d}日")


def inj_date_chinese(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    if doc.date is None or doc.date.start < 0:
        return None
    hits = [h for h in find_dates(text) if doc.date.start <= h.start < doc.date.end and not h.chinese]
    if not hits or hits[0].year < 2013:
        return None  # before GB/T 9704-2012 Chinese numerals were the rule
    h = hits[0]
    return splice(text, h.start, h.end, cn_date(h.year, h.month, h.day))


def headings(doc: Gongwen) -> list[tuple[int, str, int, int]]:
    """(level, label, start, index in body) of the main text's headings."""
    out = []
    for k, p in enumerate(doc.body):
        got = classify_heading(p.text)
        if got and p.start >= 0:
            out.append((got[0], got[1].group(), p.start, k))
    return out


def inj_heading_skip(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    """The first （一） under a 一、 becomes （1）: level 1 straight to level 4."""
    hs = headings(doc)
    spots = [(b, i) for i, (a, b) in enumerate(zip(hs, hs[1:], strict=False)) if a[0] == 1 and b[0] == 2]
    if not spots:
        spots = [(b, i) for i, (a, b) in enumerate(zip(hs, hs[1:], strict=False)) if a[0] == 1 and b[0] == 3]
        if not spots:
            return None
    (level, label, start, _), _ = rng.choice(spots)
    return splice(text, start, start + len(label), "（1）")


def inj_numbering_gap(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    """一、二、三、 → 一、三、三、: a heading (not the last of its run) gets the next number."""
    hs = headings(doc)
    spots = [i for i in range(len(hs) - 1) if hs[i][0] in (1, 3) and hs[i + 1][0] == hs[i][0]]
    if not spots:
        return None
    level, label, start, _ = hs[rng.choice(spots)]
    if level == 1:
        n = "一二三四五六七八九十".find(label[0]) + 1
        if len(label) != 2 or n >= 9:
            return None
        new = "一二三四五六七八九十"[n] + "、"
    else:
        new = f"{int(label[:-1]) + 1}."
    return splice(text, start, start + len(label), new)


def inj_heading_label(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    """1. → 1、 ; （一） → （一）、 ; 一、 → 一."""
    hs = [h for h in headings(doc) if h[0] in (1, 2, 3)]
    if not hs:
        return None
    level, label, start, _ = rng.choice(hs)
    new = {1: label[:-1] + ".", 2: label + "、", 3: label[:-1] + "、"}[level]
    return splice(text, start, start + len(label), new)


def body_range(doc: Gongwen) -> tuple[int, int] | None:
    paras = [p for p in doc.body if p.start >= 0 and p.level == 0 and len(p.text) > 30]
    if not paras:
        return None
    return paras[0].start, paras[-1].end


def inj_halfwidth(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    rng_body = body_range(doc)
    if rng_body is None:
        return None
    s, e = rng_body
    choice = rng.choice(["，", "；", "：", "（"])
    if choice == "（":
        spots = [m for m in re.finditer(r"（([^（）\n]{1,30})）", text[s:e])]
        if not spots:
            choice = "，"
        else:
            m = rng.choice(spots)
            return splice(text, s + m.start(), s + m.end(), f"({m[1]})")
    spots = [i for i in range(s, e) if text[i] == choice]
    if not spots:
        spots = [i for i in range(s, e) if text[i] == "，"]
        choice = "，"
    if not spots:
        return None
    i = rng.choice(spots)
    return splice(text, i, i + 1, {"，": ",", "；": ";", "：": ":"}[choice])


def inj_unpaired(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    """Drop the closing mark of a “…” or 《…》 or （…） in the body; the span is the orphaned opener."""
    rng_body = body_range(doc)
    if rng_body is None:
        return None
    s, e = rng_body
    spots = list(re.finditer(r"(“)[^“”\n]{1,40}(”)|(《)[^《》\n]{1,60}(》)|(（)[^（）\n]{1,40}(）)", text[s:e]))
    if not spots:
        return None
    m = rng.choice(spots)
    opener = next(g for g in (1, 3, 5) if m.group(g))
    closer_at = s + m.start(opener + 1)
    out = text[:closer_at] + text[closer_at + 1 :]
    return Injected(out, s + m.start(opener), s + m.start(opener) + 1, f"删去{m.group(opener + 1)}")


CITE = re.compile(r"(根据|按照|依据|依照|贯彻落实|落实|贯彻|执行)《([^《》\n]{0,20}关于[^《》\n]{2,60}的(?:通知|意见|决定|批复|办法|规定))》")


def inj_book_title(text: str, doc: Gongwen, rng: random.Random, titles: list[str] = []) -> Injected | None:  # noqa: B006
    rng_body = body_range(doc)
    if rng_body is None:
        return None
    s, e = rng_body
    spots = list(CITE.finditer(text, s, e))
    if spots:
        m = rng.choice(spots)
        return splice(text, m.start(2) - 1, m.end(2) + 1, m[2])
    # No citation to strip: cite another document of the corpus without 书名号 at a paragraph start.
    others = [t for t in titles if "关于" in t and re.search(r"的(?:通知|意见|决定)$", t) and len(t) < 60]
    paras = [p for p in doc.body if p.start >= 0 and p.level == 0 and len(p.text) > 30]
    if not others or not paras:
        return None
    p = rng.choice(paras)
    cited = rng.choice(others)
    verb = rng.choice(["根据", "按照", "贯彻落实"])
    new = f"{verb}{cited}要求，"
    return splice(text, p.start, p.start, new, (p.start + len(verb), p.start + len(verb) + len(cited)))


ADVERBS = ["认真", "积极", "切实", "扎实", "深入", "全面", "坚决", "大力", "主动", "及时", "严格", "稳步", "有序", "不断", "逐步"]
VERBS = ["落实", "推进", "开展", "贯彻", "加强", "推动", "实施", "执行", "做好", "抓好", "解决", "组织", "履行", "完善"]


def inj_de_di_de(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    rng_body = body_range(doc)
    if rng_body is None:
        return None
    s, e = rng_body
    di = list(re.finditer(rf"({'|'.join(ADVERBS)})地({'|'.join(VERBS)})", text[s:e]))
    de = list(re.finditer(r"(做|抓|落实|完成|推进|执行|开展)得(很好|较好|扎实|到位|不够|有力|及时)", text[s:e]))
    adj = list(re.finditer(rf"(?<=[，。；、要])({'|'.join(ADVERBS)})({'|'.join(VERBS)})(?=[\u4e00-\u9fff]{{2}})", text[s:e]))
    options = [("di", m) for m in di] + [("de", m) for m in de] + [("adj", m) for m in adj]
    if not options:
        return None
    kind, m = rng.choice(options)
    if kind in ("di", "de"):
        at = s + m.end(1)
        return splice(text, at, at + 1, "的")
    at = s + m.end(1)
    return splice(text, at, at, "的", (at, at + 1))


def inj_de_di_de_open(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    """Harder, not drawn from the rule's own word lists: any adverb + verb pair jieba tags in the text
    (d/ad + v, e.g. "进一步完善" → "进一步的完善") gets a 的 between them."""
    import jieba.posseg as pseg

    paras = [p for p in doc.body if p.start >= 0 and p.level == 0 and len(p.text) > 30][:12]
    spots = []
    for p in paras:
        at = p.start
        words = list(pseg.cut(p.text))
        for a, b in zip(words, words[1:], strict=False):
            if a.flag in ("d", "ad") and len(a.word) >= 2 and b.flag == "v" and len(b.word) >= 2:
                spots.append(at + len(a.word))
            at += len(a.word)
    if not spots:
        return None
    at = rng.choice(spots)
    return splice(text, at, at, "的", (at, at + 1))


# Correct form in the clean text → the misuse the list should catch.
MISUSES: list[tuple[str, str, Callable[[re.Match[str]], str]]] = [
    ("截至", r"截至(?=\d{4}年|目前|\d{1,2}月)", lambda m: "截止"),
    ("其他", r"其他", lambda m: "其它"),
    ("部署", r"部署", lambda m: "布署"),
    ("贯彻", r"贯彻", lambda m: "灌彻"),
    ("作出", r"作出(?=决定|部署|贡献|规定|安排|批示)", lambda m: "做出"),
    ("一律", r"一律", lambda m: "一率"),
    ("签订", r"签订(?=合同|协议)", lambda m: "签定"),
    ("必须", r"必须(?=严格|认真|坚持|遵守|按照|加强|做好|落实|确保|依法)", lambda m: "必需"),
    ("启用", r"启用(?=新|印章|系统|平台)", lambda m: "起用"),
    ("账", r"账(?=户|号|目)", lambda m: "帐"),
    ("重叠", r"重叠", lambda m: "重迭"),
    ("书名号", r"》《", lambda m: "》、《"),
]


def inj_wording(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    options = []
    for name, pattern, fix in MISUSES:
        for m in re.finditer(pattern, text):
            if doc.title is not None and doc.title.start <= m.start() < doc.title.end:
                continue
            options.append((name, m, fix))
    if not options:
        return None
    name, m, fix = rng.choice(options)
    new = fix(m)
    if name == "书名号":
        return splice(text, m.start(), m.end(), new, (m.start() + 1, m.start() + 2))
    return splice(text, m.start(), m.end(), new)


STATUTORY = r"(?:决议|决定|命令|令|公报|公告|通告|意见|通知|通报|报告|请示|批复|议案|复函|函|纪要|答复)$"


def inj_title_no_type(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    if doc.title is None or doc.title.start < 0:
        return None
    raw = text[doc.title.start : doc.title.end]
    m = re.search("的" + STATUTORY, raw)
    if not m:
        return None
    s = doc.title.start + m.start()
    return splice(text, s, doc.title.start + m.end(), "", (s - 2, s))


def inj_title_punct(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    if doc.title is None or doc.title.start < 0:
        return None
    return splice(text, doc.title.end, doc.title.end, "。", (doc.title.end, doc.title.end + 1))


def _retype(text: str, doc: Gongwen, new_type: str) -> tuple[str, int] | None:
    """The document with its title's 文种 replaced; returns the new text and the shift after the title."""
    if doc.title is None or doc.title.start < 0:
        return None
    raw = text[doc.title.start : doc.title.end]
    m = re.search(STATUTORY, raw)
    if not m:
        return None
    s = doc.title.start + m.start()
    new = text[:s] + new_type + text[doc.title.start + m.end() :]
    return new, len(new_type) - len(m.group())


def inj_request_ending(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    """The document re-titled as a 请示 with no request at the end (the ending "removed")."""
    if len(text) > 20000:
        return None
    got = _retype(text, doc, "请示")
    if got is None:
        return None
    new, shift = got
    body = [p for p in doc.body if p.start >= 0]
    if not body:
        return None
    last = body[-1]
    return Injected(new, last.start + shift, last.end + shift, "标题改为请示，正文无请求语")


def inj_report_request(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    """The document re-titled as a 报告, with "以上报告，请批准。" added at the end of the text."""
    if len(text) > 20000:
        return None
    got = _retype(text, doc, "报告")
    if got is None:
        return None
    new, shift = got
    body = [p for p in doc.body if p.start >= 0 and p.level == 0]
    if not body:
        return None
    at = body[-1].end + shift
    phrase = "以上报告，请批准。"
    out = new[:at] + "\n" + phrase + new[at:]
    s = at + 1 + phrase.index("请批准")
    return Injected(out, s, s + 3, "报告中加了请批准")


def inj_attachment(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    """附件说明 that does not match: the text cites one attachment more than the list has, or a note ends with 。"""
    body = [p for p in doc.body if p.start >= 0 and p.level == 0 and p.text.endswith("。")]
    anchor = doc.signatory or doc.date
    if not body or anchor is None or anchor.start < 0:
        return None
    notes = [n for n in doc.attachment_notes if n.start >= 0]
    if notes and rng.random() < 0.5:
        n = notes[-1]
        return splice(text, n.end, n.end, "。", (n.end, n.end + 1))
    p = body[-1]
    if notes:
        k = len(notes) + 1
        ref = f"具体要求见附件{k}。"
        out = text[: p.end] + ref + text[p.end :]
        return Injected(out, p.end + 4, p.end + len(ref) - 1, f"正文引用附件{k}")
    # No list yet: add a one-item list above the signature and cite a second attachment in the text.
    note = "附件：1.有关情况统计表\n"
    ref = "具体要求见附件2。"
    out = text[: p.end] + ref + text[p.end : anchor.start] + note + text[anchor.start :]
    return Injected(out, p.end + 4, p.end + len(ref) - 1, "正文引用附件2，附件说明只有1个")


def inj_weekday(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    hits = [h for h in find_dates(text) if not h.chinese and h.date() is not None]
    if doc.date is not None:
        hits = [h for h in hits if not (doc.date.start <= h.start < doc.date.end)]
    if not hits:
        return None
    h = rng.choice(hits)
    wrong = (h.date().weekday() + rng.randint(1, 6)) % 7
    tag = f"（星期{'一二三四五六日'[wrong]}）"
    out = text[: h.end] + tag + text[h.end :]
    return Injected(out, h.start, h.end + len(tag), "星期与日期不符")


def inj_addressee(text: str, doc: Gongwen, rng: random.Random) -> Injected | None:
    if doc.addressee is None or doc.addressee.start < 0 or doc.title is None or not doc.doc_type:
        return None
    if doc.doc_type not in ("通知", "意见", "通报", "批复", "函"):
        return None
    line_end = text.find("\n", doc.addressee.start)
    line_end = len(text) if line_end < 0 else line_end + 1
    out = text[: doc.addressee.start] + text[line_end:]
    return Injected(out, doc.title.start, doc.title.end, "删去主送机关")


INJECTORS: dict[str, tuple[Callable[..., Injected | None], tuple[str, ...]]] = {
    # type: (injector, rules that count as detecting it)
    "doc_number_bracket": (inj_doc_number_bracket, ("format.doc_number",)),
    "doc_number_leading_zero": (inj_doc_number_zero, ("format.doc_number",)),
    "doc_number_di": (inj_doc_number_di, ("format.doc_number",)),
    "date_leading_zero": (inj_date_leading_zero, ("format.date",)),
    "date_chinese_numerals": (inj_date_chinese, ("format.date",)),
    "heading_level_skip": (inj_heading_skip, ("format.heading.level",)),
    "heading_numbering_gap": (inj_numbering_gap, ("format.heading.sequence",)),
    "heading_label": (inj_heading_label, ("format.heading.label",)),
    "halfwidth_punct": (inj_halfwidth, ("format.punct.halfwidth",)),
    "unpaired_mark": (inj_unpaired, ("format.punct.pairs",)),
    "missing_book_title": (inj_book_title, ("format.punct.book_title",)),
    "de_di_de": (inj_de_di_de, ("wording.de_di_de",)),
    "de_di_de_open": (inj_de_di_de_open, ("wording.de_di_de",)),
    "wording_misuse": (inj_wording, ("wording.usage",)),
    "title_without_type": (inj_title_no_type, ("format.title.doc_type",)),
    "title_end_punct": (inj_title_punct, ("format.title.punctuation",)),
    "request_ending_removed": (inj_request_ending, ("format.doc_type.request_ending",)),
    "report_with_request": (inj_report_request, ("format.doc_type.request_phrase",)),
    "attachment_mismatch": (inj_attachment, ("format.attachment",)),
    "weekday_mismatch": (inj_weekday, ("wording.consistency",)),
    "addressee_missing": (inj_addressee, ("format.addressee",)),
}


def load(path: Path) -> list[dict]:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    rows = []
    for f in files:
        with f.open(encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    return [r for r in rows if r.get("text", "").strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="JSONL 文件或目录（字段 text）")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-type", type=int, default=40, help="每种错误类型最多注入的副本数")
    ap.add_argument("--no-typo", action="store_true", help="不运行错别字模型（wording.typo），快很多")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "review.json")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rules = ["-wording.typo"] if args.no_typo else None
    rows = load(args.data)
    log(f"{len(rows)} 篇原文，来自 {args.data}")

    # 1. clean originals
    t0 = time.perf_counter()
    by_rule: collections.Counter[str] = collections.Counter()
    by_severity: collections.Counter[str] = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)
    chars = 0
    slowest = 0.0
    for k, row in enumerate(rows):
        text = row["text"]
        t1 = time.perf_counter()
        report = review(text, rules=rules)
        slowest = max(slowest, time.perf_counter() - t1)
        chars += len(text)
        for f in report.findings:
            by_rule[f.rule] += 1
            by_severity[f.severity] += 1
            if len(examples[f.rule]) < 3:
                examples[f.rule].append(text[max(0, f.start - 12) : f.end + 12].replace("\n", "⏎"))
        if (k + 1) % 10 == 0:
            log(f"原文 {k + 1}/{len(rows)}")
    clean_s = time.perf_counter() - t0
    total_false = sum(by_rule.values())
    clean = {
        "documents": len(rows),
        "chars": chars,
        "findings": total_false,
        "false_per_10k_chars": round(total_false / chars * 10_000, 3) if chars else 0.0,
        # Errors and warnings only: what a clerk is asked to act on (info findings are hints).
        "false_per_10k_chars_actionable": round((total_false - by_severity["info"]) / chars * 10_000, 3) if chars else 0.0,
        "by_severity": dict(by_severity),
        "top_rules": [{"rule": r, "count": c, "examples": examples[r]} for r, c in by_rule.most_common(10)],
        "seconds": round(clean_s, 2),
        "chars_per_second": round(chars / clean_s) if clean_s else None,
        "slowest_document_seconds": round(slowest, 3),
    }
    log(f"原文误报：{total_false} 条 / {chars} 字 = 每万字 {clean['false_per_10k_chars']}")

    # 2. injected errors
    titles = [parse_text(r["text"]).title.text for r in rows if parse_text(r["text"]).title]
    docs = [(r["text"], parse_text(r["text"])) for r in rows]
    per_type: dict[str, dict] = {}
    misses: dict[str, list[str]] = collections.defaultdict(list)
    total = hit = 0
    for name, (fn, wanted) in INJECTORS.items():
        order = list(range(len(docs)))
        rng.shuffle(order)
        n = detected = 0
        for i in order:
            if n >= args.per_type:
                break
            text, doc = docs[i]
            kwargs = {"titles": titles} if fn is inj_book_title else {}
            inj = fn(text, doc, rng, **kwargs)
            if inj is None:
                continue
            n += 1
            report = review(inj.text, rules=rules)
            ok = any(f.rule in wanted and f.start < inj.end and inj.start < f.end for f in report.findings)
            detected += ok
            if not ok and len(misses[name]) < 3:
                misses[name].append(f"{inj.detail} @ {inj.text[max(0, inj.start - 15) : inj.end + 15]!r}")
        per_type[name] = {"injected": n, "detected": detected, "recall": round(detected / n, 3) if n else None,
                          "rules": list(wanted)}
        total += n
        hit += detected
        log(f"{name}: {detected}/{n}")
    result = {
        "benchmark": "review",
        "data": str(args.data),
        "seed": args.seed,
        "with_typo": not args.no_typo,
        "clean": clean,
        "injected": {"total": total, "detected": hit, "recall": round(hit / total, 3) if total else None,
                     "per_type": per_type, "missed_examples": misses},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    log(f"写入 {args.out}")
    summary = {
        "false_per_10k_chars": clean["false_per_10k_chars"],
        "false_per_10k_chars_actionable": clean["false_per_10k_chars_actionable"],
        "clean_findings": total_false,
        "clean_chars": chars,
        "injected": total,
        "recall": result["injected"]["recall"],
        "recall_per_type": {k: v["recall"] for k, v in per_type.items()},
        "out": str(args.out),
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
