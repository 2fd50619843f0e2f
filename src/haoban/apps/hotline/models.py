"""Hotline tables: tickets (工单) and their event log (every transition, with actor and time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from haoban.store.models import Base, new_id, utcnow


class Ticket(Base):
    __tablename__ = "hotline_tickets"
    __table_args__ = (
        Index("ix_hotline_tickets_status_due", "status", "due_at"),
        Index("ix_hotline_tickets_department", "department"),
        Index("ix_hotline_tickets_received", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # 工单编号 shown to people, e.g. 2026112100001
    channel: Mapped[str] = mapped_column(String(16), default="电话")
    text: Mapped[str] = mapped_column(Text)
    caller_name: Mapped[str | None] = mapped_column(String(64))
    # Raw phone in its own column so display, logs and exports can use the masked copy only.
    caller_phone: Mapped[str | None] = mapped_column(String(32))
    caller_masked: Mapped[str | None] = mapped_column(String(32))
    location: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    request_type: Mapped[str | None] = mapped_column(String(8))  # 咨询/求助/投诉/举报/建议/表扬
    domain: Mapped[str | None] = mapped_column(String(32))  # first level of the taxonomy
    category: Mapped[str | None] = mapped_column(String(64))  # 一级/二级 path when known
    department: Mapped[str | None] = mapped_column(String(64))
    urgency: Mapped[str] = mapped_column(String(8), default="一般")  # 特急/紧急/一般
    sentiment: Mapped[str] = mapped_column(String(8), default="平和")
    risk_words: Mapped[list] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    places: Mapped[list] = mapped_column(JSON, default=list)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sla_rule: Mapped[str] = mapped_column(String(64), default="")
    suggestion: Mapped[dict] = mapped_column(JSON, default=dict)  # model + rules output at intake
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    review_reason: Mapped[str] = mapped_column(String(200), default="")
    # Labels confirmed by a person (or shipped demo labels): these tickets are training data.
    labels_verified: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # Which of the labels (request_type, domain, department) a person confirmed: a re-route confirms only
    # the department, so the model's own guesses for the other fields never become training data.
    verified_fields: Mapped[list] = mapped_column(JSON, default=list)
    merged_into: Mapped[str | None] = mapped_column(String(32), index=True)
    direct_answer: Mapped[dict | None] = mapped_column(JSON)
    reply: Mapped[str] = mapped_column(Text, default="")
    satisfaction: Mapped[str | None] = mapped_column(String(8))  # 满意/基本满意/不满意
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    extension: Mapped[dict | None] = mapped_column(JSON)  # pending or granted 延期 request
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    urgency_score: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class TicketEvent(Base):
    __tablename__ = "hotline_events"
    __table_args__ = (Index("ux_hotline_events_ticket_seq", "ticket_id", "seq", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("hotline_tickets.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
