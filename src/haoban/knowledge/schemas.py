"""Pydantic models at the boundary of the knowledge service (API, CLI JSON, library callers)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

# SQLite hands back naive datetimes; everything is stored in UTC, so say so on the way out.
UTCDateTime = Annotated[datetime, AfterValidator(lambda d: d if d.tzinfo else d.replace(tzinfo=UTC))]
# Stored one a line (see Document.aliases), handed out as a list.
Lines = Annotated[list[str], BeforeValidator(lambda v: [x for x in v.split("\n") if x] if isinstance(v, str) else (v or []))]


class KBInfo(BaseModel):
    id: str
    name: str
    description: str
    document_count: int
    chunk_count: int
    vector_ready: int = Field(description="已完成向量化的分块数")
    visibility: str = Field("internal", description="可见范围：public 公开 / internal 内部 / restricted 受限")
    department_id: str | None = Field(None, description="所属部门")
    created_at: UTCDateTime


class DocumentInfo(BaseModel):
    id: str
    kb_id: str
    source: str
    format: str
    title: str
    issuer: str | None
    doc_number: str | None
    written_date: date | None
    publish_date: date | None
    validity: Literal["current", "repealed"]
    tags: list[str]
    url: str | None
    aliases: Lines = Field(default_factory=list, description="文档的其他名称（问答对的相似问题），与标题一同检索")
    char_count: int
    chunk_count: int
    vector_ready: int | None = None
    created_at: UTCDateTime
    updated_at: UTCDateTime


class DocumentText(DocumentInfo):
    text: str


class DocumentMeta(BaseModel):
    """Metadata a caller may set or override; None keeps what the parser found."""

    title: str | None = None
    issuer: str | None = None
    doc_number: str | None = None
    written_date: date | None = None
    publish_date: date | None = None
    validity: Literal["current", "repealed"] | None = None
    tags: list[str] | None = None
    url: str | None = None


class FileOutcome(BaseModel):
    source: str
    status: Literal["added", "replaced", "unchanged", "failed"]
    document_id: str | None = None
    chunks: int = 0
    code: str | None = None
    message: str | None = None


class IngestReport(BaseModel):
    kb_id: str
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    failed: int = 0
    chunks: int = 0
    chars: int = 0
    seconds: float = 0.0
    files: list[FileOutcome] = Field(default_factory=list)
    guarded: list[dict] = Field(default_factory=list, description="安全策略作用过的文件：脱敏或需复核（规则名，不含原文）")


class SearchFilters(BaseModel):
    issuer: str | None = Field(None, description="发文机关（包含匹配）")
    date_from: date | None = Field(None, description="成文日期起（含）")
    date_to: date | None = Field(None, description="成文日期止（含）")
    validity: Literal["current", "repealed", "all"] = Field("current", description="效力：现行、已废止或全部")
    tags: list[str] = Field(default_factory=list, description="须同时带有的标签")
    document_ids: list[str] = Field(default_factory=list)


class Citation(BaseModel):
    document_id: str
    title: str
    format: str | None = Field(None, description="文档格式；faq 表示问答对（title 为问题，段落为答案）")
    doc_number: str | None
    issuer: str | None
    heading_path: str
    start: int = Field(description="在原文中的起始字符位置")
    end: int = Field(description="在原文中的结束字符位置（不含）")


class CopyRef(BaseModel):
    document_id: str
    title: str
    similarity: float = Field(description="与列出的那份文件的文本重合度估计（3 字组 Jaccard，0.9–1；1 为相同）")


class SearchHit(BaseModel):
    chunk_id: str
    kb_id: str
    score: float = Field(description="融合得分（越大越相关）")
    lexical_score: float | None = None
    dense_score: float | None = Field(None, description="向量余弦相似度（E5 分数整体偏高，请勿直接当概率用）")
    text: str
    highlights: list[tuple[int, int]] = Field(description="命中词在分块文本中的位置")
    citation: Citation
    copies: list[CopyRef] = Field(default_factory=list, description="内容与本文件相同的其他文件（转载、重复收录），已从结果中合并")


class SearchResult(BaseModel):
    query: str
    mode: Literal["hybrid", "lexical", "dense"]
    notice: str | None = Field(None, description="检索状态说明，如向量尚未全部就绪")
    dense_coverage: float = Field(description="参与检索的分块中已有向量的比例")
    took_ms: float
    hits: list[SearchHit]


class EmbedProgress(BaseModel):
    total: int
    ready: int
    pending: int
    running: bool = False


class IndexUpgradeProgress(BaseModel):
    """Rebuild of keyword-index segments written in an older format, in the background of this process."""

    kb_id: str
    outdated: bool = Field(description="是否还有旧格式的关键词索引分段（升级完成前检索使用旧版索引）")
    running: bool = Field(description="本进程的后台升级任务是否正在运行")
    done: int = Field(0, description="已重新分词的分块数")
    total: int = Field(0, description="需要重新分词的分块数")
    error: str | None = Field(None, description="上次升级失败的原因（稍后会自动重试）")


class FaqSheet(BaseModel):
    name: str | None = Field(description="工作表名（CSV、JSONL 为空）")
    columns: dict[str, str] = Field(description="识别出的列：question/answer/similar/category/department/date → 文件中的表头")
    rows: int = Field(description="读到的数据行数（不含空行）")


class FaqOutcome(BaseModel):
    question: str
    status: Literal["added", "updated", "unchanged", "failed"]
    document_id: str | None = None
    sheet: str | None = None
    row: int
    message: str | None = None


class FaqSkipped(BaseModel):
    sheet: str | None = None
    row: int = Field(description="行号（Excel 行号；CSV 为第几条记录，表头为第 1 条；JSONL 为行号）")
    reason: str
    question: str | None = None


class FaqMissing(BaseModel):
    document_id: str
    question: str


class FaqImportReport(BaseModel):
    """What importing one FAQ file did. Pairs are keyed by file name + normalised question."""

    kb_id: str
    file: str
    format: str
    encoding: str | None = None
    sheets: list[FaqSheet] = Field(default_factory=list)
    ignored_sheets: list[dict] = Field(default_factory=list, description="没有问题列和答案列、被跳过的工作表及其表头")
    pairs: int = Field(0, description="文件中有效的问答对数")
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    removed: int = Field(0, description="文件里已没有、按要求从知识库删除的问答对")
    missing: int = Field(0, description="文件里已没有、但仍保留在知识库中的问答对（未要求删除）")
    seconds: float = 0.0
    items: list[FaqOutcome] = Field(default_factory=list)
    skipped_rows: list[FaqSkipped] = Field(default_factory=list)
    missing_pairs: list[FaqMissing] = Field(default_factory=list, description="文件里已没有的问答对（已删除或仍保留，见 removed/missing）")
    guarded: list[dict] = Field(default_factory=list, description="安全策略作用过的答案：脱敏或需复核（规则名，不含原文）")
    notice: str | None = None
