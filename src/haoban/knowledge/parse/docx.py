"""Word .docx: body paragraphs and tables in the order they appear."""

from __future__ import annotations

import io
from collections.abc import Iterator

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from haoban.errors import EncryptedFile, ParseError, UnsupportedFormat

from .base import Extracted, check_zip, corrupt, detail, useful_title

# Old binary Office files (and password-protected .docx, which Word wraps the same way) are OLE
# compound files.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CELL_SEPARATOR = " | "


def _blocks(parent, container) -> Iterator[str]:
    """Text lines of paragraphs and table rows under ``container``, in document order."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, parent).text
        elif child.tag == qn("w:tbl"):
            yield from _table_rows(Table(child, parent))
        elif child.tag == qn("w:sdt"):  # content controls wrap ordinary paragraphs and tables
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _blocks(parent, content)


def _table_rows(table: Table) -> Iterator[str]:
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a merged cell is listed once per grid column it spans
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            yield _CELL_SEPARATOR.join(cells)


def _refuse_ole(data: bytes, name: str) -> None:
    if not data.startswith(_OLE_MAGIC):
        return
    if "EncryptionInfo".encode("utf-16-le") in data:
        raise EncryptedFile(f"“{name}”已设置打开密码，无法读取内容，请提供未加密的文件", detail=detail(name))
    raise UnsupportedFormat(
        f"“{name}”实际是旧版 Word（.doc）文件，暂不支持，请另存为 .docx 后再上传", detail=detail(name)
    )


def parse_docx(data: bytes, name: str) -> Extracted:
    _refuse_ole(data, name)
    check_zip(data, name, "Word（.docx）")
    try:
        document = docx.Document(io.BytesIO(data))
        body = document.element.body
        lines = [line.strip() for line in _blocks(document._body, body)]
        declared = document.core_properties.title
    except ParseError:
        raise
    except Exception as exc:  # bad zip parts, invalid XML, missing relationships…
        raise corrupt(name, "Word（.docx）", exc) from None
    tables = len(body.findall(qn("w:tbl")))
    return Extracted(
        text="\n".join(line for line in lines if line),
        title_hint=useful_title(declared),
        extra={"tables": tables, "paragraphs": sum(1 for line in lines if line)},
    )
