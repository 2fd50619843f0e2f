"""Wording rules: 的/地/得, the maintainable list of 公文 misuses (data/wording.jsonl), numbers and dates that
contradict each other, and the spelling checker of ``haoban.apps.gongwen.spelling``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from haoban.apps.gongwen.review.base import CJK, CJK_RE, Context, check, define
from haoban.apps.gongwen.review.models import Finding, Severity
from haoban.apps.gongwen.review.numbers import AMOUNT_PAIR, WEEKDAYS, cn_number, find_dates
from haoban.apps.gongwen.spelling import get_spell_checker

define("wording.de_di_de", "wording", "“的、地、得”误用", "《现代汉语词典》结构助词用法")
define("wording.usage", "wording", "公文常见误用和规范表述", "review/data/wording.jsonl，每条注明依据")
define("wording.consistency", "wording", "数字、日期前后矛盾或不合法", "公文写作规范")
define("wording.typo", "wording", "错别字", "拼写检查模型（haoban.apps.gongwen.spelling）")

# --- 的/地/得 ---------------------------------------------------------------------------------------------------
# Precision first: only modifiers that are adverbial before a verb, and verbs that are not usually nouns,
# so "有效的监管" (a noun phrase) is left alone while "认真的落实各项政策" is flagged.
ADVERBIALS = (
    "认认真真 扎扎实实 实实在在 踏踏实实 坚定不移 毫不动摇 一丝不苟 积极主动 全面系统 及时准确 "
    "认真 积极 切实 扎实 深入 全面 坚决 大力 努力 主动 及时 严格 稳妥 稳步 有序 不断 逐步 进一步 "
    "尽快 迅速 牢牢 紧紧 依法 自觉 彻底 全力 认真细致 扎实有效 有力有序 扎实有序 "
    "适时 及早 尽早 始终 一直 加紧 逐一 更加 务必 不折不扣 坚定 全力以赴"
).split()
# Pure adverbs: "不断的完善。" is wrong even with nothing after the verb (they never modify a noun).
PURE_ADVERBS = frozenset("不断 始终 一直 逐步 进一步 更加 切实 坚决 适时 及早 尽早 尽快 逐一 务必 加紧 不折不扣".split())
DI_VERBS = (
    "做好 抓好 办好 落实 推进 开展 贯彻 加强 推动 实施 执行 完成 解决 学习 宣传 组织 查处 整改 参与 配合 维护 "
    "提高 促进 引导 处理 做到 抓紧 防范 化解 应对 谋划 研究 改进 完善 健全 建立 培育 打造 争取 推广 参加 履行 "
    "落细 落小 抓实 做实 执行好 贯彻落实 推进落实 开展好 组织实施 加快 抓 做 干 办 搞"
).split()
# After the verb: nouns that would make "积极的推进措施" a noun phrase rather than a mistake.
NOUN_HEADS = frozenset(
    "政策 机制 措施 体系 力度 态势 作用 效果 成效 工作 情况 水平 能力 方案 计划 举措 办法 意见 精神 过程 力量 步伐 "
    "关系 点 区 项目 活动 服务 模式 制度 方式 手段 环境 条件 基础 平台 渠道 队伍 对象 范围 内容 标准 要求 任务 目标 "
    "主体 单位 人员 资金 费用 责任 格局 局面 氛围 意识 理念 思路".split()
)
# Verbs that never head a noun phrase, so "切实的加强区域……" is wrong whatever follows.
NEVER_NOMINAL = frozenset(
    "加强 做好 抓好 办好 做到 落细 落小 抓实 做实 执行好 开展好 加快 抓紧 贯彻落实 推进落实 加大 强化 提高 提升 维护 "
    "履行 坚持 把握 用好 管好 守住 筑牢 压实 增强 改进 推动 完善 健全 建立 解决 引导 落实 贯彻".split()
)
_ADV = "|".join(sorted(map(re.escape, ADVERBIALS), key=len, reverse=True))
DI_VERB_SET = frozenset(DI_VERBS)
DI_PATTERN = re.compile(rf"(?P<adv>{_ADV})(?P<de>的)(?=[{CJK}])")
DE_VERBS = (
    "做 干 抓 搞 办 落实 完成 推进 执行 开展 处理 解决 准备 组织 贯彻 落实 掌握 理解 实施 整改 部署 安排 "
    "建设 管理 配合 衔接 发挥 宣传"
).split()
DE_ADJ = (
    "很好 较好 非常好 十分好 比较好 更好 好 不好 差 很差 快 很快 较快 慢 较慢 实 很实 扎实 很扎实 不够扎实 不扎实 紧 "
    "很紧 细 很细 不细 准 到位 很到位 不到位 不够到位 出色 很出色 不错 及时 很及时 不及时 不够及时 彻底 不彻底 "
    "不够彻底 充分 很充分 不充分 不够充分 有力 很有力 不够有力 有效 很有效 突出 明显 很明显 认真 很认真 不认真 "
    "不够认真 深入 很深入 不深入 不够深入 圆满 很圆满 顺利 很顺利 周密 细致 很细致 透彻 很透彻 规范 很规范 不规范"
).split()
_DE_VERB = "|".join(sorted(map(re.escape, DE_VERBS), key=len, reverse=True))
_DE_ADJ = "|".join(sorted(map(re.escape, DE_ADJ), key=len, reverse=True))
DE_PATTERN = re.compile(rf"(?<=[{CJK}])(?P<verb>{_DE_VERB})(?P<de>的)(?P<adj>{_DE_ADJ})(?=[，。；！？、]|$)")


def warm_up() -> None:
    """Load the segmenter now (a few seconds on a busy machine) rather than in the first review."""
    _dictionary_tags()


def _jieba():
    """jieba's process-wide tokenizer (shared with any other user of plain jieba; loads once, about a second)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt


@lru_cache(maxsize=1)
def _dictionary_tags() -> dict[str, str]:
    """jieba's dictionary part-of-speech of each word (the tag a word has out of context)."""
    import jieba.posseg

    _jieba()
    return jieba.posseg.dt.word_tag_tab


def _is_word(tokens_of: dict[int, list[tuple[int, int]]], start: int, end: int, clause_start: int) -> bool:
    """Does [start, end) begin and end on word boundaries of the clause's segmentation?"""
    bounds = tokens_of.get(clause_start)
    if bounds is None:
        return True
    starts = {s for s, _ in bounds}
    ends = {e for _, e in bounds}
    return start in starts and end in ends


@check("wording.de_di_de")
def de_di_de(ctx: Context) -> Iterator[Finding]:
    text = ctx.source
    seg_cache: dict[int, list[tuple[int, int]]] = {}

    def bounds(pos: int) -> tuple[int, dict[int, list[tuple[int, int]]]]:
        s = pos
        while s > 0 and text[s - 1] not in "，。；！？：\n":
            s -= 1
        if s not in seg_cache:
            e = pos
            while e < len(text) and text[e] not in "，。；！？：\n":
                e += 1
            words, out, at = _jieba().lcut(text[s:e], HMM=False), [], s
            for w in words:
                out.append((at, at + len(w)))
                at += len(w)
            seg_cache[s] = out
        return s, seg_cache

    tags = _dictionary_tags()
    for m in DI_PATTERN.finditer(text):
        if ctx.in_title(m.start()):
            continue
        cs, cache = bounds(m.start())
        # The modifier must be a word of its own ("深入" but not the head of "深入人心").
        if not _is_word(cache, m.start("adv"), m.end("adv"), cs):
            continue
        after = m.end("de")
        verb = next((text[s:e] for s, e in cache[cs] if s == after), None)
        if verb is None or not (verb in DI_VERB_SET or tags.get(verb) == "v"):
            continue
        nxt = text[after + len(verb) : after + len(verb) + 1]
        if nxt and CJK_RE.match(nxt):
            # "积极的支持和配合", "积极的推进措施": the verb heads a noun phrase.
            next_word = next((text[s:e] for s, e in cache[cs] if s == after + len(verb)), "")
            if verb not in NEVER_NOMINAL and (nxt in "和与及的" or next_word in NOUN_HEADS):
                continue
        elif m["adv"] not in PURE_ADVERBS:
            continue  # "给予积极的支持。" is a noun phrase
        yield ctx.finding(
            "wording.de_di_de", m.start("de"), m.end("de"),
            f"“{m['adv']}”修饰动词“{verb}”作状语，应用“地”", f"改为“{m['adv']}地{verb}”",
            replacement="地",
        )
    for m in DE_PATTERN.finditer(text):
        if ctx.in_title(m.start()):
            continue
        before = text[max(0, m.start() - 4) : m.start()]
        if re.search(r"(?:所|的)$", before):
            continue  # "所做的很好" is a 的-phrase subject, not a complement
        cs, cache = bounds(m.start())
        if not _is_word(cache, m.start("verb"), m.end("verb"), cs):
            continue
        yield ctx.finding(
            "wording.de_di_de", m.start("de"), m.end("de"),
            f"“{m['adj']}”补充说明动词“{m['verb']}”的程度或结果，应用“得”", f"改为“{m['verb']}得{m['adj']}”",
            replacement="得",
        )


# --- the wording list -------------------------------------------------------------------------------------------


@dataclass
class WordingEntry:
    pattern: re.Pattern[str]
    replacement: str | None  # a template: \g<name> refers to groups of the pattern
    message: str
    suggestion: str
    severity: Severity
    rule: str
    source: str


@lru_cache(maxsize=1)
def wording_entries() -> list[WordingEntry]:
    """Entries of data/wording.jsonl; the span flagged is the group "x" when the pattern has one."""
    raw = resources.files("haoban.apps.gongwen.review").joinpath("data/wording.jsonl").read_text("utf-8")
    out = []
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        item = json.loads(line)
        if not item.get("enabled", True):
            continue  # kept in the file for offices that want it
        try:
            pattern = re.compile(item["pattern"])
        except re.error as e:  # a bad entry must not break every review
            raise ValueError(f"wording.jsonl 第{n}行的正则表达式有误：{e}") from e
        out.append(
            WordingEntry(
                pattern=pattern,
                replacement=item.get("replacement"),
                message=item["message"],
                suggestion=item.get("suggestion", ""),
                severity=item.get("severity", "warning"),
                rule=item.get("rule", "wording.usage"),
                source=item.get("source", ""),
            )
        )
    return out


@check("wording.usage")
def usage(ctx: Context) -> Iterator[Finding]:
    text = ctx.source
    for entry in wording_entries():
        for m in entry.pattern.finditer(text):
            group = "x" if "x" in entry.pattern.groupindex else 0
            s, e = m.span(group)
            if s == e:
                continue
            replacement = m.expand(entry.replacement) if entry.replacement is not None else None
            suggestion = entry.suggestion or (f"改为“{replacement}”" if replacement else "")
            if entry.source:
                suggestion = f"{suggestion}（依据：{entry.source}）" if suggestion else f"依据：{entry.source}"
            yield ctx.finding(entry.rule, s, e, entry.message, suggestion, replacement=replacement, severity=entry.severity)


# --- consistency -------------------------------------------------------------------------------------------------

_WEEKDAY = re.compile(r"\s*[（(]\s*(?:星期|周|礼拜)(?P<w>[一二三四五六日天])\s*[）)]")
_PAST = re.compile(r"已经|已于|已|以来|截至|截止|期间|了")
_FUTURE = re.compile(r"将|拟|计划|预计|前|之前|以前|起|届时|要|应|须|务必|力争|争取|确保|开始|有效期|期限")


@check("wording.consistency")
def consistency(ctx: Context) -> Iterator[Finding]:
    text, doc = ctx.source, ctx.doc
    hits = find_dates(text)
    for h in hits:
        d = h.date()
        if d is None:
            if h.month >= 1 and h.day >= 1:
                yield ctx.finding(
                    "wording.consistency", h.start, h.end,
                    f"日期不存在：{h.year}年{h.month}月没有{h.day}日" if 1 <= h.month <= 12 else f"日期不存在：没有{h.month}月",
                    "核对日期", severity="error",
                )
            continue
        m = _WEEKDAY.match(text, h.end)
        if m:
            wanted = WEEKDAYS[d.weekday()]
            written = "日" if m["w"] == "天" else m["w"]
            if written != wanted:
                yield ctx.finding(
                    "wording.consistency", h.start, m.end(),
                    f"{h.text}是星期{wanted}，不是星期{m['w']}", "核对日期和星期", severity="error",
                )
    # 成文日期 versus the dates the text says have already passed, and the 印发日期.
    own = _own_date(ctx)
    if own is not None:
        own_span = (doc.date.start, doc.date.end) if doc.date else (-1, -1)
        for h in hits:
            d = h.date()
            if d is None or d <= own or own_span[0] <= h.start < own_span[1]:
                continue
            if any(a.title.start >= 0 and a.title.start <= h.start for a in doc.attachments):
                break  # attachments may carry later dates of their own
            if doc.print_date is not None and doc.print_date.start <= h.start < doc.print_date.end:
                continue
            s, e = _clause(text, h.start, h.end)
            before, after = text[s : h.start], text[h.end : e]
            if _FUTURE.search(before) or _FUTURE.search(after[:6]):
                continue
            sentence_after = text[h.end : text.find("。", h.end) if "。" in text[h.end : h.end + 200] else h.end + 200]
            as_of = re.search(r"截至$|截止$", before) and re.search(r"已|累计|共计|完成了|达到了", sentence_after)
            if re.search(r"已经|已于|已在|已", before[-6:]) or re.match(r"[^，。；]{0,2}(?:以来|已)", after) or as_of:
                yield ctx.finding(
                    "wording.consistency", h.start, h.end,
                    f"文中说{h.text}的事已经发生，但成文日期是{own.year}年{own.month}月{own.day}日", "核对日期",
                )
        if doc.print_date is not None and doc.print_date.start >= 0:
            pd = _date_of(doc.print_date.text)
            if pd is not None and pd < own:
                yield ctx.finding(
                    "wording.consistency", doc.print_date.start, doc.print_date.end, "印发日期早于成文日期", "核对日期",
                    severity="error",
                )
    # An amount in words with the figure in brackets: "伍万元（50000元）".
    for m in AMOUNT_PAIR.finditer(text):
        words = cn_number(m["cn"])
        if words is None:
            continue
        scale = {"元": 1, "万元": 10_000, "亿元": 100_000_000}
        value_words = words * scale[m["unit"]]
        try:
            figure = float(m["num"].replace(",", "").replace("，", "")) * scale[m["unit2"] or m["unit"]]
        except ValueError:
            continue
        if abs(figure - value_words) > 0.005:
            yield ctx.finding(
                "wording.consistency", m.start(), m.end(), f"大写金额与括号内的数字不一致：{m['cn']}{m['unit']}与{m['num']}",
                "核对金额", severity="error",
            )


def _clause(text: str, s: int, e: int) -> tuple[int, int]:
    a = s
    while a > 0 and text[a - 1] not in "，。；！？\n":
        a -= 1
    b = e
    while b < len(text) and text[b] not in "，。；！？\n":
        b += 1
    return a, b


def _date_of(text: str) -> dt.date | None:
    hits = find_dates(text)
    return hits[0].date() if hits else None


def _own_date(ctx: Context) -> dt.date | None:
    return _date_of(ctx.doc.date.text) if ctx.doc.date is not None else None


# --- spelling ------------------------------------------------------------------------------------------------------


@check("wording.typo")
def typos(ctx: Context) -> Iterator[Finding]:
    try:
        corrections = get_spell_checker().check(ctx.source)
    except Exception:  # noqa: BLE001 — a broken model must not take the rest of the review down
        logging.getLogger("haoban.gongwen").exception("spelling check failed")
        ctx.notices.append("错别字检查出错，本次未检查错别字；请联系管理员查看日志")
        return
    for c in corrections:
        if not (0 <= c.start < c.end <= len(ctx.source)) or ctx.source[c.start : c.end] != c.wrong:
            continue
        sure = c.confidence >= 0.9
        yield ctx.finding(
            "wording.typo", c.start, c.end, f"疑似错别字：“{c.wrong}”" + (f"（{c.reason}）" if c.reason else ""),
            f"改为“{c.suggestion}”", replacement=c.suggestion if sure else None,
            severity="warning" if sure else "info",
        )
