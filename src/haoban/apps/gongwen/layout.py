"""智能排版: a 公文 written out as DOCX in the national layout, GB/T 9704-2012 《党政机关公文格式》.

What the standard fixes and how it is written here:

- A4, 版心 156 × 225 mm: margins top 37, bottom 35, left 28, right 26 mm.
- 22 lines × 28 characters: a ``linesAndChars`` document grid (line pitch 579 twips, character pitch
  3号 16 pt compressed to 15.79 pt) *and* exact line spacing of the same pitch on every paragraph, so the
  grid holds whatever font is substituted (an "auto" line height would follow the font's ascent).
- Fonts by element (正文 3号仿宋, 标题 2号小标宋, 一级标题黑体, 二级楷体, 页码 4号宋体 …) are written with the
  standard names in ``w:eastAsia``; ``LayoutOptions.fonts`` can substitute installed fonts instead (the
  verification on Debian uses Noto Serif/Sans CJK SC and AR PL UKai CN, see ``DEBIAN_FONT_MAP``).
- 版头: 份号/密级/紧急程度 top-left, red 发文机关标志 35 mm under the top of the 版心, 发文字号 two lines
  under it (centred; 上行文 left with 签发人 on the right), red separator line 4 mm under the 发文字号.
- 主体: title two lines under the separator, 主送机关, 正文 (headings 一、（一）1.（1）), 附件说明 with hanging
  items, 署名 centred over the 成文日期 which is right-indented 4 characters (加盖印章; without a seal the
  standard's 右空二字 rule), 附注, attachments each on a new page.
- 版记 (抄送, 印发机关和印发日期 between thick/thin rules, a borderless-sided table) in its own section that
  starts on an even page, pushed down by an empty line of the remaining height so the last rule lies on
  the bottom edge of the 版心 (LibreOffice ignores frames and floating tables anchored to the bottom).
- Page numbers "— 1 —" 4号 半角宋体, 7 mm under the 版心, odd pages right and even pages left, one
  character in from the edge (separate odd and even footers).

The layout is checked by rendering to PDF with LibreOffice (``layout_check.py``, tests/test_layout.py).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from functools import lru_cache
from typing import Literal

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from pydantic import BaseModel, Field

from haoban.apps.gongwen.doctypes import type_of_title
from haoban.apps.gongwen.document import (
    _CJK,
    _DATE,
    Attachment,
    Gongwen,
    Paragraph,
    heading_of,
    parse_text,
)
from haoban.errors import InvalidInput

# --- geometry (twips: 1/20 pt; 1 mm = 56.6929 twips) --------------------------------------------------------

MM = 1440 / 25.4
PAGE_W, PAGE_H = 11906, 16838  # A4
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = 37, 35, 28, 26  # mm
TEXT_W_MM, TEXT_H_MM = 156, 225
LINES_PER_PAGE, CHARS_PER_LINE = 22, 28
# 225 mm / 22 = 579.8 twips; 580 would not fit 22 lines, so round down.
LINE_PITCH = int(TEXT_H_MM * MM / LINES_PER_PAGE)
BODY_PT = 16  # 3号
# Character pitch 156 mm / 28 = 15.79 pt, written as the grid's compression of the 16 pt default font in
# 1/4096 pt; a few units of margin so rounding in a renderer never turns 28 characters into 27.
CHAR_PITCH_PT = TEXT_W_MM * 72 / 25.4 / CHARS_PER_LINE
CHAR_SPACE = int((CHAR_PITCH_PT - BODY_PT) * 4096) - 8
CHAR_TW = int(CHAR_PITCH_PT * 20)  # one character of the grid, in twips
# LibreOffice puts a 16 pt character into *two* cells of a 15.79 pt character grid (Word squeezes it into
# one), so paragraphs do not snap to the character grid; the 28-per-line pitch comes from −0.3 pt
# character spacing on 3号 runs instead (15.7 pt × 28 = 439.6 pt ≤ 442.2 pt; 29 would not fit; −0.25 pt left
# LibreOffice one short), which every
# renderer honours. The docGrid is still written, so Word/WPS page setup shows 22 × 28.
BODY_SPACING_TW = -6

SIZES = {"初号": 42, "小初": 36, "一号": 26, "二号": 22, "三号": 16, "四号": 14}
RED = "FF0000"

# --- fonts ---------------------------------------------------------------------------------------------------

TITLE_FONT = "方正小标宋_GBK"
BODY_FONT = "仿宋_GB2312"
HEI_FONT = "黑体"
KAI_FONT = "楷体_GB2312"
SONG_FONT = "宋体"
LATIN_FONT = "Times New Roman"

# Free fonts packaged by Debian (fonts-noto-cjk, fonts-arphic-ukai; scripts/install-system-deps.sh): the
# closest stand-ins for the standard ones. There is no free 仿宋 with GB 2312 coverage in Debian, so the
# serif (宋) face stands in for it; widths are the same (full-width CJK), so the layout is identical.
DEBIAN_FONT_MAP: dict[str, str] = {
    TITLE_FONT: "Noto Serif CJK SC",
    BODY_FONT: "Noto Serif CJK SC",
    HEI_FONT: "Noto Sans CJK SC",
    KAI_FONT: "AR PL UKai CN",
    SONG_FONT: "Noto Serif CJK SC",
    LATIN_FONT: "Liberation Serif",
}


class LayoutOptions(BaseModel):
    """How to lay a 公文 out. The defaults follow GB/T 9704-2012 with the standard font names."""

    fonts: Literal["standard", "substitute", "auto"] = Field(
        default="standard",
        description="standard：写标准字体名（收文方电脑装有方正小标宋、仿宋_GB2312 等）；substitute：按 font_map "
        "全部替换；auto：只替换本机（fc-list）没有的字体",
    )
    font_map: dict[str, str] = Field(default_factory=lambda: dict(DEBIAN_FONT_MAP))
    upward: bool | None = Field(default=None, description="上行文（发文字号居左、签发人居右）；None 时按文种和签发人判断")
    red_masthead: bool = True
    mark_top_mm: float = Field(default=35.0, ge=0, le=120, description="发文机关标志上边缘至版心上边缘的距离")
    mark_size_pt: float | None = Field(default=None, ge=12, le=80, description="发文机关标志字号；None 时按字数取")
    record_on_even_page: bool = Field(default=True, description="版记另起偶数页，置于版心底部")
    page_numbers: bool = True

    def font(self, name: str) -> str:
        if self.fonts == "standard":
            return name
        if self.fonts == "substitute" or not font_installed(name):
            return self.font_map.get(name, name)
        return name


@lru_cache(maxsize=64)
def font_installed(name: str) -> bool:
    """Whether fontconfig knows a family called ``name`` (False when fc-list itself is missing)."""
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, timeout=30).stdout
    families = {f.strip() for line in out.splitlines() for f in line.split(",")}
    return name in families


# --- low-level XML helpers ------------------------------------------------------------------------------


def _el(tag: str, **attrs: str | int) -> OxmlElement:
    element = OxmlElement(tag)
    for key, value in attrs.items():
        element.set(qn(f"w:{key}"), str(value))
    return element


def _run_props(font: str, size_pt: float, *, latin: str, bold: bool = False, color: str | None = None,
               spacing_tw: int | None = None) -> OxmlElement:
    rpr = _el("w:rPr")
    rpr.append(_el("w:rFonts", ascii=latin, hAnsi=latin, eastAsia=font, cs=latin, hint="eastAsia"))
    if bold:
        rpr.append(_el("w:b"))
        rpr.append(_el("w:bCs"))
    if color:
        rpr.append(_el("w:color", val=color))
    if spacing_tw is not None:
        rpr.append(_el("w:spacing", val=spacing_tw))
    half_points = int(round(size_pt * 2))
    rpr.append(_el("w:sz", val=half_points))
    rpr.append(_el("w:szCs", val=half_points))
    rpr.append(_el("w:lang", val="en-US", eastAsia="zh-CN", bidi="ar-SA"))
    return rpr


class _Writer:
    """Appends paragraphs to the document body with the layout's fonts and measures."""

    def __init__(self, options: LayoutOptions):
        self.options = options
        self.document = Document()
        self.body = self.document.element.body
        for child in list(self.body):
            if child.tag != qn("w:sectPr"):
                self.body.remove(child)
        self.sect_pr = self.body.find(qn("w:sectPr"))
        self._setup_styles()

    # fonts by role
    def font(self, name: str) -> str:
        return self.options.font(name)

    @property
    def latin(self) -> str:
        return self.options.font(LATIN_FONT)

    def _setup_styles(self) -> None:
        styles = self.document.styles.element
        defaults = styles.find(qn("w:docDefaults"))
        styles.remove(defaults)
        defaults = _el("w:docDefaults")
        rpr_default = _el("w:rPrDefault")
        rpr_default.append(_run_props(self.font(BODY_FONT), BODY_PT, latin=self.latin, spacing_tw=BODY_SPACING_TW))
        ppr_default = _el("w:pPrDefault")
        ppr = _el("w:pPr")
        ppr.append(_el("w:widowControl", val=0))  # an orphan rule would leave pages with 21 lines
        ppr.append(_el("w:spacing", before=0, after=0, line=LINE_PITCH, lineRule="exact"))
        ppr_default.append(ppr)
        defaults.append(rpr_default)
        defaults.append(ppr_default)
        styles.insert(0, defaults)
        normal = self.document.styles["Normal"].element
        for child in list(normal):
            if child.tag in (qn("w:rPr"), qn("w:pPr")):
                normal.remove(child)
        normal_ppr = _el("w:pPr")
        normal_ppr.append(_el("w:widowControl", val=0))
        normal_ppr.append(_el("w:overflowPunct", val=0))  # punctuation hanging past the margin makes 29
        normal_ppr.append(_el("w:snapToGrid", val=0))
        normal_ppr.append(_el("w:spacing", before=0, after=0, line=LINE_PITCH, lineRule="exact"))
        normal_ppr.append(_el("w:jc", val="both"))
        normal.append(normal_ppr)
        normal.append(_run_props(self.font(BODY_FONT), BODY_PT, latin=self.latin, spacing_tw=BODY_SPACING_TW))

    def paragraph(
        self,
        runs: list[tuple[str, OxmlElement]] | None = None,
        *,
        jc: str = "both",
        first_chars: float = 0,
        left_chars: float = 0,
        right_chars: float = 0,
        hanging_chars: float = 0,
        line: int = LINE_PITCH,
        before: int = 0,
        page_break_before: bool = False,
        extra: list[OxmlElement] | None = None,
        tabs: list[tuple[str, int]] | None = None,
        parent: OxmlElement | None = None,
    ) -> OxmlElement:
        p = _el("w:p")
        ppr = _el("w:pPr")
        # Children of w:pPr must follow the schema order.
        if page_break_before:
            ppr.append(_el("w:pageBreakBefore"))
        for element in extra or []:
            if element.tag in (qn("w:framePr"),):
                ppr.append(element)
        ppr.append(_el("w:widowControl", val=0))
        for element in extra or []:
            if element.tag == qn("w:pBdr"):
                ppr.append(element)
        if tabs:
            tabs_el = _el("w:tabs")
            for kind, pos in tabs:
                tabs_el.append(_el("w:tab", val=kind, pos=pos))
            ppr.append(tabs_el)
        ppr.append(_el("w:overflowPunct", val=0))
        ppr.append(_el("w:snapToGrid", val=0))
        ppr.append(_el("w:spacing", before=before, after=0, line=line, lineRule="exact"))
        ind: dict[str, int] = {}
        if left_chars:
            ind |= {"leftChars": int(left_chars * 100), "left": int(left_chars * CHAR_TW)}
        if right_chars:
            ind |= {"rightChars": int(right_chars * 100), "right": int(right_chars * CHAR_TW)}
        if first_chars:
            ind |= {"firstLineChars": int(first_chars * 100), "firstLine": int(first_chars * CHAR_TW)}
        if hanging_chars:
            ind |= {"hangingChars": int(hanging_chars * 100), "hanging": int(hanging_chars * CHAR_TW)}
        if ind:
            ppr.append(_el("w:ind", **ind))
        ppr.append(_el("w:jc", val=jc))
        p.append(ppr)
        for text, rpr in runs or []:
            p.append(_run(text, rpr))
        if parent is not None:
            parent.append(p)
        else:
            self._append(p)
        return p

    def _append(self, element: OxmlElement) -> None:
        self.sect_pr.addprevious(element)

    def blank(self, n: int = 1) -> None:
        for _ in range(n):
            self.paragraph()

    def rpr(self, font: str, size_pt: float = BODY_PT, **kwargs) -> OxmlElement:
        if size_pt == BODY_PT:
            kwargs.setdefault("spacing_tw", BODY_SPACING_TW)
        return _run_props(self.font(font), size_pt, latin=self.latin, **kwargs)


def _run(text: str, rpr: OxmlElement) -> OxmlElement:
    r = _el("w:r")
    r.append(_copy(rpr))
    pieces = text.split("\t")
    for k, piece in enumerate(pieces):
        if k:
            r.append(_el("w:tab"))
        if "\n" in piece:
            for j, line in enumerate(piece.split("\n")):
                if j:
                    r.append(_el("w:br"))
                _text(r, line)
        else:
            _text(r, piece)
    return r


def _text(run: OxmlElement, text: str) -> None:
    if not text:
        return
    t = _el("w:t")
    t.text = text
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    run.append(t)


def _copy(element: OxmlElement) -> OxmlElement:
    from copy import deepcopy

    return deepcopy(element)


def text_width_chars(text: str) -> float:
    """Width in characters of the grid: CJK and full-width one, ASCII half."""
    return sum(0.5 if ord(ch) < 0x2E80 and ch not in "—…“”‘’·" else 1.0 for ch in text)


# --- the document ------------------------------------------------------------------------------------------


def render_docx(doc: Gongwen, *, options: LayoutOptions | None = None) -> bytes:
    """The 公文 as a DOCX in the GB/T 9704-2012 layout."""
    if not isinstance(doc, Gongwen):
        raise InvalidInput("排版需要一份公文（Gongwen）", code="GONGWEN_LAYOUT_BAD_INPUT")
    options = options or LayoutOptions()
    w = _Writer(options)
    _page_setup(w)
    _masthead(w, doc)
    _main(w, doc)
    for n, attachment in enumerate(doc.attachments):
        _attachment(w, attachment, n)
    if doc.cc or doc.printer or doc.print_date:
        _record(w, doc)
    if options.page_numbers:
        _page_numbers(w)
    buffer = io.BytesIO()
    w.document.save(buffer)
    return buffer.getvalue()


def _page_setup(w: _Writer) -> None:
    sect = w.sect_pr
    for child in list(sect):
        sect.remove(child)
    _fill_sect(sect)


def _fill_sect(sect: OxmlElement, *, start_even: bool = False) -> None:
    if start_even:
        sect.append(_el("w:type", val="evenPage"))
    sect.append(_el("w:pgSz", w=PAGE_W, h=PAGE_H))
    # The footer distance puts the page number's dashes about 7 mm under the 版心 (measured in LibreOffice).
    sect.append(_el(
        "w:pgMar", top=round(MARGIN_TOP * MM), right=round(MARGIN_RIGHT * MM), bottom=round(MARGIN_BOTTOM * MM),
        left=round(MARGIN_LEFT * MM), header=round(15 * MM), footer=round(FOOTER_MM * MM), gutter=0,
    ))
    sect.append(_el("w:cols", space=425))
    sect.append(_el("w:docGrid", type="linesAndChars", linePitch=LINE_PITCH, charSpace=CHAR_SPACE))


FOOTER_MM = 24.5


def _upward(doc: Gongwen, options: LayoutOptions) -> bool:
    if options.upward is not None:
        return options.upward
    if doc.signers:
        return True
    info = type_of_title(doc.title.text) if doc.title else None
    return bool(info and info.direction == "上行")


def _masthead(w: _Writer, doc: Gongwen) -> None:
    options = w.options
    top_lines = 0
    for part, font in ((doc.copy_number, BODY_FONT), (doc.secrecy, HEI_FONT), (doc.urgency, HEI_FONT)):
        if part:
            w.paragraph([(part.text, w.rpr(font))], jc="left")
            top_lines += 1
    color = RED if options.red_masthead else None
    # 命令（令）格式 (GB/T 9704 10.2): mark 20 mm under the top of the 版心, 令号 two lines under it, no
    # separator line, the text two lines under the 令号.
    order = bool(doc.issuer_mark and re.search(r"(?:命令|令)$", doc.issuer_mark.text.strip()))
    mark_top = min(options.mark_top_mm, 20.0) if order else options.mark_top_mm
    if doc.issuer_mark:
        text = doc.issuer_mark.text.replace(" ", "")
        size = options.mark_size_pt or min(48.0, 440 / max(1, text_width_chars(text)))
        lines = -(-int(size * 20 * 1.15) // LINE_PITCH)  # whole grid lines, so what follows stays on the grid
        # LibreOffice puts a large font's glyph top at the top of its (exact) line box.
        before = max(0, round(mark_top * MM) - top_lines * LINE_PITCH)
        w.paragraph([(text, w.rpr(TITLE_FONT, size, color=color))], jc="center", line=lines * LINE_PITCH,
                    before=before)
        # 发文字号 "在发文机关标志下空二行": about two lines, as much as brings it back onto the line grid.
        r = before % LINE_PITCH
        w.paragraph(line=(2 * LINE_PITCH - r) if r <= LINE_PITCH // 2 else (3 * LINE_PITCH - r))
    if doc.doc_number or doc.signers:
        number = doc.doc_number.text if doc.doc_number else ""
        if _upward(doc, options) and doc.signers:
            names = "　".join(p.text for p in doc.signers)
            w.paragraph(
                [("　" + number + "\t签发人：", w.rpr(BODY_FONT)), (names + "　", w.rpr(KAI_FONT))],
                jc="left", tabs=[("right", int(CHARS_PER_LINE * CHAR_TW))],
            )
        elif _upward(doc, options):
            w.paragraph([(number, w.rpr(BODY_FONT))], jc="left", left_chars=1)
        else:
            w.paragraph([(number, w.rpr(BODY_FONT))], jc="center")
    if order:
        w.blank(2)
    elif doc.issuer_mark or doc.doc_number:
        # 版头中的分隔线: red, as wide as the 版心, 4 mm under the 发文字号 line, as the bottom border of an
        # empty paragraph. The glyphs end ~2.3 mm above the bottom of their line box, so the rule goes ~2 mm under it; a spacer
        # then brings the title back onto the line grid two lines under the 发文字号 line.
        border = _el("w:pBdr")
        border.append(_el("w:bottom", val="single", sz=12, space=0, color=RED if options.red_masthead else "000000"))
        rule_gap = round(1.6 * MM)
        w.paragraph(line=rule_gap, extra=[border])
        w.paragraph(line=2 * LINE_PITCH - rule_gap - 30)  # minus the rule's own 1.5 pt


def _balanced_title(text: str, max_chars: int) -> str:
    """Long titles are broken into lines of similar length ("梯形或菱形", "词意完整"): only between words
    (jieba), never inside 《》“”（）, preferably after 关于 / before 的; lines joined with newlines (w:br)."""
    if text_width_chars(text) <= max_chars:
        return text
    import jieba  # lazy: a second to load its dictionary, only needed for long titles

    cuts: set[int] = set()
    pos = 0
    for word in jieba.cut(text):
        pos += len(word)
        cuts.add(pos)
    n_lines = -(-int(text_width_chars(text)) // max_chars)
    lines: list[str] = []
    rest, offset = text, 0
    while len(lines) < n_lines - 1 and text_width_chars(rest) > max_chars:
        target = len(rest) / (n_lines - len(lines))
        best, best_cost = None, 1e9
        depth = 0
        for k, ch in enumerate(rest[:-1]):
            depth += 1 if ch in "《“（" else -1 if ch in "》”）" else 0
            cut = k + 1
            if depth > 0 or text_width_chars(rest[:cut]) > max_chars:
                continue
            cost = abs(cut - target) + (0 if offset + cut in cuts else 6)
            if rest[:cut].endswith(("关于", "、")) or rest[cut:].startswith(("的", "《", "“")):
                cost -= 1.5
            if re.match(r"[，。、）》”]", rest[cut]):
                cost += 50  # never start a line with closing punctuation
            if cost < best_cost:
                best, best_cost = cut, cost
        if best is None:
            break
        lines.append(rest[:best])
        rest, offset = rest[best:], offset + best
    lines.append(rest)
    return "\n".join(lines)


def _main(w: _Writer, doc: Gongwen) -> None:
    if doc.title:
        title = _balanced_title(doc.title.text, int(TEXT_W_MM * 72 / 25.4 / SIZES["二号"]) - 1)
        for line in title.split("\n"):
            w.paragraph([(line, w.rpr(TITLE_FONT, SIZES["二号"]))], jc="center")
        w.blank(1)
    if doc.addressee:
        w.paragraph([(doc.addressee.text.rstrip("：:") + "：", w.rpr(BODY_FONT))], jc="both")
    for para in doc.body:
        _body_paragraph(w, para)
    if doc.attachment_notes:
        w.blank(1)
        _attachment_notes(w, [p.text for p in doc.attachment_notes])
    _signature(w, doc)
    if doc.note:
        text = doc.note.text
        if not text.startswith(("（", "(")):
            text = f"（{text}）"
        w.paragraph([(text, w.rpr(BODY_FONT))], first_chars=2)


def _body_paragraph(w: _Writer, para: Paragraph) -> None:
    text = para.text.strip()
    level = para.level
    if not level:
        level = heading_of(text)[0]
    head, rest = text, ""
    if level in (1, 2):
        # "（一）统筹建设监管工作平台。各省……": only the heading sentence takes the heading font.
        match = re.match(r"[^。！？：]{1,60}?[。！？：]", text)
        if match and match.end() < len(text):
            head, rest = text[: match.end()], text[match.end():]
    font = {1: HEI_FONT, 2: KAI_FONT}.get(level, BODY_FONT)
    runs = [(head, w.rpr(font))]
    if rest:
        runs.append((rest, w.rpr(BODY_FONT)))
    w.paragraph(runs, first_chars=2)


def _attachment_notes(w: _Writer, items: list[str]) -> None:
    """附件说明: "附件：" two characters in; further items align with "1." and wrapped lines with the names."""
    numbered = len(items) > 1 or bool(re.match(r"\d+\s*[.．、]", items[0]))
    for n, item in enumerate(items):
        item = item.strip()
        number = ""
        if numbered:
            m = re.match(r"(\d+)\s*[.．、]\s*", item)
            number = (m.group(1) if m else str(n + 1)) + "."
            item = item[m.end():] if m else item
        item = item.rstrip("。.;；")
        num_w = _latin_width_chars(number)
        # first item: "附件：1." hangs from the name column; others: "2." hangs from it too.
        hang = (3 if n == 0 else 0) + num_w
        w.paragraph([(("附件：" if n == 0 else "") + number + item, w.rpr(BODY_FONT))],
                    left_chars=2 + 3 + num_w, hanging_chars=hang)


def _latin_width_chars(text: str) -> float:
    """Width of "12." in Times-like digits (0.5 em) and period (0.25 em), in 3号 characters of the grid."""
    return sum(0.25 if ch == "." else 0.5 for ch in text) * BODY_PT / CHAR_PITCH_PT


def _signature(w: _Writer, doc: Gongwen) -> None:
    if not (doc.signatory or doc.date):
        return
    sig = doc.signatory.text.strip() if doc.signatory else ""
    day = _normalise_date(doc.date.text) if doc.date else ""
    sig_w, day_w = text_width_chars(sig), text_width_chars(day)
    if doc.seal:
        # 加盖印章: date 右空四字; signature centred over the date; room above for the seal.
        w.blank(2)
        day_right = 4.0
        sig_right = day_right + (day_w - sig_w) / 2
        if sig_right < 0:
            day_right -= sig_right
            sig_right = 0
    else:
        # 不加盖印章: signature 右空二字; the date starts two characters right of the signature's first.
        w.blank(1)
        sig_right = 2.0
        day_right = sig_right + sig_w - 2 - day_w
        if day_right < 2:
            sig_right += 2 - day_right
            day_right = 2.0
    for line in sig.split() if sig else []:
        # Joint documents list several signatories, each on its own line centred the same way.
        right = max(0.0, sig_right + (sig_w - text_width_chars(line)) / 2) if doc.seal else sig_right
        w.paragraph([(line, w.rpr(BODY_FONT))], jc="right", right_chars=right)
    if day:
        w.paragraph([(day, w.rpr(BODY_FONT))], jc="right", right_chars=day_right)


def _normalise_date(text: str) -> str:
    text = re.sub(r"\s+", "", text).strip("（）()")
    m = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", text)
    if m:  # GB/T 9704: Arabic numerals, no leading zeros
        return f"{int(m.group(1))}年{int(m.group(2))}月{int(m.group(3))}日"
    return text


def _attachment(w: _Writer, attachment: Attachment, n: int) -> None:
    label = f"附件{attachment.number}" if attachment.number else "附件"
    w.paragraph([(label, w.rpr(HEI_FONT))], jc="left", page_break_before=True)
    w.blank(1)  # the title goes on the third line
    title = _balanced_title(attachment.title.text, int(TEXT_W_MM * 72 / 25.4 / SIZES["二号"]) - 1)
    for line in title.split("\n"):
        w.paragraph([(line, w.rpr(TITLE_FONT, SIZES["二号"]))], jc="center")
    if attachment.body:
        w.blank(1)
    for para in attachment.body:
        _body_paragraph(w, para)


def _record(w: _Writer, doc: Gongwen) -> None:
    """版记 at the bottom of an even page: thick rule, 抄送, thin rule, 印发机关 … 印发日期印发, thick rule."""
    options = w.options
    if options.record_on_even_page:
        # Close the main section here; the rest of the document is a new section starting on an even page.
        p = _el("w:p")
        ppr = _el("w:pPr")
        sect = _el("w:sectPr")
        _fill_sect(sect)
        ppr.append(sect)
        p.append(ppr)
        w._append(p)
        for child in list(w.sect_pr):
            w.sect_pr.remove(child)
        _fill_sect(w.sect_pr, start_even=True)
    # A one-column table whose borders are the rules: thick above and below, thin between the rows.
    # (Frames and floating tables anchored to the page bottom are ignored by LibreOffice's DOCX import.)
    size = SIZES["四号"]
    rows: list[tuple[list[tuple[str, OxmlElement]], dict]] = []
    if doc.cc:
        cc = doc.cc.text.strip().rstrip("。") + "。"
        rows.append(([("抄送：" + cc, w.rpr(BODY_FONT, size))],
                     {"left_chars": 1 + 3, "hanging_chars": 3, "right_chars": 1}))
    printer = doc.printer.text.strip() if doc.printer else ""
    printed = _normalise_date(doc.print_date.text) + "印发" if doc.print_date else ""
    if printer or printed:
        rows.append(([("　" + printer + "\t" + printed + "　", w.rpr(BODY_FONT, size))],
                     {"tabs": [("right", int(TEXT_W_MM * MM))]}))
    width = int(TEXT_W_MM * MM)
    tbl = _el("w:tbl")
    tbl_pr = _el("w:tblPr")
    tbl_pr.append(_el("w:tblW", w=width, type="dxa"))
    tbl_pr.append(_el("w:jc", val="center"))
    borders = _el("w:tblBorders")
    borders.append(_el("w:top", val="single", sz=8, space=0, color="000000"))  # 0.35 mm: thick
    borders.append(_el("w:bottom", val="single", sz=8, space=0, color="000000"))
    borders.append(_el("w:insideH", val="single", sz=6, space=0, color="000000"))  # 0.25 mm: thin
    for side in ("left", "right", "insideV"):
        borders.append(_el(f"w:{side}", val="nil"))
    tbl_pr.append(borders)
    tbl_pr.append(_el("w:tblLayout", type="fixed"))
    cell_mar = _el("w:tblCellMar")
    cell_mar.append(_el("w:left", w=0, type="dxa"))
    cell_mar.append(_el("w:right", w=0, type="dxa"))
    tbl_pr.append(cell_mar)
    tbl.append(tbl_pr)
    grid = _el("w:tblGrid")
    grid.append(_el("w:gridCol", w=width))
    tbl.append(grid)
    heights = []
    for runs, kwargs in rows:
        text = "".join(t for t, _ in runs)
        # Rows have an exact height so the table's height is known here; one line more than the estimate
        # for long 抄送 lists (a line-break rule can push one character down).
        chars = text_width_chars(text.replace("抄送：", "", 1))
        lines = 1 if chars <= 26 else -(-int(chars + 1) // 25)
        heights.append(lines * LINE_PITCH)
        tr = _el("w:tr")
        tr_pr = _el("w:trPr")
        tr_pr.append(_el("w:cantSplit"))
        tr_pr.append(_el("w:trHeight", val=lines * LINE_PITCH, hRule="exact"))
        tr.append(tr_pr)
        tc = _el("w:tc")
        tc_pr = _el("w:tcPr")
        tc_pr.append(_el("w:tcW", w=width, type="dxa"))
        tc_pr.append(_el("w:vAlign", val="center"))
        tc.append(tc_pr)
        w.paragraph(runs, jc="left", parent=tc, **kwargs)
        tr.append(tc)
        tbl.append(tr)
    if options.record_on_even_page:
        # The 版记 page holds nothing else: an empty line of the remaining height pushes the table down so
        # its last rule sits on the bottom edge of the 版心 (measured: the rules add ~1.7 mm, and the closing
        # empty line must still fit, so 2.3 mm spare).
        w.paragraph(line=max(20, int(TEXT_H_MM * MM) - sum(heights) - round(2.3 * MM)))
    w._append(tbl)
    w.paragraph(line=20)  # a document cannot end with a table


def _page_numbers(w: _Writer) -> None:
    """"— N —" in 4号 宋体: odd pages right, even pages left, one character in from the edge."""
    w.document.settings.odd_and_even_pages_header_footer = True
    size = SIZES["四号"]
    sections = w.document.sections
    for k, section in enumerate(sections):
        if k:
            section.footer.is_linked_to_previous = True
            section.even_page_footer.is_linked_to_previous = True
            continue
        for footer, jc, side in ((section.footer, "right", "right_chars"), (section.even_page_footer, "left", "left_chars")):
            footer.is_linked_to_previous = False
            container = footer._element
            for child in list(container):
                container.remove(child)
            p = _el("w:p")
            ppr = _el("w:pPr")
            ppr.append(_el("w:snapToGrid", val=0))
            ppr.append(_el("w:spacing", before=0, after=0, line=int(size * 20 * 1.3), lineRule="exact"))
            ind = {"rightChars": 100, "right": size * 20} if side == "right_chars" else {"leftChars": 100, "left": size * 20}
            ppr.append(_el("w:ind", **ind))
            ppr.append(_el("w:jc", val=jc))
            p.append(ppr)
            rpr = _run_props(w.font(SONG_FONT), size, latin=w.font(SONG_FONT))
            p.append(_run("— ", rpr))
            _field(p, "PAGE", "1", rpr)
            p.append(_run(" —", rpr))
            container.append(p)


def _field(p: OxmlElement, instruction: str, shown: str, rpr: OxmlElement) -> None:
    begin = _el("w:r")
    begin.append(_copy(rpr))
    begin.append(_el("w:fldChar", fldCharType="begin"))
    instr = _el("w:r")
    instr.append(_copy(rpr))
    it = _el("w:instrText")
    it.text = f" {instruction} "
    it.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    instr.append(it)
    sep = _el("w:r")
    sep.append(_copy(rpr))
    sep.append(_el("w:fldChar", fldCharType="separate"))
    result = _run(shown, rpr)
    end = _el("w:r")
    end.append(_copy(rpr))
    end.append(_el("w:fldChar", fldCharType="end"))
    for r in (begin, instr, sep, result, end):
        p.append(r)


# --- plain text ----------------------------------------------------------------------------------------------


def render_text(doc: Gongwen) -> str:
    """The 公文 as plain text, one element or paragraph per line, 正文 paragraphs indented two full-width
    spaces (what a clerk pastes into a mail or an OA text box)."""
    out: list[str] = []
    for line in doc.to_text().split("\n"):
        out.append(line)
    body = {p.text for p in doc.body}
    return "\n".join("　　" + line if line in body else line for line in out)


# --- re-layout of messy text ------------------------------------------------------------------------------

_HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
_SENTENCE_STOP = "。！？；：…"
_HEADING_START = re.compile(
    r"(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)]|\d{1,2}[.．](?!\d)|[（(]\d{1,2}[）)])"
)
_HEADING_WORDS = (
    "总体要求|指导思想|基本原则|主要目标|工作目标|重点任务|主要任务|工作任务|保障措施|组织实施|组织领导|工作要求|"
    "实施步骤|工作安排|职责分工|适用范围|有关要求|工作措施|政策措施|重要意义|工作机制|监督检查|附则|其他事项"
)


def relayout(text: str, *, options: LayoutOptions | None = None) -> bytes:
    """Messy text (no paragraph breaks, run-together headings, stray spaces, half-width punctuation from a
    PDF copy) → paragraphs in 公文 order → ``parse_text`` → ``render_docx``."""
    return render_docx(parse_text(reconstruct(text)), options=options)


def reconstruct(text: str) -> str:
    """The paragraph structure of a 公文 rebuilt from messy text; one element or paragraph per line."""
    if text is None or not text.strip():
        raise InvalidInput("没有可排版的文字", code="GONGWEN_EMPTY")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ").replace("\xa0", " ")
    # A signature + date after a space ("…分解表 青川县人民政府 2025年3月18日") goes on its own line before
    # spaces between Chinese characters are dropped as layout debris.
    text = re.sub(rf"[ \t]+(?=[\u4e00-\u9fff]{{2,30}}\s*{_DATE_TEXT}\s*(?:$|\n|[（(]|附|抄))", "\n", text)
    text = _fix_punctuation(text)
    text = _join_broken_lines(text)
    text = _split_elements(text)
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _fix_punctuation(text: str) -> str:
    cjk = rf"[{_CJK}“”‘’《》（）]"
    # Spaces between Chinese characters are layout debris (justified PDF lines, spaced-out titles).
    text = re.sub(rf"(?<={cjk})[ \t]+(?={cjk}|[，。；：、！？])", "", text)
    text = re.sub(rf"(?<=[，。；：、！？])[ \t]+(?={cjk})", "", text)
    # Half-width punctuation next to Chinese → full-width (a digit before ":" stays for times like 9:30).
    for half, full in _HALF_TO_FULL.items():
        text = re.sub(rf"(?<={cjk})\s*{re.escape(half)}", full, text)
        if half in "(":
            text = re.sub(rf"{re.escape(half)}(?=[{_CJK}])", full, text)
    text = re.sub(rf"(?<=[{_CJK}])\s*\)", "）", text)
    # "…工作." → "…工作。" (not 1. or 3.5), also when a heading number follows: "范围.1.实施" / "工程.(1)".
    text = re.sub(rf"(?<=[{_CJK}])\.(?=\s|$|[{_CJK}]|\d{{1,2}}[.．][^\d]|[(（]\d{{1,2}}[)）])", "。", text)
    text = re.sub(r"(?<![\w.])[(（](\d{1,2})[)）](?=[\u4e00-\u9fff])", r"（\1）", text)
    return text


def _join_broken_lines(text: str) -> str:
    """Lines broken by the page width of the source are joined; real breaks (after a sentence end, before a
    heading, around short title-like lines at the top) stay."""
    raw = [line.strip() for line in text.split("\n")]
    out: list[str] = []
    for line in raw:
        if not line:
            if out and out[-1] != "":
                out.append("")
            continue
        if not out or out[-1] == "":
            out.append(line)
            continue
        prev = out[-1]
        keep = (
            prev.endswith(tuple(_SENTENCE_STOP))
            or _HEADING_START.match(line)
            or re.match(r"(附\s*件|抄\s*送|签\s*发\s*人)", line)
            or _DATE.fullmatch(line)
            or re.fullmatch(rf"[\u4e00-\u9fff]{{2,30}}\s*{_DATE_TEXT}.*", line)
            or (_DATE.fullmatch(prev) is not None)
            or (len(prev) < 20 and len(out) <= 4)  # masthead and title lines
            or re.fullmatch(r"[（(][^（）()]{2,60}[）)]", line)
        )
        if keep:
            out.append(line)
        else:
            out[-1] = prev + line
    return "\n".join(line for line in out if line)


_DATE_TEXT = (
    r"(?:\d{4}|[〇○零一二三四五六七八九]{4})\s*年\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*月"
    r"\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*日"
)


def _split_elements(text: str) -> str:
    doc_number = r"[\u4e00-\u9fff]{1,12}[〔\[［【(（]\s*(?:19|20)\d{2}\s*[〕\]］】)）]\s*第?\s*\d{1,5}\s*号"
    types = r"(?:通知|意见|决定|批复|复函|函|通报|报告|请示|纪要|公告|通告|决议|公报|议案|办法|规定|方案)"
    # Title | 发文字号 | 主送机关 run together at the start.
    text = re.sub(rf"^(?P<title>[^\n。]{{6,80}}?{types})\s*(?P<num>{doc_number})", r"\g<title>\n\g<num>\n", text, count=1)
    text = re.sub(rf"^(?P<num>{doc_number})\s*", r"\g<num>\n", text, count=1, flags=re.M)
    text = re.sub(rf"^(?P<title>[^\n。：]{{6,80}}?{types})(?=[^\n。]{{2,120}}：)", r"\g<title>\n", text, count=1)
    # 主送机关: the first short clause ending with a colon near the top.
    m = re.search(r"(?m)^([^\n。：:]{2,200}：)(?=\S)", text[:600])
    if m and "签发人" not in m.group(1):
        text = text[: m.end()] + "\n" + text[m.end():]
    # Headings after a sentence end, and run-together level-1 headings "二、主要目标通过……".
    text = re.sub(
        rf"(?<!附件：)(?<=[。！？；：])\s*(?=(?:[一二三四五六七八九十]{{1,3}}、|[（(][一二三四五六七八九十]{{1,3}}[）)]"
        rf"|\d{{1,2}}[.．](?!\d)|[（(]\d{{1,2}}[）)])[{_CJK}])",
        "\n",
        text,
    )
    text = re.sub(rf"(?m)^([一二三四五六七八九十]{{1,3}}、(?:{_HEADING_WORDS}))(?=[^\n]{{4,}})", r"\1\n", text)
    # 附件说明, signature, date, 附注, 版记.
    text = re.sub(r"(?<=[。！？])\s*(?=附\s*件\s*[:：])", "\n", text)
    text = _only_in_notes(text)
    date = r"(?:\d{4}|[〇○零一二三四五六七八九]{4})\s*年\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*日"
    text = re.sub(
        rf"(?<=[。！？\s])\s*(?P<org>[{_CJK}]{{2,40}}?)\s*(?P<date>{date})(?=\s*(?:\n|$|[（(]|附\s*件|抄\s*送))",
        r"\n\g<org>\n\g<date>\n",
        text,
    )
    text = re.sub(r"(?<=日)\s*(?=[（(][^（）()\n]{2,60}[）)]\s*(?:\n|$))", "\n", text)
    text = re.sub(r"\s*(?=抄\s*送\s*[:：])", "\n", text)
    text = re.sub(rf"(?<=[。])\s*(?=[{_CJK}]{{2,40}}\s+{date}\s*印\s*发)", "\n", text)
    return text


def _only_in_notes(text: str) -> str:
    """Split "附件：1.甲 2.乙" into one item per line (only inside the 附件说明 line)."""
    def split_items(m: re.Match[str]) -> str:
        head, rest = m.group(0)[: m.start("rest") - m.start()], m.group("rest")
        return head + re.sub(r"(?<=\S)\s*(?<!\d)(?=\d{1,2}[.．][^\d])", "\n", rest)

    return re.sub(r"(?m)^附\s*件\s*[:：](?P<rest>[^\n]*)", split_items, text)
