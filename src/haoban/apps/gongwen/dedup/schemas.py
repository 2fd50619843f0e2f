"""What the duplicate check returns (pydantic v2; the API will serialise these as they are)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class DedupSource(BaseModel):
    doc_id: str
    title: str
    start: int = Field(description="来源句在来源文档原文中的起始字符位置")
    end: int = Field(description="来源句在来源文档原文中的结束字符位置（不含）")
    text: str = Field(description="来源句原文")
    paragraph_index: int = Field(description="来源句所在段落序号（从 0 开始，只数有文字的段落）")
    similarity: float = Field(description="与待查句的相似度（0–1）")
    meta: dict[str, Any] = Field(default_factory=dict, description="登记文档时附带的元数据（发文字号等）")


class DuplicatedSentence(BaseModel):
    start: int = Field(description="在待查文本中的起始字符位置")
    end: int = Field(description="在待查文本中的结束字符位置（不含）")
    text: str
    paragraph_index: int
    similarity: float = Field(description="与最相似来源句的相似度（0–1）")
    sources: list[DedupSource] = Field(description="来源，最相似的在前")


class DedupTiming(BaseModel):
    split: float = 0.0
    candidates: float = 0.0
    verify: float = 0.0
    sources: float = 0.0
    total: float = 0.0


class DedupReport(BaseModel):
    corpus_id: str
    corpus_documents: int = Field(description="查重语料库中的文档数")
    threshold: float
    duplicate_ratio: float = Field(description="重复率：重复句的字数 ÷ 待查文本的字数（均不计空白）")
    checked_chars: int = Field(description="待查文本字数（不计空白）")
    duplicated_chars: int
    checked_sentences: int = Field(description="参与查重的句子数")
    skipped_sentences: int = Field(description="过短（不足 8 个汉字）或属于公文套话而未查的句子数")
    duplicated_sentences: list[DuplicatedSentence]
    notice: str | None = None
    timing: DedupTiming = Field(default_factory=DedupTiming, description="各阶段耗时（秒）")


class DedupDocument(BaseModel):
    doc_id: str
    title: str
    chars: int
    sentences: int
    version: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class DedupStats(BaseModel):
    corpus_id: str
    documents: int
    sentences: int = Field(description="去重后的不同句子数")
    occurrences: int = Field(description="句子出现次数（文档 × 句）")
    segments: int
    lsh_entries: int
    disk_bytes: int
    params: dict[str, Any]


class SyncReport(BaseModel):
    corpus_id: str
    kb_id: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    seconds: float = 0.0
