"""智能审核: format, wording and safety review of a 公文, findings as spans into the checked text.

    >>> report = review(text)
    >>> [(f.rule, f.text, f.message) for f in report.findings]
"""

from haoban.apps.gongwen.review.engine import list_rules, review, select_rules, warm_up
from haoban.apps.gongwen.review.models import Finding, ReviewReport, RuleInfo

__all__ = ["Finding", "ReviewReport", "RuleInfo", "list_rules", "review", "select_rules", "warm_up"]
