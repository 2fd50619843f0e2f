"""OFD (GB/T 33190-2016), the format Chinese government systems issue documents in."""

from __future__ import annotations

import zipfile

import ofdkit
from ofdkit.errors import OFDLimitError

from haoban.errors import CorruptFile, EncryptedFile, ParseError

from .base import Extracted, check_zip, clean_layout_text, corrupt, detail, useful_title

_ZIP_ENCRYPTED_FLAG = 0x1


def _refuse_encrypted(archive: zipfile.ZipFile, name: str) -> None:
    """Encrypted OFD shows as encrypted zip entries, or as an Encryptions part (GM/T 0099)."""
    infos = archive.infolist()
    if any(info.flag_bits & _ZIP_ENCRYPTED_FLAG for info in infos) or any(
        "encryption" in info.filename.lower() for info in infos
    ):
        raise EncryptedFile(f"“{name}”已加密，无法读取内容，请提供未加密的文件", detail=detail(name))


def parse_ofd(data: bytes, name: str) -> Extracted:
    archive = check_zip(data, name, "OFD")
    _refuse_encrypted(archive, name)
    try:
        with ofdkit.open(data) as document:
            text = document.text("\n")
            title = document.info.title
            extra = {"pages": len(document.pages)}
            if document.warnings:
                extra["warnings"] = document.warnings[:10]
    except ParseError:
        raise
    except OFDLimitError as exc:
        raise CorruptFile(
            f"“{name}”的结构超出安全限制（部件过大或过多），已拒绝处理", detail=detail(name, exc)
        ) from None
    except Exception as exc:  # OFDError mostly, but a parser must only ever raise ParseError
        raise corrupt(name, "OFD", exc) from None
    return Extracted(text=clean_layout_text(text), title_hint=useful_title(title), extra=extra)
