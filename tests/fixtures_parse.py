"""Builders for real small files in every supported format, used by the parser tests.

The sample 公文 below is made up for the tests; it only follows the usual layout.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

SAMPLE_TITLE_LINES = ["示范市人民政府关于进一步优化政务服务", "提升行政效能的通知"]
SAMPLE_TITLE = "".join(SAMPLE_TITLE_LINES)
SAMPLE_NUMBER = "示政发〔2023〕12号"
SAMPLE_ADDRESSEE = "各区人民政府，市政府各委、办、局，各有关单位："
SAMPLE_PARAGRAPHS = [
    "为深入推进政务服务标准化、规范化、便利化，切实解决企业和群众办事中的堵点难点问题，经市政府同意，现就有关事项通知如下。",
    "一、推进政务服务事项清单化管理",
    "各区、各部门要在年底前完成本级政务服务事项清单的梳理和公布工作，做到同一事项在全市范围内名称、编码、依据、类型等基本要素统一，并实行动态调整。",
    "二、深化“一网通办”改革",
    "依托全市一体化政务服务平台，推动高频事项全程网上办理，对申请材料能够通过数据共享获取的，不再要求申请人重复提交。",
    "（一）完善线上服务渠道。加强移动端应用建设，提升界面友好程度，方便老年人等群体使用。",
    "各区、各部门要高度重视，明确责任分工，细化工作措施，确保各项任务按期完成。",
]
SAMPLE_SIGNATURE = "示范市人民政府"
SAMPLE_DATE_TEXT = "2023年6月8日"
SAMPLE_TAIL = "（此件公开发布）"


def sample_lines() -> list[str]:
    """The sample document as one line per paragraph, the way the parsers should return it."""
    return [
        *SAMPLE_TITLE_LINES,
        SAMPLE_NUMBER,
        SAMPLE_ADDRESSEE,
        *SAMPLE_PARAGRAPHS,
        SAMPLE_SIGNATURE,
        SAMPLE_DATE_TEXT,
        SAMPLE_TAIL,
    ]


# --- PDF ------------------------------------------------------------------------------------------

_LINE_CHARS = 28  # a 公文 body line holds 28 characters


def _wrap(paragraph: str) -> list[str]:
    text = "\u3000\u3000" + paragraph
    return [text[i : i + _LINE_CHARS] for i in range(0, len(text), _LINE_CHARS)]


def page_rows() -> list[tuple[str, int]]:
    """The sample as printed: (line, font size), title bigger, body hard-wrapped at 28 characters."""
    rows: list[tuple[str, int]] = [(line, 20) for line in SAMPLE_TITLE_LINES]
    rows += [(SAMPLE_NUMBER, 16), (SAMPLE_ADDRESSEE, 16)]
    for paragraph in SAMPLE_PARAGRAPHS:
        rows += [(line, 16) for line in _wrap(paragraph)]
    rows += [(SAMPLE_SIGNATURE, 16), (SAMPLE_DATE_TEXT, 16), (SAMPLE_TAIL, 16)]
    return rows


def pdf_bytes(lines_per_page: int = 18, with_text: bool = True) -> bytes:
    """A 公文-like PDF: title in a bigger font, body wrapped at 28 characters, page numbers."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle("Microsoft Word - 通知.docx")  # the kind of title tools write: must be ignored
    if not with_text:  # a "scan": only a picture-like shape, no text layer
        pdf.rect(50, 50, 400, 600, fill=1)
        pdf.showPage()
        pdf.save()
        return buffer.getvalue()

    rows = page_rows()
    page = 1
    for start in range(0, len(rows), lines_per_page):
        y = 780
        for text, size in rows[start : start + lines_per_page]:
            pdf.setFont("STSong-Light", size)
            pdf.drawString(60, y, text)
            y -= size * 1.8
        pdf.setFont("STSong-Light", 12)
        pdf.drawCentredString(297, 40, f"— {page} —")
        pdf.showPage()
        page += 1
    pdf.save()
    return buffer.getvalue()


def encrypted_pdf_bytes(user_password: str = "mima123", owner_password: str = "owner") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(pdf_bytes())).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password=owner_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- DOCX -----------------------------------------------------------------------------------------


def docx_bytes(title: str | None = None) -> bytes:
    """The sample as .docx, with a table between the paragraphs."""
    import docx

    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
    for line in [*SAMPLE_TITLE_LINES, SAMPLE_NUMBER, SAMPLE_ADDRESSEE, *SAMPLE_PARAGRAPHS[:3]]:
        document.add_paragraph(line)
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate(
        [
            ["序号", "事项名称", "办理时限"],
            ["1", "营业执照办理", "3个工作日"],
            ["2", "不动产登记", "5个工作日"],
        ]
    ):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    for line in [*SAMPLE_PARAGRAPHS[3:], SAMPLE_SIGNATURE, SAMPLE_DATE_TEXT, SAMPLE_TAIL]:
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --- OFD ------------------------------------------------------------------------------------------

_NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'


def _ofd_page(lines: list[str]) -> str:
    objects = []
    size = 4.2  # millimetres, about 12 pt
    for i, text in enumerate(lines):
        y = 30 + i * size * 1.6
        width = size * max(len(text), 1)
        objects.append(
            f'<ofd:TextObject ID="{100 + i}" Boundary="25 {y:.1f} {width:.1f} {size * 1.2:.1f}" Font="2" Size="{size}">'
            f'<ofd:TextCode X="0" Y="{size:.1f}" DeltaX="g {max(len(text) - 1, 1)} {size}">{escape(text)}</ofd:TextCode>'
            "</ofd:TextObject>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {_NS}><ofd:Content>'
        f'<ofd:Layer ID="10">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>'
    )


def ofd_bytes(
    lines: list[str] | None = None, title: str | None = SAMPLE_TITLE, *, encrypt_flag: bool = False
) -> bytes:
    """A minimal valid OFD package: OFD.xml -> Doc_0/Document.xml -> one page of TextObjects."""
    lines = lines if lines is not None else [line for line, _ in page_rows()]
    info = f"<ofd:DocInfo><ofd:DocID>0123456789abcdef</ofd:DocID>{f'<ofd:Title>{escape(title)}</ofd:Title>' if title else ''}</ofd:DocInfo>"
    parts = {
        "OFD.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {_NS} Version="1.0" DocType="OFD">'
            f"<ofd:DocBody>{info}<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
        ),
        "Doc_0/Document.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {_NS}><ofd:CommonData>'
            "<ofd:MaxUnitID>200</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>"
            "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
            '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>'
        ),
        "Doc_0/PublicRes.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {_NS} BaseLoc="Res"><ofd:Fonts>'
            '<ofd:Font ID="2" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>'
        ),
        "Doc_0/Pages/Page_0/Content.xml": _ofd_page(lines),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content.encode("utf-8"))
    data = out.getvalue()
    if encrypt_flag:
        data = _set_zip_encrypted_flag(data)
    return data


def _set_zip_encrypted_flag(data: bytes) -> bytes:
    """Mark every entry as encrypted the way a password-protected zip does (general purpose bit 0)."""
    buf = bytearray(data)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (at := buf.find(signature, start)) != -1:
            buf[at + flag_offset] |= 0x01
            start = at + 4
    return bytes(buf)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path
