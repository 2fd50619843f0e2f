"""Turn parsed text into what the store and the indexes need: chunks, search tokens, embedding input."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from haoban.errors import EmptyFile
from haoban.knowledge.chunk import Chunk, chunk_text
from haoban.text.segment import char_bigrams, tokenize


def headline(text: str, limit: int = 40) -> str:
    """A title for text that came without one: its first line, or its first phrase when it is one long line."""
    first = text.strip().split("\n", 1)[0].strip()
    if len(first) > limit:
        m = re.match(rf"(.{{4,{limit}}}?)[\s\u3000。！？；，：]", first)
        first = m.group(1) if m else first[:limit]
    return first


def indexed_title(title: str | None, aliases: str | None) -> str:
    """The title as indexed and embedded: with the document's other names (one a line, e.g. an FAQ pair's
    similar questions) after it, so a chunk is found by any of them. Plain title when there are none, so
    documents without aliases index and hash exactly as before."""
    title = title or ""
    return f"{title}\n{aliases}" if aliases else title


def embedding_input(title: str, heading_path: str, text: str) -> str:
    """What the embedding model reads for a chunk: its document title and heading path give it context."""
    head = " ".join(p for p in (title, heading_path) if p)
    return f"{head}\n{text}" if head else text


def title_tokens(title: str) -> list[str]:
    """The title's words and bigrams, indexed with every chunk of its document."""
    return tokenize(title) + char_bigrams(title)


def index_tokens(title_tokens: list[str], heading_path: str, text: str) -> list[str]:
    """What the BM25 index holds for a chunk: words (search mode) and character bigrams of its title,
    heading path and text; the bigrams catch phrases jieba segments differently in a question."""
    return title_tokens + tokenize(heading_path) + tokenize(text) + char_bigrams(heading_path) + char_bigrams(text)


def text_hash(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest()


@dataclass
class PreparedDocument:
    source: str
    format: str
    text: str
    meta: dict[str, Any]  # title, issuer, doc_number, written_date, publish_date, validity, tags, url
    extra: dict[str, Any] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    tokens: list[list[str]] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def prepare(source: str, fmt: str, text: str, meta: dict[str, Any], extra: dict[str, Any], size: int, overlap: int) -> PreparedDocument:
    if not text.strip():
        raise EmptyFile(detail={"file": source})
    doc = PreparedDocument(source=source, format=fmt, text=text, meta=meta, extra=extra)
    doc.chunks = chunk_text(text, size=size, overlap=overlap)
    if not doc.chunks:
        raise EmptyFile(detail={"file": source})
    title = indexed_title(meta.get("title"), meta.get("aliases"))
    in_title = title_tokens(title)
    for c in doc.chunks:
        # Title and heading words are indexed with every chunk, so a passage is found by what its
        # document is about even when the passage itself does not repeat it.
        doc.tokens.append(index_tokens(in_title, c.heading_path, c.text))
        doc.hashes.append(text_hash(embedding_input(title, c.heading_path, c.text)))
    return doc
