"""Turn uploaded files (PDF, DOCX, OFD, HTML, TXT, Markdown) into plain text plus 公文 metadata.

Every failure is a haoban ParseError subclass with a Chinese message and the file name in
``detail``: UnsupportedFormat, FileTooLarge, CorruptFile, EncryptedFile or EmptyFile.
"""

from .api import SUPPORTED_SUFFIXES, parse_bytes, parse_file, read_limited
from .base import ParsedDocument
from .metadata import extract_metadata

__all__ = ["SUPPORTED_SUFFIXES", "ParsedDocument", "extract_metadata", "parse_bytes", "parse_file", "read_limited"]
