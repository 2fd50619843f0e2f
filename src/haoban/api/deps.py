"""Request dependencies shared by the routers."""

from __future__ import annotations

from fastapi import Request

from haoban.knowledge.service import KnowledgeService


def get_service(request: Request) -> KnowledgeService:
    return request.app.state.service
