"""Database schema (SQLAlchemy 2). IDs are ULID strings; times are stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from ulid import ULID


def new_id() -> str:
    return str(ULID()).lower()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class KnowledgeBase(Base):
    __tablename__ = "knowledge_bases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Bumped in the same transaction as any chunk change, so every process knows its cached index is stale.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped when new vectors for this base's chunks are stored.
    vector_generation: Mapped[int] = mapped_column(Integer, default=0)
    # public: anyone, even without logging in; internal: any user of the same department branch;
    # restricted: the owning department's subtree and explicit grants only.
    visibility: Mapped[str] = mapped_column(String(16), default="internal")
    department_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    documents: Mapped[list[Document]] = relationship(back_populates="kb", cascade="all, delete-orphan", passive_deletes=True)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (Index("ux_documents_kb_source", "kb_id", "source", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kb_id: Mapped[str] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True)
    # Where the document came from (file path, upload name or caller-given key); re-ingesting the same
    # source replaces the document instead of adding a copy.
    source: Mapped[str] = mapped_column(String(1000))
    format: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(500), default="")
    issuer: Mapped[str | None] = mapped_column(String(200), index=True)
    doc_number: Mapped[str | None] = mapped_column(String(100))
    written_date: Mapped[date | None] = mapped_column(Date)
    publish_date: Mapped[date | None] = mapped_column(Date)
    validity: Mapped[str] = mapped_column(String(10), default="current")  # 效力: current | repealed
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    url: Mapped[str | None] = mapped_column(String(1000))
    # Other names the document goes by, one a line (an FAQ pair's similar questions): indexed and embedded with
    # every chunk like the title (knowledge/prepare.py indexed_title). Text, not JSON, so the embedding queue
    # can take min() of it on PostgreSQL as it does of the title.
    aliases: Mapped[str] = mapped_column(Text, default="", server_default="")
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    # MinHash of the text (knowledge/copies.py): search lists reposts of one text under its best-ranked copy.
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    char_count: Mapped[int] = mapped_column(Integer, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    kb: Mapped[KnowledgeBase] = relationship(back_populates="documents")


class Chunk(Base):
    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_doc_seq", "document_id", "seq"), Index("ix_chunks_segment", "segment_id"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kb_id: Mapped[str] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    heading_path: Mapped[str] = mapped_column(String(500), default="")
    text: Mapped[str] = mapped_column(Text)
    # Space-joined search tokens, kept so index segments can be merged without segmenting again.
    tokens: Mapped[str] = mapped_column(Text)
    # Hash of the text given to the embedding model (title, heading path and chunk text).
    text_hash: Mapped[str] = mapped_column(String(40), index=True)
    segment_id: Mapped[str] = mapped_column(String(32))


class LexicalSegment(Base):
    """One immutable BM25 index file set on disk, covering the chunks of one ingest batch."""

    __tablename__ = "lexical_segments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kb_id: Mapped[str] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True)
    chunk_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Embedding(Base):
    """Content-addressed vectors: identical chunk text is embedded once, whatever document it is in."""

    __tablename__ = "embeddings"

    model: Mapped[str] = mapped_column(String(100), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(40), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# ---- policy Q&A (apps/qa) ------------------------------------------------------------------------


class Conversation(Base):
    """A Q&A session: the questions asked one after another, so follow-ups can refer back."""

    __tablename__ = "qa_conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200), default="")
    # Knowledge bases the conversation searches (names or ids as given; empty = all).
    kbs: Mapped[list[str]] = mapped_column(JSON, default=list)
    user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Message.seq",
    )


class Message(Base):
    """One question and its answer (the whole answer, with citations, as JSON)."""

    __tablename__ = "qa_messages"
    __table_args__ = (Index("ix_qa_messages_conv_seq", "conversation_id", "seq", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("qa_conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    rewritten: Mapped[str] = mapped_column(Text)  # the standalone question used for retrieval
    mode: Mapped[str] = mapped_column(String(12))  # extractive | generative | refusal
    intent: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    answer: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Feedback(Base):
    """有用/无用 and a comment on one answer; every submission is kept, the latest one counts."""

    __tablename__ = "qa_feedback"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    message_id: Mapped[str] = mapped_column(ForeignKey("qa_messages.id", ondelete="CASCADE"), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
