"""What the 公文 service hands to its fronts (besides the models of the tools themselves)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DocumentInfo(BaseModel):
    id: str
    title: str
    doc_type: str | None = None
    doc_number: str | None = None
    department: str | None = Field(None, description="所属部门路径")
    owner: str = ""
    latest_version: int
    chars: int
    created_at: datetime
    updated_at: datetime


class VersionInfo(BaseModel):
    number: int
    note: str = ""
    author: str = ""
    chars: int
    created_at: datetime


class DocumentDetail(DocumentInfo):
    version: int = Field(description="本次返回的版本号")
    text: str
    versions: list[VersionInfo] = []
