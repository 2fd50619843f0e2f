"""The 公文 document model: the elements of 《党政机关公文处理工作条例》第九条 and GB/T 9704-2012, read from
plain text (what the knowledge engine's parsers give for DOCX, OFD, PDF, TXT) and written back.

Every element read from text keeps its character span in ``Gongwen.source``, so review findings and the
editor can point at the exact place. Elements built by drafting have no span (start = end = -1).

Reading is heuristic, like any reading of free text: it follows the order GB/T 9704 prescribes (版头 →
主体 → 版记) and tolerates the common variants seen in published documents (title printed above the
发文字号 on web pages, signature and date on one line, Chinese-numeral dates, no 版记 at all).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from haoban.apps.gongwen.doctypes import DocType, type_of_title
from haoban.errors import EmptyFile, InvalidInput
from haoban.knowledge.parse import parse_bytes, parse_file
from haoban.knowledge.parse.base import normalise_newlines

MAX_CHARS = 500_000  # a 公文 with its attachments; longer input is not a document but a corpus
# CJK plus the placeholders templates use for names (××市, ＸＸ局).
_CJK = r"\u3400-\u9fff×Ｘ○"


class Part(BaseModel):
    """One element's text and where it sits in the source text (end exclusive; -1 when not from text)."""

    text: str
    start: int = -1
    end: int = -1


class Paragraph(Part):
    """A paragraph of the 正文. ``level`` 0 is body text; 1–4 are the headings 一、（一）1.（1）."""

    level: int = 0
    number: str = ""  # the heading label as written: "一、", "（二）", "3.", "（4）"


class Attachment(BaseModel):
    """An attachment (附件): its number, title and text (may be empty when only named in 附件说明)."""

    number: str = ""
    title: Part
    body: list[Paragraph] = []


class Gongwen(BaseModel):
    """A 公文, element by element. Optional elements are None or empty when absent."""

    # 版头
    copy_number: Part | None = None  # 份号
    secrecy: Part | None = None  # 密级和保密期限
    urgency: Part | None = None  # 紧急程度
    issuer_mark: Part | None = None  # 发文机关标志
    doc_number: Part | None = None  # 发文字号
    signers: list[Part] = []  # 签发人
    # 主体
    title: Part | None = None
    addressee: Part | None = None  # 主送机关
    body: list[Paragraph] = []
    attachment_notes: list[Part] = []  # 附件说明, one item per attachment
    signatory: Part | None = None  # 发文机关署名
    date: Part | None = None  # 成文日期
    seal: bool = False  # 印章：drafts carry a placeholder, layout leaves room for it
    note: Part | None = None  # 附注
    attachments: list[Attachment] = []
    # 版记
    cc: Part | None = None  # 抄送机关
    printer: Part | None = None  # 印发机关
    print_date: Part | None = None  # 印发日期
    # what it was read from
    source: str = ""
    doc_type: str | None = Field(default=None, description="文种，由标题判断")

    def type_info(self) -> DocType | None:
        return type_of_title(self.title.text) if self.title else None

    def body_text(self) -> str:
        return "\n".join(p.text for p in self.body)

    def to_text(self) -> str:
        """The document as plain text in GB/T 9704 order, one element or paragraph per line."""
        return "\n".join(_lines(self))


# --- recognising lines ---------------------------------------------------------------------------------

_COPY_NUMBER = re.compile(r"\d{6}")
_SECRECY = re.compile(r"(绝密|机密|秘密)\s*(★\s*\S{0,12})?")
_URGENCY = re.compile(r"特急|加急|特提|平急")
_ISSUER_MARK = re.compile(rf"[{_CJK}、\s]{{2,60}}文\s*件|[{_CJK}、\s]{{2,60}}(?:函|令|纪要)")
_DOC_NUMBER = re.compile(
    rf"[{_CJK}]{{1,12}}\s*[〔\[［(（【{{]\s*(?:19|20)\d{{2}}\s*[〕\]］)）】}}]\s*第?\s*\d{{1,5}}\s*号"
)
_SIGNER = re.compile(r"签\s*发\s*人\s*[:：]\s*(?P<names>.+)")
_DATE = re.compile(
    r"[（(]?\s*(?:\d{4}|[〇○零Ｏ一二三四五六七八九]{4})\s*年\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*月"
    r"\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*日\s*[）)]?"
)
_SIGNED_DATE = re.compile(rf"(?P<org>[{_CJK}][^\s，。：:]{{1,30}}(?:\s+[^\s，。：:]{{2,30}})*)\s+(?P<date>{_DATE.pattern})")
# "附件：1.xxx", and the common slip "附件1.xxx" without the colon (still the 附件说明).
_ATTACHMENT_NOTE = re.compile(r"附\s*件\s*(?:[:：]\s*|(?=\d{1,2}\s*[.．、]\s*\S))(?P<rest>.*)")
_NOTE_ITEM = re.compile(r"(?P<num>\d{1,2})\s*[.．、]\s*(?P<title>\S.*)")
_ATTACHMENT_HEAD = re.compile(r"附\s*件\s*(?P<num>\d{0,2})\s*[:：.．]?")
_CC = re.compile(r"抄\s*送\s*[:：]\s*(?P<rest>.*)")
_PRINTED = re.compile(rf"(?P<org>[{_CJK}][^\s]{{1,40}}?)\s+(?P<date>{_DATE.pattern})\s*印\s*发")
# 附注 under the date: "（此件公开发布）", "（联系人：…）", "（本文有删减）".
_NOTE = re.compile(r"[（(][^（）()]{2,60}[）)]")
_ORDER_NUMBER = re.compile(r"第\s*\d{1,6}\s*号")
_SENTENCE_END = tuple("。！？；，")

HEADING_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(r"[一二三四五六七八九十]{1,3}、")),
    (2, re.compile(r"[（(][一二三四五六七八九十]{1,3}[）)]")),
    (3, re.compile(r"\d{1,2}[.．](?!\d)")),
    (4, re.compile(r"[（(]\d{1,2}[）)]")),
]


def heading_of(line: str) -> tuple[int, str]:
    """(level, label) of a paragraph: 一、 → 1, （一） → 2, 1. → 3, （1） → 4; (0, "") for body text."""
    for level, pattern in HEADING_PATTERNS:
        match = pattern.match(line)
        if match:
            return level, match.group()
    return 0, ""


def _signature_like(line: str) -> bool:
    return 2 <= len(line) <= 40 and re.search(rf"[{_CJK}]", line) is not None and not re.search(r"[，。：:！？；]", line)


_TYPE_END = r"(?:通知|意见|决定|批复|函|通报|报告|请示|纪要|公告|通告|令|决议|公报|议案)"
# A title wrongly closed with a full stop ("关于……的通知。") is still the title (review flags the stop).
_PUNCTUATED_TITLE = re.compile(rf".*(?:关于|的).*{_TYPE_END}[。，；！？.]")


def _title_like(line: str) -> bool:
    if len(line) > 60 or _DATE.fullmatch(line):
        return False
    return not line.endswith(_SENTENCE_END + ("：", ":")) or _PUNCTUATED_TITLE.fullmatch(line) is not None


# --- reading -----------------------------------------------------------------------------------------------


class _Lines:
    """Non-blank lines of the source with their spans (stripped of surrounding blanks)."""

    def __init__(self, source: str):
        self.items: list[tuple[str, int, int]] = []
        pos = 0
        for raw in source.split("\n"):
            stripped = raw.strip(" \t\u3000\r")
            if stripped:
                start = pos + raw.index(stripped)
                self.items.append((stripped, start, start + len(stripped)))
            pos += len(raw) + 1

    def part(self, i: int) -> Part:
        text, start, end = self.items[i]
        return Part(text=text, start=start, end=end)

    def sub(self, i: int, match: re.Match[str], group: str | int = 0) -> Part:
        _, start, _ = self.items[i]
        return Part(text=match.group(group).strip(), start=start + match.start(group), end=start + match.end(group))

    def text(self, i: int) -> str:
        return self.items[i][0]

    def __len__(self) -> int:
        return len(self.items)


def parse_text(text: str) -> Gongwen:
    """Read a 公文 from plain text. Never fails on odd text: what is not recognised stays in the 正文."""
    if text is None or not text.strip():
        raise EmptyFile("公文内容为空", code="GONGWEN_EMPTY")
    if len(text) > MAX_CHARS:
        raise InvalidInput(
            f"公文过长（{len(text)} 字），上限 {MAX_CHARS} 字", code="GONGWEN_TOO_LONG", detail={"chars": len(text)}
        )
    source = normalise_newlines(text)
    lines = _Lines(source)
    doc = Gongwen(source=source)
    i = _read_masthead(lines, doc)
    i = _read_title_and_addressee(lines, doc, i)
    end = _read_record(lines, doc)  # 版记 at the very end
    end = _read_closing(lines, doc, i, end)
    doc.body = [_paragraph(lines, k) for k in range(i, end)]
    info = doc.type_info()
    doc.doc_type = info.name if info else None
    return doc


def _read_masthead(lines: _Lines, doc: Gongwen) -> int:
    """份号, 密级, 紧急程度, 发文机关标志, 发文字号 and 签发人 in the first lines; returns where the rest starts."""
    i = 0
    limit = min(len(lines), 12)
    title_seen_at: int | None = None
    while i < limit:
        line = lines.text(i)
        if doc.copy_number is None and _COPY_NUMBER.fullmatch(line):
            doc.copy_number = lines.part(i)
        elif doc.secrecy is None and (m := _SECRECY.fullmatch(line)):
            doc.secrecy = lines.part(i)
        elif doc.urgency is None and _URGENCY.fullmatch(line):
            doc.urgency = lines.part(i)
        elif doc.doc_number is None and (m := _DOC_NUMBER.search(line)) and len(line) - len(m.group()) <= 30:
            doc.doc_number = lines.sub(i, m)
            signer = _SIGNER.search(line)
            if signer:
                doc.signers = _signers(lines, i, signer)
        elif doc.doc_number is None and doc.issuer_mark and doc.issuer_mark.text.endswith("令") and _ORDER_NUMBER.fullmatch(line):
            doc.doc_number = lines.part(i)  # 令 are numbered "第707号" under the mark
        elif (signer := _SIGNER.match(line)) is not None:
            doc.signers = _signers(lines, i, signer)
        elif doc.issuer_mark is None and doc.doc_number is None and title_seen_at is None and _ISSUER_MARK.fullmatch(line) and "关于" not in line:
            doc.issuer_mark = lines.part(i)
        elif doc.doc_number is None and title_seen_at is None and _title_like(line) and i + 4 < len(lines):
            # Web pages print the title above the 发文字号: remember where, decide when the number shows.
            title_seen_at = i
        elif title_seen_at is None or doc.doc_number is not None:
            break
        i += 1
        if doc.doc_number is not None and title_seen_at is not None:
            _take_title(lines, doc, title_seen_at, i - 1)
            return i
    if title_seen_at is not None and doc.doc_number is None:
        return title_seen_at
    return i


def _signers(lines: _Lines, i: int, match: re.Match[str]) -> list[Part]:
    _, start, _ = lines.items[i]
    out = []
    for name in re.finditer(r"[^\s、，,]+", match.group("names")):
        s = start + match.start("names") + name.start()
        out.append(Part(text=name.group(), start=s, end=s + len(name.group())))
    return out


def _take_title(lines: _Lines, doc: Gongwen, first: int, end: int) -> None:
    """Title lines first..end (exclusive), joined; the span covers them all."""
    if first >= end:
        return
    text = "".join(lines.text(k) for k in range(first, end))
    doc.title = _compacted(Part(text=text, start=lines.items[first][1], end=lines.items[end - 1][2]))


def _read_title_and_addressee(lines: _Lines, doc: Gongwen, i: int) -> int:
    if doc.title is None and i < len(lines):
        first = i
        while i < len(lines) and i - first < 4 and _title_like(lines.text(i)) and not heading_of(lines.text(i))[0]:
            i += 1
            if re.search(rf"{_TYPE_END}[。，；！？.]?$", lines.text(i - 1)):
                break
        if i > first:
            _take_title(lines, doc, first, i)
        if doc.doc_number is None and i < len(lines) and (m := _DOC_NUMBER.search(lines.text(i))):
            if len(lines.text(i)) - len(m.group()) <= 30:
                doc.doc_number = lines.sub(i, m)
                i += 1
    if i < len(lines):
        line = lines.text(i)
        if line.endswith(("：", ":")) and len(line) <= 200 and "。" not in line and not heading_of(line)[0]:
            doc.addressee = Part(text=line[:-1], start=lines.items[i][1], end=lines.items[i][2] - 1)
            i += 1
    return i


def _read_record(lines: _Lines, doc: Gongwen) -> int:
    """抄送 and 印发 lines at the end (版记); returns the end of what comes before them."""
    end = len(lines)
    for k in range(len(lines) - 1, max(-1, len(lines) - 6), -1):
        line = lines.text(k)
        if doc.printer is None and (m := _PRINTED.fullmatch(line)):
            doc.printer = lines.sub(k, m, "org")
            doc.print_date = lines.sub(k, m, "date")
            end = k
        elif doc.cc is None and (m := _CC.match(line)):
            cc = lines.sub(k, m, "rest")
            trimmed = cc.text.rstrip("。")
            doc.cc = Part(text=trimmed, start=cc.start, end=cc.start + len(trimmed))
            end = k
        elif end < len(lines):
            break
    return end


def _main_date_at(lines: _Lines, start: int, end: int) -> int | None:
    """The line of the main document's 成文日期: the first date line under a signature (attachments and
    forwarded documents after it may carry dates of their own), else the last date line."""
    last = None
    for k in range(start, end):
        line = lines.text(k)
        if _SIGNED_DATE.fullmatch(line) and len(line) <= 80:
            return k
        if _DATE.fullmatch(line):
            if k > start and _signature_like(lines.text(k - 1)) and not heading_of(lines.text(k - 1))[0]:
                return k
            last = k
    return last


def _read_closing(lines: _Lines, doc: Gongwen, start: int, end: int) -> int:
    """发文机关署名, 成文日期, 附注, attachments and 附件说明; returns the end of the 正文."""
    k = _main_date_at(lines, start, end)
    if k is None:
        return end
    if (m := _SIGNED_DATE.fullmatch(lines.text(k))) and not _DATE.fullmatch(lines.text(k)):
        doc.signatory = lines.sub(k, m, "org")
        doc.date = lines.sub(k, m, "date")
        body_end = k
    else:
        doc.date = lines.part(k)
        body_end = k
        if k - 1 >= start and _signature_like(lines.text(k - 1)) and not heading_of(lines.text(k - 1))[0]:
            doc.signatory = lines.part(k - 1)
            body_end = k - 1
    doc.seal = True  # a signed document is sealed; the text layer only shows where
    after = k + 1
    if after < end and _NOTE.fullmatch(lines.text(after)):
        doc.note = lines.part(after)
        after += 1
    _read_attachments(lines, doc, after, end)
    return _read_attachment_notes(lines, doc, start, body_end)


def _read_attachments(lines: _Lines, doc: Gongwen, start: int, end: int) -> None:
    """What follows the main document: attachments headed "附件" / "附件2", or a document printed with it
    (印发/转发 notices put the issued text right after the date, with no "附件" line)."""
    k = start
    while k < end:
        head = _ATTACHMENT_HEAD.fullmatch(lines.text(k))
        number = head.group("num") if head else ""
        first = k + 1 if head else k
        if first >= end:
            break
        body: list[Paragraph] = []
        j = first + 1
        while j < end and not _ATTACHMENT_HEAD.fullmatch(lines.text(j)):
            body.append(_paragraph(lines, j))
            j += 1
        doc.attachments.append(Attachment(number=number, title=_compacted(lines.part(first)), body=body))
        k = j


def _read_attachment_notes(lines: _Lines, doc: Gongwen, start: int, end: int) -> int:
    """附件说明 just above the signature: "附件：1.xxx" then "2.xxx" lines; returns the end of the 正文."""
    j = end - 1
    while j >= start and _NOTE_ITEM.fullmatch(lines.text(j)) and not _ATTACHMENT_NOTE.match(lines.text(j)):
        j -= 1
    if j >= start and (m := _ATTACHMENT_NOTE.match(lines.text(j))):
        items: list[Part] = []
        if m.group("rest"):
            items.append(lines.sub(j, m, "rest"))
        items += [lines.part(x) for x in range(j + 1, end)]
        doc.attachment_notes = items
        return j
    return end


def _paragraph(lines: _Lines, k: int) -> Paragraph:
    level, number = heading_of(lines.text(k))
    part = lines.part(k)
    return Paragraph(text=part.text, start=part.start, end=part.end, level=level, number=number)


def _compacted(part: Part) -> Part:
    """Titles are often spaced out for layout ("几 个 问 题 的 通 知"): drop spaces between Chinese characters."""
    text = re.sub(rf"(?<=[{_CJK}、“”《》（）])[ \u3000]+(?=[{_CJK}、“”《》（）])", "", part.text)
    return Part(text=text, start=part.start, end=part.end)


# --- reading files ---------------------------------------------------------------------------------------------


def parse_document_bytes(data: bytes, filename: str, *, max_bytes: int) -> Gongwen:
    """Read a 公文 from a DOCX, OFD, PDF, TXT or HTML file's bytes, through the knowledge engine's parsers."""
    return parse_text(parse_bytes(data, filename, max_bytes=max_bytes).text)


def parse_document_file(path: Path, *, max_bytes: int) -> Gongwen:
    return parse_text(parse_file(path, max_bytes=max_bytes).text)


# --- writing back ---------------------------------------------------------------------------------------------


def _lines(doc: Gongwen) -> list[str]:
    out: list[str] = []
    for part in (doc.copy_number, doc.secrecy, doc.urgency, doc.issuer_mark):
        if part:
            out.append(part.text)
    if doc.doc_number:
        signer = f"    签发人：{'、'.join(p.text for p in doc.signers)}" if doc.signers else ""
        out.append(doc.doc_number.text + signer)
    if doc.title:
        out.append(doc.title.text)
    if doc.addressee:
        out.append(doc.addressee.text + "：")
    out += [p.text for p in doc.body]
    for n, item in enumerate(doc.attachment_notes):
        out.append(("附件：" if n == 0 else "") + item.text)
    if doc.signatory:
        out.append(doc.signatory.text)
    if doc.date:
        out.append(doc.date.text)
    if doc.note:
        out.append(doc.note.text)
    for attachment in doc.attachments:
        out.append(f"附件{attachment.number}")
        out.append(attachment.title.text)
        out += [p.text for p in attachment.body]
    if doc.cc:
        out.append(f"抄送：{doc.cc.text}。")
    if doc.printer or doc.print_date:
        printer = doc.printer.text if doc.printer else ""
        date = doc.print_date.text if doc.print_date else ""
        out.append(f"{printer}    {date}印发".strip())
    return out
