"""Offline Chinese spelling check (错别字检查) for 公文 review: see checker.py for the method."""

from haoban.apps.gongwen.spelling.checker import Correction, SpellChecker, get_spell_checker

__all__ = ["Correction", "SpellChecker", "get_spell_checker"]
