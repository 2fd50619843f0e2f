"""Checks a rendered 公文 against GB/T 9704-2012 by measuring the PDF LibreOffice makes of our DOCX.

Used by tests/test_layout.py and benchmarks/layout.py. Needs ``soffice`` (Debian libreoffice-writer-nogui,
installed by scripts/install-system-deps.sh) and pdfplumber (the ``test`` extra); both are imported or
called only when a check runs.

What is measured (all in mm from the top-left of the page):
- page size A4;
- 正文 lines (3号, 16 pt) sit on the 22-line grid: line-box tops 37 + k × 10.21 mm, k = 0…21; a page whose
  text goes on to the next page of the same part uses all 22 lines;
- characters per line: a line that reaches the right edge holds at most 28 character widths (CJK 1, ASCII
  ½) inside the 版心. LibreOffice lets a closing punctuation mark hang past the edge (it ignores
  ``w:overflowPunct``); that mark is outside the 版心 and not counted, but reported;
- left edge of unindented 正文 lines at 28 mm, top of the first line of a continuation page at 37 mm;
- page numbers "— N —" under the 版心, right on odd and left on even pages;
- red 发文机关标志 and a red rule as wide as the 版心 under the 发文字号; title lines centred;
- 版记 rules at the bottom of the last page, which is an even page.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from statistics import mean

from pydantic import BaseModel

from haoban.errors import HaobanError

PT_MM = 25.4 / 72
PAGE_W, PAGE_H = 210.0, 297.0
LEFT, TOP, RIGHT, BOTTOM = 28.0, 37.0, 184.0, 262.0
PITCH = 579 / 20 * PT_MM  # 10.21 mm
TOL = 1.0
CHAR_MM = 15.7 * PT_MM  # the character pitch layout.py sets


class LayoutCheck(BaseModel):
    checks: dict[str, bool] = {}
    failures: list[str] = []
    pages: int = 0
    full_pages: int = 0
    lines_per_full_page: list[int] = []
    full_lines: int = 0
    chars_per_full_line: list[float] = []
    hanging_punctuation: int = 0
    left_margin_mm: float | None = None
    top_margin_mm: float | None = None

    @property
    def passed(self) -> bool:
        return all(self.checks.values())

    def set(self, name: str, ok: bool, why: str = "") -> None:
        self.checks[name] = self.checks.get(name, True) and ok
        if not ok and why:
            self.failures.append(f"{name}: {why}")


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_to_pdf(docx: bytes, *, profile_dir: Path | None = None, timeout: float = 180) -> bytes:
    """PDF of a DOCX by LibreOffice headless. A private profile directory lets runs go in parallel."""
    binary = soffice()
    if binary is None:
        raise HaobanError("未安装 LibreOffice（soffice），无法把 DOCX 转为 PDF", code="SOFFICE_MISSING")
    with tempfile.TemporaryDirectory(prefix="haoban-layout-") as tmp:
        src = Path(tmp) / "doc.docx"
        src.write_bytes(docx)
        profile = profile_dir or Path(tmp) / "profile"
        cmd = [binary, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", tmp, str(src)]
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env={**os.environ, "HOME": tmp})
        out = Path(tmp) / "doc.pdf"
        if not out.exists():
            raise HaobanError(f"LibreOffice 转换失败：{proc.stderr.decode(errors='replace')[-300:]}",
                              code="SOFFICE_FAILED")
        return out.read_bytes()


class _Line(BaseModel):
    top: float
    bottom: float
    x0: float
    x1: float
    size: float
    text: str
    inside_width: float  # character widths inside the 版心
    hanging: int  # characters past the right edge
    red: bool
    font: str


def _width(text: str) -> float:
    # pdfplumber gives ligatures and some symbols as several characters in one glyph
    return sum(0.5 if ord(ch) < 0x2E80 and ch not in "—…“”‘’" else 1.0 for ch in text)


def _lines(page) -> list[_Line]:
    rows: dict[tuple[float, float], list[dict]] = {}
    for c in page.chars:
        if not c["text"].strip():
            continue
        key = (round(c["bottom"] * PT_MM, 0), round(c["size"], 1))
        rows.setdefault(key, []).append(c)
    out = []
    for (_, size), chars in rows.items():
        chars.sort(key=lambda c: c["x0"])
        inside = [c for c in chars if c["x1"] * PT_MM <= RIGHT + 0.3]
        color = chars[0].get("non_stroking_color")
        red = isinstance(color, (tuple, list)) and len(color) == 3 and color[0] > 0.8 and color[1] < 0.3
        out.append(_Line(
            top=min(c["top"] for c in chars) * PT_MM, bottom=max(c["bottom"] for c in chars) * PT_MM,
            x0=chars[0]["x0"] * PT_MM, x1=chars[-1]["x1"] * PT_MM, size=size,
            text="".join(c["text"] for c in chars), inside_width=sum(_width(c["text"]) for c in inside),
            hanging=len(chars) - len(inside), red=red, font=chars[0]["fontname"],
        ))
    return sorted(out, key=lambda line: line.top)


def _slot(line: _Line) -> float:
    """Grid line index of a text line: its em box is centred in the exact line box."""
    box_top = line.top - (PITCH - line.size * PT_MM) / 2
    return (box_top - TOP) / PITCH


PAGE_NUMBER = re.compile(r"—\s*(\d+)\s*—")


def check_pdf(pdf: bytes, *, has_masthead: bool = True, has_record: bool = True, has_title: bool = True,
              has_rule: bool = True, mark_top_mm: float = 35.0) -> LayoutCheck:
    """Measure a rendered 公文. ``has_*`` say which elements the document has (a 令 has no title and no
    separator line; the published web texts have no masthead or 版记)."""
    import io

    import pdfplumber  # test extra; only this checker needs character positions

    report = LayoutCheck()
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        pages = list(doc.pages)
        report.pages = len(pages)
        per_page = [_lines(p) for p in pages]
        graphics = [list(p.lines) + list(p.rects) for p in pages]
        for p in pages:
            ok = abs(p.width * PT_MM - PAGE_W) < 0.5 and abs(p.height * PT_MM - PAGE_H) < 0.5
            report.set("a4", ok, f"页面 {p.width * PT_MM:.1f}×{p.height * PT_MM:.1f} mm")

    # Page numbers.
    numbers: list[int | None] = []
    for k, lines in enumerate(per_page):
        found = [ln for ln in lines if PAGE_NUMBER.fullmatch(ln.text.replace(" ", "")) and ln.top > BOTTOM]
        if not found:
            numbers.append(None)
            report.set("page_numbers", False, f"第 {k + 1} 页没有页码")
            continue
        ln = found[0]
        n = int(PAGE_NUMBER.fullmatch(ln.text.replace(" ", "")).group(1))
        numbers.append(n)
        dash_mm = (ln.top + ln.bottom) / 2 - BOTTOM
        report.set("page_numbers", 5.0 <= dash_mm <= 9.5, f"第 {k + 1} 页页码距版心 {dash_mm:.1f} mm")
        one_char = 14 * PT_MM
        if n % 2:
            report.set("page_number_side", abs(RIGHT - ln.x1 - one_char) < 1.5, f"单页码 {n} 不在右侧空一字处")
        else:
            report.set("page_number_side", abs(ln.x0 - LEFT - one_char) < 1.5, f"双页码 {n} 不在左侧空一字处")
    known = [n for n in numbers if n is not None]
    report.set("page_numbers", known == sorted(known), "页码不递增")

    # Parts: the main text and each attachment (a page starting with 黑体 "附件N"), then the 版记 page.
    starts = {0}
    for k, lines in enumerate(per_page):
        body = [ln for ln in lines if ln.top < BOTTOM]
        if body and re.fullmatch(r"附件\d*", body[0].text) and _slot(body[0]) < 0.5:
            starts.add(k)
    record_page = len(per_page) - 1 if has_record else None

    lefts, tops = [], []
    for k, lines in enumerate(per_page):
        body16 = [ln for ln in lines if abs(ln.size - 16) < 0.3 and ln.top < BOTTOM]
        if k == record_page:
            continue
        for ln in body16:
            off = _slot(ln) - round(_slot(ln))
            report.set("grid", abs(off * PITCH) < TOL and -0.5 < _slot(ln) < 21.5,
                       f"第 {k + 1} 页“{ln.text[:8]}”不在行格上（偏 {off * PITCH:.1f} mm）")
        last_of_part = k + 1 == len(per_page) or (k + 1) in starts or (k + 1) == record_page
        if body16 and not last_of_part:
            next_lines = [ln for ln in per_page[k + 1] if ln.top < BOTTOM]
            last_slot = round(_slot(body16[-1]))
            closing = bool(next_lines) and (next_lines[0].x0 > LEFT + 30 or next_lines[0].text.startswith(("附件：", "（")))
            if last_slot == 21:
                report.full_pages += 1
                report.lines_per_full_page.append(last_slot + 1)
            else:
                report.set("lines_per_page", closing and last_slot >= 17,
                           f"第 {k + 1} 页只排了 {last_slot + 1} 行，下一页接着排")
            if k not in starts:
                first = body16[0]
                tops.append(first.top - (PITCH - first.size * PT_MM) / 2)
        for ln in body16:
            if ln.x1 >= RIGHT - 2.0 and not (k == 0 and ln.top < TOP + 8 * PITCH and ln.x0 > LEFT + 20):
                report.full_lines += 1
                # An indented first line counts its indent: the line holds 28 positions either way.
                used = ln.inside_width + round((ln.x0 - LEFT) / CHAR_MM)
                report.chars_per_full_line.append(used)
                report.hanging_punctuation += ln.hanging
                report.set("chars_per_line", used <= 28,
                           f"第 {k + 1} 页一行 {ln.inside_width} 字：{ln.text[:10]}")
            if ln.x0 < LEFT + 3:
                lefts.append(ln.x0)
    if lefts:
        report.left_margin_mm = round(mean(lefts), 2)
        report.set("left_margin", all(abs(x - LEFT) < TOL for x in lefts), f"左边距 {min(lefts):.1f}–{max(lefts):.1f} mm")
    if tops:
        report.top_margin_mm = round(mean(tops), 2)
        report.set("top_margin", all(abs(t - TOP) < TOL for t in tops), f"上边距 {min(tops):.1f}–{max(tops):.1f} mm")
    report.set("grid", True)
    report.set("lines_per_page", True)
    report.set("chars_per_line", True)

    # 版头 and title on the first page.
    first = per_page[0]
    title = [ln for ln in first if abs(ln.size - 22) < 0.3]
    for ln in title:
        centre = (ln.x0 + ln.x1) / 2
        report.set("title_centred", abs(centre - (LEFT + RIGHT) / 2) < 2.0, f"标题行中心 {centre:.1f} mm")
    report.set("title_centred", bool(title) or not has_title, "第一页没有 2 号标题")
    if has_masthead:
        mark = [ln for ln in first if ln.size > 22.5 and ln.top < BOTTOM]
        report.set("red_masthead", bool(mark) and all(ln.red for ln in mark), "发文机关标志不是红色")
        if mark:
            top_mm = mark[0].top - TOP
            report.set("mark_position", abs(top_mm - mark_top_mm) <= 3, f"发文机关标志距版心上边缘 {top_mm:.1f} mm")
        numbers_line = [ln for ln in first if re.search(r"〔\d{4}〕", ln.text) and abs(ln.size - 16) < 0.3]
        rules = [g for g in graphics[0] if _is_red(g.get("stroking_color")) or _is_red(g.get("non_stroking_color"))]
        ok = False
        if numbers_line and rules:
            below = numbers_line[0].bottom
            for g in rules:
                y = g["top"] * PT_MM
                wide = (g["x1"] - g["x0"]) * PT_MM > 150
                ok = ok or (wide and 2.0 <= y - below <= 7.0)
        report.set("red_rule", ok or not has_rule, "发文字号下没有与版心等宽的红色分隔线")
    if has_record:
        last = len(per_page) - 1
        rules = [g for g in graphics[last] if (g["x1"] - g["x0"]) * PT_MM > 150 and not _is_red(g.get("stroking_color"))]
        bottom = max((g["bottom"] * PT_MM for g in rules), default=0)
        report.set("record_bottom", abs(bottom - BOTTOM) < 1.5 and len(rules) >= 3,
                   f"版记末条分隔线在 {bottom:.1f} mm，应在 {BOTTOM} mm")
        report.set("record_even_page", numbers[last] is not None and numbers[last] % 2 == 0, "版记不在偶数页")
    return report


def _is_red(color) -> bool:
    return isinstance(color, (tuple, list)) and len(color) == 3 and color[0] > 0.8 and color[1] < 0.3 and color[2] < 0.3


def render_and_check(docx: bytes, *, profile_dir: Path | None = None, **kwargs) -> tuple[LayoutCheck, float]:
    """(report, seconds for the PDF conversion)."""
    started = time.perf_counter()
    pdf = docx_to_pdf(docx, profile_dir=profile_dir)
    seconds = time.perf_counter() - started
    return check_pdf(pdf, **kwargs), seconds
