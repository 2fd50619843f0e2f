"""The work-order state machine: 受理 → (直接答复 | 派单) → 签收 → 办理 → 回复 → 回访 → 办结.

Side paths: 退单 and 改派, 延期申请/批准, 督办, 重办 (reopen after an unsatisfied 回访), 合并 (a duplicate
is folded into its original). Each action names the states it may start from and the state it ends in;
anything else is an illegal transition and raises IllegalTransition (409).
"""

from __future__ import annotations

from dataclasses import dataclass

STATUS_LABELS: dict[str, str] = {
    "received": "已受理",
    "answered": "已直接答复",
    "dispatched": "已派单待签收",
    "returned": "已退单待改派",
    "signed": "已签收",
    "processing": "办理中",
    "replied": "已回复待回访",
    "visited": "已回访",
    "closed": "已办结",
    "merged": "已合并",
}
OPEN = frozenset({"received", "dispatched", "returned", "signed", "processing"})  # the SLA clock runs
TERMINAL = frozenset({"closed", "merged"})


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: the status does not change (督办, 延期)
    permission: str = "hotline.handle"
    needs: tuple[str, ...] = ()  # fields the caller must give (department, reason, reply, satisfaction, days)


def _a(name: str, label: str, sources: set[str], target: str | None, permission: str = "hotline.handle", needs: tuple[str, ...] = ()) -> Action:
    return Action(name, label, frozenset(sources), target, permission, needs)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in [
        _a("answer", "直接答复", {"received"}, "answered", needs=("reply",)),
        _a("dispatch", "派单", {"received"}, "dispatched", needs=("department",)),
        _a("sign", "签收", {"dispatched"}, "signed"),
        _a("return", "退单", {"dispatched", "signed"}, "returned", needs=("reason",)),
        _a("redispatch", "改派", {"returned", "dispatched"}, "dispatched", needs=("department",)),
        _a("start", "开始办理", {"signed"}, "processing"),
        _a("request_extension", "延期申请", {"signed", "processing"}, None, needs=("days", "reason")),
        _a("approve_extension", "批准延期", {"signed", "processing"}, None, permission="hotline.admin"),
        _a("reject_extension", "驳回延期", {"signed", "processing"}, None, permission="hotline.admin"),
        _a("reply", "回复", {"processing"}, "replied", needs=("reply",)),
        _a("visit", "回访", {"replied", "answered"}, "visited", needs=("satisfaction",)),
        _a("close", "办结", {"visited", "answered"}, "closed"),
        _a("reopen", "重办", {"visited", "closed"}, "processing", permission="hotline.admin", needs=("reason",)),
        _a("supervise", "督办", {"dispatched", "returned", "signed", "processing"}, None, permission="hotline.admin", needs=("reason",)),
        _a("merge", "合并", {"received", "dispatched", "returned"}, "merged"),
    ]
}


def allowed_actions(status: str) -> list[str]:
    """Names of the actions that may be taken from this status (for the console's buttons)."""
    return [a.name for a in ACTIONS.values() if status in a.sources]


def plan(status: str, action: str) -> Action:
    """The action if it is legal from `status`; raises UnknownAction (400) or IllegalTransition (409)."""
    from haoban.errors import IllegalTransition, InvalidInput

    act = ACTIONS.get(action)
    if act is None:
        names = "、".join(f"{a.name}（{a.label}）" for a in ACTIONS.values())
        raise InvalidInput(f"未知的工单操作“{action}”，可用操作：{names}", code="HOTLINE_UNKNOWN_ACTION")
    if status not in act.sources:
        here = STATUS_LABELS.get(status, status)
        legal = "、".join(ACTIONS[n].label for n in allowed_actions(status)) or "无"
        raise IllegalTransition(
            f"工单当前状态为“{here}”，不能执行“{act.label}”；当前可执行：{legal}",
            detail={"status": status, "action": action, "allowed": allowed_actions(status)},
        )
    return act
