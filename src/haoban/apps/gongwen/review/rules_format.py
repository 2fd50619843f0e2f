"""Format rules: GB/T 9704-2012《党政机关公文格式》, 《党政机关公文处理工作条例》, GB/T 15834-2011《标点符号用法》
and GB/T 15835-2011《出版物上数字用法》.

Each rule is written to stay quiet on well-formed published documents (precision first): where the text
alone cannot tell an error from a legitimate variant, the rule says nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from haoban.apps.gongwen.doctypes import doc_types, type_of_title
from haoban.apps.gongwen.document import Paragraph, Part
from haoban.apps.gongwen.review.base import CJK, CJK_RE, Context, check, define
from haoban.apps.gongwen.review.models import Finding
from haoban.apps.gongwen.review.numbers import ARABIC_SINCE, find_dates

GB9704 = "GB/T 9704-2012《党政机关公文格式》"
TIAOLI = "《党政机关公文处理工作条例》"
GB15834 = "GB/T 15834-2011《标点符号用法》"
GB15835 = "GB/T 15835-2011《出版物上数字用法》"

define("format.title.doc_type", "format", "标题缺少文种或文种不规范", f"{TIAOLI}第八条、第九条")
define("format.title.structure", "format", "标题结构（发文机关＋关于＋事由＋的＋文种）", f"{GB9704} 7.3.1")
define("format.title.punctuation", "format", "标题中的标点", f"{GB9704} 7.3.1")
define("format.doc_type.request_ending", "format", "请示缺少请求语", f"{TIAOLI}第十五条")
define("format.doc_type.request_phrase", "format", "非请示文种中夹带请示事项", f"{TIAOLI}第十五条")
define("format.doc_type.multi_request", "format", "请示一文多事", f"{TIAOLI}第十五条")
define("format.doc_type.reply_source", "format", "批复、复函未引述来文", "公文写作规范")
define("format.doc_number", "format", "发文字号格式", f"{GB9704} 7.2.4")
define("format.date", "format", "日期写法", f"{GB9704} 7.3.5.2、{GB15835}")
define("format.heading.label", "format", "结构层次序数的写法", f"{GB9704} 7.3.3")
define("format.heading.level", "format", "结构层次跳级", f"{GB9704} 7.3.3")
define("format.heading.sequence", "format", "结构层次序数不连续", f"{GB9704} 7.3.3")
define("format.addressee", "format", "缺少主送机关", f"{GB9704} 7.3.2")
define("format.attachment", "format", "附件说明", f"{GB9704} 7.3.4、8.1")
define("format.punct.halfwidth", "format", "中文里的半角标点", GB15834)
define("format.punct.pairs", "format", "成对标点不配对", GB15834)
define("format.punct.book_title", "format", "引用文件名未加书名号", f"{GB15834} 4.15")
define("format.record", "format", "版记（抄送、印发）", f"{GB9704} 7.4")
define("format.signer", "format", "上行文缺少签发人", f"{GB9704} 7.2.5")
define("format.placeholder", "format", "起草时留下的待填写内容", "本系统起草功能的【请填写】占位")

STATUTORY = "决议|决定|命令|令|公报|公告|通告|意见|通知|通报|报告|请示|批复|议案|函|复函|纪要"
# Titles that end with a word of another genre: these are documents issued *by* a 通知, not 公文 themselves.
NON_STATUTORY = re.compile(r"(请示报告|报告请示|申请书?|请求|汇报|总结|工作方案|实施方案|方案|办法|规定|细则|规划|计划|要点|"
                           r"建议书?|倡议书?|情况说明|说明|简报|讲话|通讯|启事|声明)$")
# Replies to deputies' suggestions and members' proposals are issued as 函 but titled "…的答复".
ACCEPTED_TITLE_END = re.compile(r"(?:建议|提案|议案|意见)的答复$")
_TRAILING_PUNCT = "。，；：！？、.,;:!?"


def _body_paragraphs(ctx: Context) -> list[Paragraph]:
    return ctx.doc.body


# --- title ------------------------------------------------------------------------------------------------


# The marks drafting leaves where a person must supply facts (haoban.apps.gongwen.draft.placeholder).
_PLACEHOLDER = re.compile(r"【请填写[^【】]{0,80}】")


@check("format.placeholder")
def placeholders(ctx: Context) -> Iterator[Finding]:
    for m in _PLACEHOLDER.finditer(ctx.source):
        yield ctx.finding(
            "format.placeholder", m.start(), m.end(), "尚有待填写的内容", "补全后删除【】标记", severity="error"
        )


@check("format.title.doc_type", "format.title.structure", "format.title.punctuation")
def title_rules(ctx: Context) -> Iterator[Finding]:
    title = ctx.doc.title
    if title is None or title.start < 0 or ctx.is_order:
        return
    raw = ctx.source[title.start : title.end]
    text = title.text
    stripped = text.rstrip(_TRAILING_PUNCT + " ")
    if stripped != text:
        # The span covers the punctuation at the end of the raw title.
        n = len(raw) - len(raw.rstrip(_TRAILING_PUNCT + " "))
        yield ctx.finding(
            "format.title.punctuation", title.end - n, title.end, "标题末尾不加标点符号",
            "删去标题末尾的标点", replacement="", severity="error",
        )
    for m in re.finditer(r"[，。；：！？,;:!?]", raw.rstrip(_TRAILING_PUNCT + " ")):
        if _inside_quotes(raw, m.start()):
            continue
        yield ctx.finding(
            "format.title.punctuation", title.start + m.start(), title.start + m.end(),
            "标题中除法规、规章名称加书名号外，一般不用标点符号", "调整标题措辞，去掉该标点",
        )
    odd = NON_STATUTORY.search(stripped)
    if odd and not ACCEPTED_TITLE_END.search(stripped):
        at = title.start + raw.rfind(odd.group())
        yield ctx.finding(
            "format.title.doc_type", at, at + len(odd.group()),
            f"“{odd.group()}”不是法定文种" + ("（请示与报告不能混用）" if "请示" in odd.group() and "报告" in odd.group() else ""),
            f"公文文种只能是：{'、'.join(doc_types())}；方案、办法等应以“通知”印发",
            severity="error",
        )
    elif re.search(r"(?:转发|批转)", stripped) and not stripped.endswith("通知"):
        end = title.start + len(raw.rstrip(_TRAILING_PUNCT + " "))
        yield ctx.finding(
            "format.title.doc_type", max(title.start, end - 2), end,
            "转发、批转公文用“通知”，标题应以“的通知”结尾", "如“××转发××关于××的意见的通知”", severity="error",
        )
    elif type_of_title(stripped) is None and not ACCEPTED_TITLE_END.search(stripped):
        end = title.start + len(raw.rstrip(_TRAILING_PUNCT + " "))
        yield ctx.finding(
            "format.title.doc_type", max(title.start, end - 2), end,
            "标题缺少文种", "标题应由发文机关、事由和文种组成，如“××关于××的通知”", severity="error",
        )
    elif "关于" in stripped and not re.search(rf"的[^的]{{0,6}}(?:{STATUTORY})$", stripped):
        kind = re.search(rf"(?:{STATUTORY})$", stripped)
        if kind:
            pos = title.start + raw.rfind(kind.group())
            yield ctx.finding(
                "format.title.structure", pos, pos + len(kind.group()),
                "标题“关于……”后缺少“的”", f"写成“关于……的{kind.group()}”", replacement="的" + kind.group(),
            )
    for m in re.finditer(r"关于关于|的的", raw):
        yield ctx.finding(
            "format.title.structure", title.start + m.start(), title.start + m.end(),
            f"标题中“{m.group()[:2]}”重复", "删去重复的字", replacement=m.group()[:2],
        )


def _inside_quotes(text: str, pos: int) -> bool:
    before = text[:pos]
    return before.count("“") > before.count("”") or before.count("《") > before.count("》")


# --- the 文种 fits the content ------------------------------------------------------------------------------

# A request closing: "妥否，请批示。" "以上请示如无不妥，请批准。" "当否，请批复。"
REQUEST = re.compile(
    r"(?:妥否|当否|可否|是否可行|如无不妥|以上请示)[，,]?[^。]{0,12}?(?:请|恳请|望|敬请)[予于]?(?:批示|批复|审批|批准|审示|核准|审定|示复|指示)"
    r"|(?<![报提呈申经])(?:请|恳请|敬请)[予于]?(?:批示|批复|审批|批准|审示|核准|审定|示复)(?=[。！]|$)"
)
_UPWARD_ONLY = re.compile(r"(?:妥否|当否)[，,]?\s*请[予]?(?:批示|批复|审示)|(?<![报提呈申经])请(?:批示|审示)(?=[。！]|$)")


@check("format.doc_type.request_ending", "format.doc_type.request_phrase", "format.doc_type.multi_request",
       "format.doc_type.reply_source")
def doc_type_fit(ctx: Context) -> Iterator[Finding]:
    info, doc, title = ctx.info, ctx.doc, ctx.doc.title
    if info is None or title is None:
        return
    body = [p for p in doc.body if p.start >= 0]
    if not body:
        return
    name = info.name
    if name == "请示":
        hits = [(p, m) for p in body for m in REQUEST.finditer(p.text)]
        tail = body[-3:]
        if not any(p is q for q, _ in hits for p in tail):
            last = body[-1]
            yield ctx.finding(
                "format.doc_type.request_ending", last.start, last.end,
                "请示的结尾缺少请求批示的用语", "在正文末尾写明请求事项，如“妥否，请批示。”或“以上请示如无不妥，请批准。”",
                severity="error",
            )
        paras = {id(p) for p, _ in hits}
        if len(paras) > 1:
            for p, m in hits[:-1]:
                yield ctx.finding(
                    "format.doc_type.multi_request", p.start + m.start(), p.start + m.end(),
                    "请示应一文一事，正文中出现多处请求批准的事项", "将不同事项分别行文请示，正文只在结尾提出一次请求",
                )
        return
    pattern = REQUEST if name == "报告" else _UPWARD_ONLY
    for p in body:
        for m in pattern.finditer(p.text):
            if name == "报告":
                msg, sev, sug = "报告中不得夹带请示事项", "error", "需要上级批准的事项另行请示；报告结尾可用“特此报告。”"
            else:
                msg, sev = f"“{m.group()}”是请示的用语，不宜用于{name}", "warning"
                sug = "向不相隶属机关请求批准用“请予函复”等函的用语" if name in ("函", "复函") else "改用与文种相符的结束语"
            yield ctx.finding("format.doc_type.request_phrase", p.start + m.start(), p.start + m.end(), msg, sug, severity=sev)
    if name == "批复" or title.text.endswith("复函"):
        head = "".join(p.text for p in body[:2])
        if not re.search(r"收悉|来文|来函|请示|《|你们|您|你(?:省|市|区|县|部|委|局|厅|办|院|单位)", head):
            yield ctx.finding(
                "format.doc_type.reply_source", title.start, title.end,
                f"{name if name == '批复' else '复函'}开头未引述来文",
                "开头写明来文标题和字号，如“你省《关于××的请示》（×政〔2024〕×号）收悉。”",
            )


# --- 发文字号 ------------------------------------------------------------------------------------------------

DOC_NUMBER_LIKE = re.compile(
    rf"(?<=[{CJK}])(?P<lb>[〔\[［(（【{{〖])\s*(?P<year>\d{{2,4}})\s*(?P<rb>[〕\]］)）】}}〗])\s*(?P<di>第)?\s*(?P<num>\d{{1,5}})\s*号"
)


@check("format.doc_number")
def doc_number(ctx: Context) -> Iterator[Finding]:
    for m in DOC_NUMBER_LIKE.finditer(ctx.source):
        year, num = m["year"], m["num"]
        if len(year) == 3 or (len(year) == 4 and not year.startswith(("19", "20"))):
            continue
        problems = []
        if m["lb"] != "〔" or m["rb"] != "〕":
            problems.append("年份应使用六角括号“〔〕”")
        if len(year) == 2:
            problems.append("年份应标全称（四位数字）")
        if m["di"]:
            problems.append("序号前不加“第”")
        if len(num) > 1 and num.startswith("0"):
            problems.append("序号不编虚位（不加前导零）")
        if re.search(r"\s", m.group()):
            problems.append("发文字号中不应有空格")
        if not problems:
            continue
        fixed = f"〔{year}〕{int(num)}号" if len(year) == 4 else None
        yield ctx.finding(
            "format.doc_number", m.start(), m.end(), "发文字号格式不规范：" + "；".join(problems),
            "写成“机关代字〔年份〕序号”，如“国发〔2024〕12号”", replacement=fixed, severity="error",
        )


# --- dates ---------------------------------------------------------------------------------------------------


@check("format.date")
def dates(ctx: Context) -> Iterator[Finding]:
    doc = ctx.doc
    key_spans = [p for p in (doc.date, doc.print_date) if p is not None and p.start >= 0]

    def is_key(start: int) -> bool:
        return any(p.start <= start < p.end for p in key_spans)

    for hit in find_dates(ctx.source):
        raw = hit.text
        if hit.chinese:
            if re.search(r"[○零ＯO]", raw[:5]):
                fixed = re.sub(r"[○零ＯO]", "〇", raw[:5]) + raw[5:]
                yield ctx.finding(
                    "format.date", hit.start, hit.end, "汉字数字年份中的零应写作“〇”", f"依据{GB15835}",
                    replacement=fixed, severity="warning",
                )
                continue
            d = hit.date()
            if d is not None and d >= ARABIC_SINCE and is_key(hit.start):
                yield ctx.finding(
                    "format.date", hit.start, hit.end, "成文日期应使用阿拉伯数字",
                    f"{GB9704}规定成文日期用阿拉伯数字将年、月、日标全，如“{hit.arabic()}”",
                    replacement=hit.arabic(), severity="warning",
                )
            continue
        m = re.fullmatch(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", raw)
        if m and (m.group(2).startswith("0") or m.group(3).startswith("0")):
            yield ctx.finding(
                "format.date", hit.start, hit.end, "日期中的月、日不编虚位（不加前导零）",
                f"写成“{hit.arabic()}”", replacement=hit.arabic(),
                severity="error" if is_key(hit.start) else "warning",
            )
    # Month-only and day-only forms with leading zeros ("05月", "06日") next to a year.
    for m in re.finditer(r"(?<!\d)(\d{4})年(0\d)月(?!\s*\d{1,2}\s*日)", ctx.source):
        yield ctx.finding(
            "format.date", m.start(), m.end(), "月份不编虚位（不加前导零）", "",
            replacement=f"{m.group(1)}年{int(m.group(2))}月",
        )


# --- headings ------------------------------------------------------------------------------------------------

_CN = "一二三四五六七八九十"
# Tolerant recognisers: the wrong forms (1、 （一）、 一. (1)) are recognised so they can be flagged.
HEADING_FORMS: list[tuple[int, re.Pattern[str]]] = [
    (2, re.compile(rf"(?P<open>[（(])(?P<n>[{_CN}]{{1,3}})(?P<close>[）)])(?P<sep>[、.．，,])?")),
    (4, re.compile(r"(?P<open>[（(])(?P<n>\d{1,2})(?P<close>[）)])(?P<sep>[、.．，,])?")),
    (1, re.compile(rf"(?P<n>[{_CN}]{{1,3}})(?P<sep>[、.．，,])(?![{_CN}])")),
    (3, re.compile(r"(?P<n>\d{1,2})(?P<sep>[.．、，,])(?![\d.．])")),
]
CANONICAL = {1: "{n}、", 2: "（{n}）", 3: "{n}.", 4: "（{n}）"}
LEVEL_NAMES = {1: "一、", 2: "（一）", 3: "1.", 4: "（1）"}


def _cn_value(s: str) -> int:
    digits = {c: i + 1 for i, c in enumerate("一二三四五六七八九")}
    if s == "十":
        return 10
    if "十" in s:
        a, _, b = s.partition("十")
        return (digits.get(a, 1) if a else 1) * 10 + (digits.get(b, 0) if b else 0)
    return digits.get(s, 0)


def _cn_label(n: int) -> str:
    units = "一二三四五六七八九"
    if n < 10:
        return units[n - 1]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else units[tens - 1]) + "十" + (units[ones - 1] if ones else "")


def classify_heading(text: str) -> tuple[int, re.Match[str]] | None:
    for level, pattern in HEADING_FORMS:
        m = pattern.match(text)
        if m is None:
            continue
        if level == 1 and m["sep"] in ".．，," and not re.match(rf"[{_CN}]{{1,3}}[.．]", text):
            continue  # "一，" opens a sentence more often than it numbers a heading
        if level == 3 and m["sep"] in "，,":
            continue
        if level == 3 and text[m.end():].strip()[:1] in ("", "%", "％"):
            continue  # a bare number, not a heading
        return level, m
    return None


@check("format.heading.label", "format.heading.level", "format.heading.sequence")
def headings(ctx: Context) -> Iterator[Finding]:
    for body in ctx.bodies:
        yield from _heading_run(ctx, body)


def _heading_run(ctx: Context, body: list[Paragraph]) -> Iterator[Finding]:
    found = []
    # A list may legitimately start again at 1 when something new introduces it: an article ("第五条")
    # or a sentence ending with a colon ("按照下列方法确定：") since the last heading.
    fresh = False
    for p in body:
        if p.start < 0:
            continue
        got = classify_heading(p.text)
        if got is None:
            fresh = fresh or p.text.endswith(("：", ":")) or re.match(r"第[一二三四五六七八九十百零〇\d]+[条章节]", p.text) is not None
            continue
        found.append((p, got, fresh))
        fresh = False
    used_levels = {level for _, (level, _), _ in found}
    last_num = {1: 0, 2: 0, 3: 0, 4: 0}  # restarts under each new parent
    running = {1: 0, 2: 0, 3: 0, 4: 0}  # never restarts: 国务院 documents often number （一）… through the whole text
    prev_level = 0
    style_noted = False
    for p, (level, m), restart_ok in found:
        label = m.group()
        n = _cn_value(m["n"]) if level in (1, 2) else int(m["n"])
        canonical = CANONICAL[level].format(n=m["n"] if level in (1, 2) else str(n))
        malformed = label != canonical and not (level == 3 and label == f"{m['n']}．")
        if malformed:
            why = {
                1: "第一层序数后用顿号，如“一、”",
                2: "第二层序数用全角括号，括号后不加标点，如“（一）”",
                3: "第三层序数用阿拉伯数字加下脚点，如“1.”，不用顿号",
                4: "第四层序数用全角括号，括号后不加标点，如“（1）”",
            }[level]
            yield ctx.finding(
                "format.heading.label", p.start, p.start + len(label), f"序数“{label}”写法不规范：{why}",
                f"改为“{canonical}”", replacement=canonical, severity="error",
            )
        if prev_level and level > prev_level + 1:
            missing = [k for k in range(prev_level + 1, level)]
            # Skipping a level the text never uses is a style some offices accept: noted once. Skipping a
            # level that is used elsewhere in the same text is an inconsistency.
            inconsistent = any(k in used_levels for k in missing)
            if inconsistent or not style_noted:
                style_noted = style_noted or not inconsistent
                yield ctx.finding(
                    "format.heading.level", p.start, p.start + len(label),
                    f"结构层次跳级：“{label}”直接出现在“{LEVEL_NAMES[prev_level]}”层之下，缺少“{LEVEL_NAMES[prev_level + 1]}”层",
                    "结构层次依次为“一、”“（一）”“1.”“（1）”，一般不跳级使用",
                    severity="warning" if inconsistent else "info",
                )
        expected = last_num[level] + 1
        # A malformed label ("2、") is often an inline list that began inside a sentence: one finding is enough.
        ok = malformed or n == expected or n == running[level] + 1 or (n == 1 and (restart_ok or level >= 3 and last_num[level] > 0))
        if not ok:
            if n == last_num[level]:
                msg = f"序数“{label}”与上一个同级序数重复"
            elif n > expected:
                want = _cn_label(expected) if level in (1, 2) else str(expected)
                msg = f"序数不连续：此处应为“{CANONICAL[level].format(n=want)}”，却是“{label}”"
            else:
                msg = f"序数“{label}”顺序有误（前一个同级序数是{last_num[level]}）"
            yield ctx.finding("format.heading.sequence", p.start, p.start + len(label), msg, "检查是否漏写、重复或顺序颠倒")
        last_num[level] = n
        running[level] = n
        for deeper in range(level + 1, 5):
            last_num[deeper] = 0
        prev_level = level


# --- 主送机关 -------------------------------------------------------------------------------------------------


@check("format.addressee")
def addressee(ctx: Context) -> Iterator[Finding]:
    doc, info = ctx.doc, ctx.info
    if info is None or doc.title is None or doc.title.start < 0 or ctx.is_order or not info.addressee_required:
        return
    if doc.addressee is None and doc.body:
        yield ctx.finding(
            "format.addressee", doc.title.start, doc.title.end, f"{info.name}应写明主送机关",
            "在标题下一行顶格写主送机关，后标全角冒号，如“各区县人民政府，市政府各部门：”",
        )


# --- 附件说明 ------------------------------------------------------------------------------------------------

_NOTE_NUMBER = re.compile(r"(?P<n>\d{1,2})\s*(?P<sep>[.．、]?)\s*")


def _norm_title(s: str) -> str:
    return re.sub(r"[\s《》“”\"'（）()：:.．、。，]", "", s)


@check("format.attachment")
def attachments(ctx: Context) -> Iterator[Finding]:
    doc = ctx.doc
    notes = [n for n in doc.attachment_notes if n.start >= 0]
    for n in notes:
        raw = ctx.source[n.start : n.end]
        tail = len(raw) - len(raw.rstrip("。；;，,.、"))
        if tail:
            yield ctx.finding(
                "format.attachment", n.end - tail, n.end, "附件名称后不加标点符号", "删去末尾的标点",
                replacement="", severity="error",
            )
    if notes:
        line_start = ctx.source.rfind("\n", 0, notes[0].start) + 1
        head = re.match(r"[ \t\u3000]*附\s*件\s*(?P<sep>[:：]?)", ctx.source[line_start : notes[0].start + 1])
        if head and head["sep"] != "：":
            s, e = line_start + head.start("sep"), line_start + head.end("sep")
            yield ctx.finding(
                "format.attachment", line_start + head.start(), e if e > s else s,
                "“附件”二字后应标全角冒号", "写成“附件：1.××××”", replacement=ctx.source[line_start + head.start() : s] + "：",
            )
    numbered = [(_NOTE_NUMBER.match(n.text), n) for n in notes]
    if len(notes) > 1:
        expected = 1
        for m, n in numbered:
            if m is None:
                yield ctx.finding(
                    "format.attachment", n.start, n.end, "有多个附件时应使用阿拉伯数字标注附件顺序号",
                    f"如“{expected}.{n.text}”",
                )
            elif int(m["n"]) != expected:
                yield ctx.finding(
                    "format.attachment", n.start, n.start + m.end(), f"附件顺序号不连续：此处应为“{expected}.”",
                    "检查附件说明的编号",
                )
            elif m["sep"] == "、":
                yield ctx.finding(
                    "format.attachment", n.start + m.start("sep"), n.start + m.end("sep"),
                    "附件顺序号后用下脚点，如“1.”", "", replacement=".",
                )
            expected += 1
    # Attachments printed after the signature must agree with the list.
    printed = [a for a in doc.attachments if a.number or a.title.start >= 0]
    numbered_att = [a for a in printed if a.number]
    if notes and numbered_att:
        max_att = max(int(a.number) for a in numbered_att)
        if max_att > len(notes) or (len(numbered_att) == len(printed) and len(printed) > len(notes)):
            yield ctx.finding(
                "format.attachment", notes[0].start, notes[-1].end,
                f"附件说明列了{len(notes)}个附件，正文后实际有{max(max_att, len(printed))}个附件", "补全附件说明",
            )
        by_number = {int(a.number): a for a in numbered_att}
        for k, (m, n) in enumerate(numbered, start=1):
            att = by_number.get(int(m["n"]) if m else k)
            if att is None:
                continue
            name = n.text[m.end():] if m else n.text
            a, b = _norm_title(name), _norm_title(att.title.text)
            if a and b and a not in b and b not in a:
                yield ctx.finding(
                    "format.attachment", n.start + (m.end() if m else 0), n.end,
                    f"附件说明中的名称与附件{att.number}的标题“{att.title.text[:40]}”不一致", "使两处名称一致",
                )
    # References in the text ("见附件3") beyond the list.
    if notes:
        limit = len(notes)
        for p in doc.body:
            for m in re.finditer(r"(?:见|详见|参见|填写|按照)附件(\d{1,2})", p.text):
                if int(m.group(1)) > limit:
                    yield ctx.finding(
                        "format.attachment", p.start + m.start(), p.start + m.end(),
                        f"正文提到附件{m.group(1)}，但附件说明只列了{limit}个附件", "补全附件说明或更正正文中的附件序号",
                    )


# --- punctuation ---------------------------------------------------------------------------------------------

HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
_CJKISH = re.compile(rf"[{CJK}“”《》（）、，。；：！？]")
_URLISH = re.compile(r"(?:https?://|www\.)[^\s\u3400-\u9fff，。；）]*|[\w.+-]+@[\w.-]+")


def _cjk_line(text: str) -> bool:
    return len(CJK_RE.findall(text)) >= 2


@check("format.punct.halfwidth")
def halfwidth(ctx: Context) -> Iterator[Finding]:
    for line in ctx.lines:
        text = line.text
        if not _cjk_line(text):
            continue
        skip = [(m.start(), m.end()) for m in _URLISH.finditer(text)]

        def skipped(i: int, skip: list[tuple[int, int]] = skip) -> bool:
            return any(a <= i < b for a, b in skip)

        paren_done: set[int] = set()
        for m in re.finditer(r"\(([^()\n]{0,80})\)", text):
            inner = m.group(1)
            before = text[m.start() - 1] if m.start() else ""
            after = text[m.end()] if m.end() < len(text) else ""
            if skipped(m.start()) or not (CJK_RE.search(inner) or _CJKISH.match(before or " ") or _CJKISH.match(after or " ")):
                continue
            paren_done.update((m.start(), m.end() - 1))
            yield ctx.finding(
                "format.punct.halfwidth", line.start + m.start(), line.start + m.end(), "中文里应使用全角括号",
                "改为“（）”", replacement=f"（{inner}）",
            )
        quotes = [i for i, c in enumerate(text) if c == '"' and not skipped(i)]
        for k, i in enumerate(quotes):
            if len(quotes) % 2 == 0:
                fixed: str | None = "“" if k % 2 == 0 else "”"
            else:
                fixed = None
            yield ctx.finding(
                "format.punct.halfwidth", line.start + i, line.start + i + 1, "中文里应使用全角引号“”", "改为“”",
                replacement=fixed,
            )
        for i, c in enumerate(text):
            if c not in ",;:?!()." or i in paren_done or skipped(i):
                continue
            prev = text[i - 1] if i else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if c == ".":
                # A full stop after Chinese at a sentence end ("……工作.") — not "1." or "3.5".
                if prev and CJK_RE.match(prev) and (not nxt or CJK_RE.match(nxt)):
                    yield ctx.finding(
                        "format.punct.halfwidth", line.start + i, line.start + i + 1, "中文句末应使用句号“。”",
                        "改为“。”", replacement="。",
                    )
                continue
            if prev.isdigit() and nxt.isdigit():
                continue  # 1,000 / 8:30
            if prev.isascii() and nxt.isascii() and not (c == ":" and CJK_RE.match(prev or "a")):
                continue
            if not (_CJKISH.match(prev or " ") or _CJKISH.match(nxt or " ") or (c == ":" and not nxt)):
                continue
            yield ctx.finding(
                "format.punct.halfwidth", line.start + i, line.start + i + 1, f"中文里应使用全角标点“{HALF_TO_FULL[c]}”",
                f"改为“{HALF_TO_FULL[c]}”", replacement=HALF_TO_FULL[c],
            )


PAIRS = {"“": "”", "‘": "’", "《": "》", "（": "）", "【": "】", "〔": "〕", "〈": "〉"}
CLOSERS = {v: k for k, v in PAIRS.items()}
# A half-width bracket closing a full-width one is the half-width rule's business, not a pairing error.
_LOOSE = {"(": "（", ")": "）"}


def _unpaired(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(unclosed openers, unmatched closers) of one line, as (index, char)."""
    stack: list[tuple[str, int]] = []
    stray: list[tuple[int, str]] = []
    for i, raw in enumerate(text):
        c = _LOOSE.get(raw, raw)
        if c in PAIRS:
            stack.append((c, i))
        elif c in CLOSERS:
            opener = CLOSERS[c]
            if stack and stack[-1][0] == opener:
                stack.pop()
            elif any(o == opener for o, _ in stack):
                while stack and stack[-1][0] != opener:
                    o, j = stack.pop()
                    stray.append((j, o))
                stack.pop()
            elif raw == c:
                stray.append((i, c))
    return [(j, o) for o, j in stack], stray


@check("format.punct.pairs")
def pairs(ctx: Context) -> Iterator[Finding]:
    units: list[Part] = []
    ts, te = ctx.title_span
    for line in ctx.lines:
        if ts <= line.start < te:
            if units and units[-1].start == ts:
                continue
            units.append(Part(text=ctx.source[ts:te], start=ts, end=te))
        else:
            units.append(line)
    results = [_unpaired(u.text) for u in units]
    # A bracket opened at the end of one line may close on the next (a wrapped parenthetical).
    for k in range(len(units) - 1):
        openers, _ = results[k]
        _, next_stray = results[k + 1]
        while openers and next_stray:
            j, o = openers[-1]
            i, c = next_stray[0]
            if c != PAIRS[o]:
                break
            openers.pop()
            next_stray.pop(0)
    for unit, (openers, stray) in zip(units, results, strict=True):
        for i, c in sorted(openers + stray):
            msg = f"“{c}”没有对应的“{PAIRS[c]}”" if c in PAIRS else f"“{c}”没有对应的“{CLOSERS[c]}”"
            yield ctx.finding(
                "format.punct.pairs", unit.start + i, unit.start + i + 1, f"成对标点不配对：{msg}", "补全或删去多余的标点",
                severity="error",
            )


# "根据国务院关于……的通知" — a cited document whose title is not in 书名号.
_CITE_VERB = r"(?:贯彻落实|认真贯彻|贯彻执行|遵照执行|根据|依据|依照|按照|遵照|参照|对照|贯彻|落实|执行|印发|转发|学习)"
_DOC_WORDS = r"(?:通知|意见|决定|批复|报告|请示|复函|函|通报|公告|通告|决议|纪要|办法|规定|条例|细则|方案|规划|纲要)"
# The issuer may be joint ("国务院办公厅、中央军委办公厅", "中共中央办公厅 国务院办公厅") and the title may
# quote another title inside ("关于印发《××规则》的通知").
BOOK_TITLE = re.compile(
    rf"{_CITE_VERB}(?P<t>[{CJK}][{CJK}\d、 ]{{0,40}}?关于[^，。；：！？\n]{{2,60}}?的{_DOC_WORDS})(?=[，。；、（(）)]|精神|要求|规定|和|及|$)"
)
LAW_TITLE = re.compile(
    rf"(?:根据|依据|依照|按照|违反|遵守|贯彻|实施|执行|修改|修订|落实)(?P<t>中华人民共和国[{CJK}]{{1,20}}?(?:法|条例))(?=[，。；、（(第]|规定|和|及|的规定|有关)"
)


@check("format.punct.book_title")
def book_titles(ctx: Context) -> Iterator[Finding]:
    text = ctx.source
    for pattern in (BOOK_TITLE, LAW_TITLE):
        for m in pattern.finditer(text):
            s, e = m.span("t")
            if ctx.in_title(s) or _inside_book(text, s):
                continue
            yield ctx.finding(
                "format.punct.book_title", s, e, "引用的文件或法规名称应加书名号", "写成《……》",
                replacement=f"《{m['t']}》",
            )


def _inside_book(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    before = text[line_start:pos]
    return before.count("《") > before.count("》")


# --- 版记 and 签发人 ------------------------------------------------------------------------------------------


@check("format.record")
def record(ctx: Context) -> Iterator[Finding]:
    doc = ctx.doc
    for line in ctx.lines[-8:]:
        m = re.match(r"抄\s*报", line.text)
        if m:
            yield ctx.finding(
                "format.record", line.start, line.start + m.end(), "版记中统一使用“抄送”，不再使用“抄报”",
                f"依据{GB9704} 7.4.2", replacement="抄送", severity="error",
            )
    if doc.cc is not None and doc.cc.start >= 0:
        line_end = ctx.source.find("\n", doc.cc.start)
        line_end = len(ctx.source) if line_end < 0 else line_end
        raw = ctx.source[doc.cc.start : line_end].rstrip(" \t\u3000")
        if raw and not raw.endswith("。"):
            last = doc.cc.start + len(raw) - 1
            yield ctx.finding(
                "format.record", last, last + 1, "最后一个抄送机关后标句号", "", replacement=raw[-1] + "。",
            )


@check("format.signer")
def signer(ctx: Context) -> Iterator[Finding]:
    doc, info = ctx.doc, ctx.info
    if info is None or not info.signer_required or doc.signers:
        return
    anchor = doc.doc_number if doc.issuer_mark is not None or doc.doc_number is not None else None
    if anchor is None:
        anchor = doc.issuer_mark
    if anchor is not None and anchor.start >= 0:
        yield ctx.finding(
            "format.signer", anchor.start, anchor.end, f"上行文（{info.name}）应在发文字号右侧标注签发人",
            "如“签发人：×××”",
        )
