"""Tables of the 公文 toolkit: documents a clerk saves (公文库) and every saved version of each.

The saved documents are the "all past documents" corpus of the duplicate check and the versions that
compare works on. A document belongs to its author's department: readable and writable there and above.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from haoban.store.models import Base, new_id, utcnow


class GongwenDocument(Base):
    __tablename__ = "gongwen_documents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(300), default="")
    doc_type: Mapped[str | None] = mapped_column(String(16))
    doc_number: Mapped[str | None] = mapped_column(String(64))
    department_path: Mapped[str | None] = mapped_column(String(1000), index=True)
    owner_id: Mapped[str | None] = mapped_column(String(64))
    owner_name: Mapped[str] = mapped_column(String(100), default="")
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    chars: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class GongwenVersion(Base):
    __tablename__ = "gongwen_versions"
    __table_args__ = (UniqueConstraint("document_id", "number", name="uq_gongwen_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(String(32), ForeignKey("gongwen_documents.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(200), default="")
    author_id: Mapped[str | None] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
