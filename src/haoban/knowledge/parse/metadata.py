"""Metadata of Chinese government documents (公文) read from their text.

Looks at the head and tail of the text, where GB/T 9704 puts the parts: title, 发文字号 and addressee
(主送机关) at the top; signature (发文机关署名) and 成文日期 at the end of the main document, which may be
followed by attachments. Everything here is a heuristic; each field is None when it is not found.
"""

from __future__ import annotations

import datetime
import re

HEAD_LINES = 40
TAIL_LINES = 30

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CJK = r"\u3400-\u9fff\uf900-\ufaff"

# --- dates -------------------------------------------------------------------------------------

_CN_DIGIT = {"〇": 0, "○": 0, "零": 0, "Ｏ": 0, "O": 0, "o": 0, "0": 0}
_CN_DIGIT.update({ch: i for i, ch in enumerate("一二三四五六七八九", start=1)})
_NUM = r"\d{1,2}|[一二三四五六七八九十]{1,3}"
_DATE = rf"(?P<y>\d{{4}}|[〇○零Ｏ一二三四五六七八九]{{4}})\s*年\s*(?P<m>{_NUM})\s*月\s*(?P<d>{_NUM})\s*日"
_DATE_RE = re.compile(_DATE)
_ISO_DATE_RE = re.compile(r"(?P<y>(?:19|20)\d{2})\s*[-/.]\s*(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})(?!\d)")
# A line that is only a date (成文日期 stands alone under the signature), maybe in brackets.
_DATE_LINE = re.compile(rf"[（(]?\s*{_DATE}\s*[）)]?")
# Signature and date on one line: "国务院办公厅    2019年1月9日".
_SIGNED_DATE_LINE = re.compile(rf"(?P<org>[^\s，。：:]{{2,30}}(?:\s+[^\s，。：:]{{2,30}})*)\s+{_DATE}")
_MAX_SIGNED_DATE_LINE = 80


def chinese_number(text: str) -> int | None:
    """Small numbers written in Chinese: 三 → 3, 十二 → 12, 二十七 → 27, 三十 → 30; digits pass through."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return _CN_DIGIT.get(text) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    tens_value = _CN_DIGIT.get(tens, None) if tens else 1
    ones_value = _CN_DIGIT.get(ones, None) if ones else 0
    if tens_value is None or ones_value is None:
        return None
    return tens_value * 10 + ones_value


def chinese_year(text: str) -> int | None:
    """二〇一九 → 2019 (each character is one digit); Arabic years pass through."""
    if text.isdigit():
        return int(text)
    digits = [_CN_DIGIT.get(ch) for ch in text]
    if any(d is None for d in digits):
        return None
    return int("".join(str(d) for d in digits))


def _to_date(year: str, month: str, day: str) -> datetime.date | None:
    y, m, d = chinese_year(year), chinese_number(month), chinese_number(day)
    if y is None or m is None or d is None:
        return None
    try:
        return datetime.date(y, m, d)
    except ValueError:
        return None


def parse_date(text: str) -> datetime.date | None:
    """The first date in ``text``: 2019年1月27日, 二〇一九年一月二十七日, 2019-01-27, 2019/1/27, 2019.01.27."""
    text = text.translate(_FULLWIDTH_DIGITS)
    for pattern in (_DATE_RE, _ISO_DATE_RE):
        match = pattern.search(text)
        if match:
            found = _to_date(match["y"], match["m"], match["d"])
            if found:
                return found
    return None


def _date_line(line: str) -> datetime.date | None:
    match = _DATE_LINE.fullmatch(line)
    return _to_date(match["y"], match["m"], match["d"]) if match else None


# --- 发文字号 ------------------------------------------------------------------------------------

# 国发〔2019〕5号, tolerating the brackets people type instead of 〔〕.
_DOC_NUMBER = re.compile(
    rf"(?P<prefix>[{_CJK}]{{1,12}}?)\s*[〔\[［(（【{{]\s*(?P<year>(?:19|20)\d{{2}})\s*[〕\]］)）】}}]\s*(?P<num>\d{{1,5}})\s*号"
)
# 中华人民共和国国务院令 第709号 (one line or two).
_ORDER = re.compile(rf"(?P<org>[{_CJK}]{{2,30}}?)令\s*[（(]?\s*第\s*(?P<num>\d{{1,6}})\s*号\s*[）)]?")
_PRC = "中华人民共和国"
# A 发文字号 line may hold little else besides the number: brackets, or the 签发人 on local documents.
_NUMBER_LINE_SLACK = 4


def _doc_number_line(line: str) -> str | None:
    line = line.translate(_FULLWIDTH_DIGITS)
    match = _DOC_NUMBER.search(line)
    if not match:
        return None
    rest = (line[: match.start()] + line[match.end() :]).strip(" \u3000（）()")
    if len(rest) > _NUMBER_LINE_SLACK and "签发人" not in rest:
        return None  # a number cited inside a sentence, not this document's own
    return f"{match['prefix']}〔{match['year']}〕{match['num']}号"


def _order_line(lines: list[str], index: int) -> tuple[str, str] | None:
    """(order number, issuing organ) if lines[index] starts an order such as 国务院令 第709号."""
    line = lines[index].translate(_FULLWIDTH_DIGITS)
    joined = line + (lines[index + 1].translate(_FULLWIDTH_DIGITS) if index + 1 < len(lines) else "")
    for candidate in (line, joined):
        match = _ORDER.fullmatch(candidate.strip())
        if match:
            org = match["org"].removeprefix(_PRC) or match["org"]
            issuer = _PRC + org if org == "主席" else org
            return f"{org}令第{match['num']}号", issuer
    return None


# --- organs, titles, addressees -----------------------------------------------------------------

# Endings of organ names (机关): 国务院, 办公厅, 委员会, 人民政府, 教育部, 统计局…
_ORGAN_END = (
    r"(?:国务院|中央军委|办公厅|办公室|委员会|人民政府|政府|总局|银行|法院|检察院|联合会|协会|中心"
    r"|部|局|厅|署|院|委|办|会|处|室|司|所)"
)
_ORGAN = rf"[{_CJK}]{{1,30}}?{_ORGAN_END}"
# "<organ>(、<organ>)* 关于/转发/批转/印发/对 …" at the start of a title.
_TITLE_ISSUER = re.compile(rf"^(?P<org>{_ORGAN}(?:[、\s]+{_ORGAN})*)\s*(?=关于|转发|批转|印发|对)")
_ORGAN_ONLY = re.compile(rf"{_ORGAN}")
# Kinds of documents (文种) a title ends with.
_DOC_KIND = re.compile(
    r"(?:通知|意见|决定|批复|复函|函|通报|报告|请示|纪要|公告|通告|命令|决议|公报|议案|办法|规定|条例|细则|方案|规划|答复|规则|通令)$"
)
_SENTENCE_END = tuple("。！？；，")
# Lines above the title that belong to the masthead: "国务院文件", 份号, 密级, 紧急程度.
_MASTHEAD = re.compile(
    rf"^(?:(?!.*关于){_ORGAN}(?:[、\s]+{_ORGAN})*\s*文\s*件$|\d{{3,}}|(?:特急|加急|急件|平急|特提|秘密|机密|绝密|签发人)|.*★)"
)
# "索引号：…", "发布日期：…": a short label and a colon open info-box lines, never titles.
_LABEL_START = re.compile(rf"^[{_CJK}][{_CJK} \u3000]{{1,7}}[:：]")
_MAX_TITLE_LINES = 4
_MAX_TITLE_LINE = 60


def _compact(text: str) -> str:
    """Join title lines: drop spaces between Chinese characters (几 个 问 题 → 几个问题)."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(rf"(?<=[{_CJK}、“”《》（）])\s+(?=[{_CJK}、“”《》（）])", "", text)


def _is_addressee(line: str) -> bool:
    return (
        line.endswith(("：", ":"))
        and len(line) <= 150
        and "。" not in line
        and "如下" not in line
        and not _label_cells(line)
    )


def _looks_like_title(lines: list[str]) -> bool:
    text = _compact("".join(lines))
    return bool(text) and ("关于" in text or bool(_DOC_KIND.search(text))) and len(text) <= 150


def _title_line(line: str) -> bool:
    """Could this line be (part of) a title? Short, no sentence end, not masthead, label or date."""
    return (
        len(line) <= _MAX_TITLE_LINE
        and not line.endswith(_SENTENCE_END + ("：", ":"))
        and not _MASTHEAD.search(line)
        and not _date_line(line)
        and not _LABEL_START.match(line)
    )


def _title_block_before(lines: list[str], end: int) -> list[str]:
    """Up to a few title lines just above ``end``."""
    block: list[str] = []
    for line in reversed(lines[:end]):
        if len(block) >= _MAX_TITLE_LINES or not _title_line(line):
            break
        block.insert(0, line)
    return block


def _title_block_after(lines: list[str], start: int) -> list[str]:
    """Up to a few title lines from ``start`` on (stops at the addressee, which ends with "：")."""
    block: list[str] = []
    for line in lines[start : start + _MAX_TITLE_LINES]:
        if not _title_line(line) or _doc_number_line(line):
            break
        block.append(line)
    return block


def _find_title(head: list[str], number_at: int | None) -> str | None:
    """Title lines next to the 发文字号 or the addressee, else a plausible first line."""
    if number_at is not None:
        # Web pages print the title above the number; printed 公文 (GB/T 9704) below it.
        before, after = _title_block_before(head, number_at), _title_block_after(head, number_at + 1)
        for block in (before, after):
            if block and _looks_like_title(block):
                return _compact("".join(block))
        if before:
            return _compact("".join(before))
    addressee_at = next((i for i, line in enumerate(head[:12]) if _is_addressee(line)), None)
    if addressee_at:
        before = _title_block_before(head, addressee_at)
        if before:
            return _compact("".join(before))
    # Skip a masthead or an info-box line, but nothing else: a first paragraph is no title.
    first = next(
        (i for i, line in enumerate(head[:3]) if not (_MASTHEAD.search(line) or _LABEL_START.match(line))),
        None,
    )
    if first is None or not _title_line(head[first]):
        return None
    title = head[first]
    # A title wrapped over two lines with no number or addressee to mark its end.
    if (
        first + 1 < len(head)
        and "关于" in title
        and not _DOC_KIND.search(title)
        and _DOC_KIND.search(head[first + 1])
    ):
        title += head[first + 1]
    return _compact(title)


def _organs_in_signature(line: str) -> str | None:
    """'国务院 中央军委' → '国务院、中央军委'; None when the line is not just organ names."""
    tokens = [t for t in re.split(r"[\s、]+", line) if re.search(rf"[{_CJK}]", t)]
    if tokens and all(_ORGAN_ONLY.fullmatch(t) for t in tokens):
        return "、".join(tokens)
    return None


def _is_signature(line: str) -> bool:
    return (
        2 <= len(line) <= 40
        and re.search(rf"[{_CJK}]", line) is not None
        and not re.search(r"[，。：:！？]", line)
    )


# --- labelled fields (政府信息公开 info boxes: "发文字号：国发〔2019〕5号") ---------------------------------

_LABELS = {
    "title": ("标题", "名称"),
    "issuer": ("发文机关", "发布机关", "发文单位"),
    "doc_number": ("发文字号", "文号"),
    "written_date": ("成文日期", "成文时间"),
    "publish_date": ("发布日期", "发布时间", "公布日期", "公布时间"),
}
_LABEL_RE = {
    key: re.compile(r"^(?:" + "|".join(names) + r")\s*[:：]\s*(?P<value>.*)$")
    for key, names in _LABELS.items()
}
# Labels are often spaced out to align them: "标　　题：".
_SPACED_LABEL = re.compile(
    "|".join(r"[ \u3000]*".join(name) for names in _LABELS.values() for name in names if len(name) == 2)
    + r"(?=\s*[:：])"
)
_CELL_SPLIT = re.compile(r"\s*\|\s*|[ \u3000]{2,}")


def _label_cells(line: str) -> dict[str, str]:
    """Labelled values on one line; a label alone in a table cell takes the next cell as its value."""
    found: dict[str, str] = {}
    line = _SPACED_LABEL.sub(lambda m: re.sub(r"[ \u3000]", "", m.group()), line.strip())
    cells = [cell for cell in _CELL_SPLIT.split(line) if cell]
    for i, cell in enumerate(cells):
        for key, pattern in _LABEL_RE.items():
            match = pattern.match(cell)
            if match:
                value = match["value"].strip() or (cells[i + 1] if i + 1 < len(cells) else "")
                if value and not any(p.match(value) for p in _LABEL_RE.values()):
                    found.setdefault(key, value)
    return found


def _labelled(lines: list[str]) -> dict:
    raw: dict[str, str] = {}
    for line in lines:
        for key, value in _label_cells(line).items():
            raw.setdefault(key, value)
    out: dict = {}
    if raw.get("title"):
        out["title"] = _compact(raw["title"])
    if raw.get("issuer"):
        out["issuer"] = raw["issuer"]
    if raw.get("doc_number"):
        out["doc_number"] = _doc_number_line(raw["doc_number"]) or raw["doc_number"]
    for key in ("written_date", "publish_date"):
        if raw.get(key):
            out[key] = parse_date(raw[key])
    return {k: v for k, v in out.items() if v}


# --- putting it together -------------------------------------------------------------------------


def _written_date(lines: list[str], start: int) -> tuple[datetime.date | None, str | None]:
    """成文日期 and the signature line above it.

    The first date line right under a signature-like line wins: attachments and forwarded reports
    come after the main document and may have dates of their own. Failing that, the last date line
    in the tail.
    """
    fallback: datetime.date | None = None
    for i in range(start, len(lines)):
        line = lines[i].translate(_FULLWIDTH_DIGITS)
        found = _date_line(line)
        if found and i > 0 and _is_signature(lines[i - 1]) and not _date_line(lines[i - 1]):
            return found, lines[i - 1]
        if found is None and len(line) <= _MAX_SIGNED_DATE_LINE:
            signed = _SIGNED_DATE_LINE.fullmatch(line)
            if signed and _organs_in_signature(signed["org"]):
                found = _to_date(signed["y"], signed["m"], signed["d"])
                if found:
                    return found, signed["org"]
        if found and i >= len(lines) - TAIL_LINES:
            fallback = found
    return fallback, None


def extract_metadata(text: str, title_hint: str | None = None) -> dict:
    """Title, 发文机关, 发文字号, 成文日期 and 发布日期 of a government document; None where not found."""
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    head = lines[:HEAD_LINES]
    result: dict = {
        "title": None,
        "issuer": None,
        "doc_number": None,
        "written_date": None,
        "publish_date": None,
    }
    labelled = _labelled(head + lines[max(len(head), len(lines) - TAIL_LINES) :])

    # 发文字号: a line of its own near the top, or an order number (国务院令 第709号).
    number_at = order_at = None
    for i, line in enumerate(head):
        number = _doc_number_line(line)
        if number:
            result["doc_number"], number_at = number, i
            break
        order = _order_line(head, i)
        if order:
            result["doc_number"], result["issuer"] = order
            order_at = i
            break

    # Title.
    title = title_hint
    if not title and order_at is not None:
        # An order promulgates a regulation: its name is the 《…》 in the following sentence.
        for line in head[order_at + 1 : order_at + 5]:
            match = re.search(r"《([^《》]{2,80})》", line)
            if match and ("公布" in line or "发布" in line):
                title = match.group(1)
                break
    if not title:
        title = _find_title(head, number_at)
    result["title"] = labelled.get("title") or (title.strip() if title else None)

    # 成文日期 and, failing the title, the 发文机关 from the signature above it.
    written, signature = _written_date(lines, order_at or 0)
    result["written_date"] = labelled.get("written_date") or written
    if not result["issuer"] and result["title"]:
        match = _TITLE_ISSUER.match(result["title"])
        if match:
            result["issuer"] = "、".join(t for t in re.split(r"[、\s]+", match["org"]) if t)
    if not result["issuer"] and signature:
        result["issuer"] = _organs_in_signature(signature)

    result["doc_number"] = labelled.get("doc_number") or result["doc_number"]
    result["issuer"] = labelled.get("issuer") or result["issuer"]
    result["publish_date"] = labelled.get("publish_date")
    return result
