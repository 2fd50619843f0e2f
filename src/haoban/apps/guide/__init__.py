"""智能办事助手: service-item catalogue (事项), life-event bundles (一件事), matching, checklists,
pre-check and enterprise policy matching. Entry point: haoban.apps.guide.service.GuideService."""

from __future__ import annotations

from typing import Any


def ensure_demo_catalogue(knowledge: Any) -> Any:
    """Load the owned demo catalogue into an empty catalogue (called by `haoban demo`); returns the
    ImportReport, or None when a catalogue already exists."""
    from haoban.apps.guide.service import GuideService

    return GuideService(knowledge).load_demo()
