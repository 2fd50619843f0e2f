"""PDF: the text layer only (no OCR)."""

from __future__ import annotations

import io
import logging

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from haoban.errors import EncryptedFile, FileTooLarge, ParseError

from .base import Extracted, clean_layout_text, corrupt, detail, useful_title

# pypdf logs (at warning and error level) every flaw it works around in a damaged file, often
# hundreds per file; what matters reaches the caller as an exception or an empty text.
logging.getLogger("pypdf").setLevel(logging.CRITICAL)


def _encrypted(name: str, exc: BaseException | None = None) -> EncryptedFile:
    return EncryptedFile(
        f"“{name}”已加密（需要密码），无法读取内容，请提供未加密的文件", detail=detail(name, exc)
    )


def _open(data: bytes, name: str) -> PdfReader:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        # Many official PDFs carry only an owner password (no printing/copying) and open with an
        # empty user password; those we can read.
        try:
            if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                raise _encrypted(name)
        except (DependencyError, NotImplementedError) as exc:
            raise _encrypted(name, exc) from None
    return reader


def parse_pdf(data: bytes, name: str, max_chars: int) -> Extracted:
    try:
        reader = _open(data, name)
        pages: list[str] = []
        empty_pages = 0
        size = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            empty_pages += not text.strip()
            size += len(text)
            if size > max_chars:  # stop early instead of extracting a huge file to the end
                raise FileTooLarge(
                    f"“{name}”的文字超过 {max_chars} 个字符的上限", detail=detail(name, max_chars=max_chars)
                )
            pages.append(text)
        declared = reader.metadata.title if reader.metadata else None
    except ParseError:
        raise
    except FileNotDecryptedError as exc:
        raise _encrypted(name, exc) from None
    except Exception as exc:  # pypdf raises many kinds of errors on broken files
        raise corrupt(name, "PDF", exc) from None
    extra = {"pages": len(pages), "empty_pages": empty_pages}
    return Extracted(
        text=clean_layout_text("\n".join(pages)),
        fallback_title=useful_title(declared if isinstance(declared, str) else None),
        extra=extra,
    )
