"""12345 hotline work orders: intake, trained routing, lifecycle with SLA, duplicates, replies, 考评 statistics."""

from haoban.apps.hotline.service import HotlineService

__all__ = ["HotlineService"]
