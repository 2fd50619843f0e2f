"""Append-only audit log with a keyed hash chain.

Each record stores HMAC-SHA256(key, previous hash + the record's canonical JSON). Editing, inserting or deleting a
record breaks the chain at that point, and the key lives outside the database (a file in the data directory or a
setting), so someone who can only write the database cannot re-compute a consistent chain. Inputs and outputs are
kept as keyed digests (a phone number cannot be recovered by trying candidates without the key) plus a short
PII-masked preview, never verbatim.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from pydantic import BaseModel
from sqlalchemy import bindparam, delete, func, insert, select, update

from haoban.logs import request_id
from haoban.safety.auth import Actor
from haoban.safety.models import AuditHead, AuditRecord
from haoban.store.db import Database

GENESIS = "0" * 64
PREVIEW_CHARS = 200
_FIELDS = (
    "seq", "ts", "actor_id", "actor_name", "actor_kind", "department_id", "action", "resource_type", "resource_id",
    "input_digest", "input_preview", "output_digest", "result", "detail", "request_id", "prev_hash",
)  # fmt: skip

_HEAD = AuditHead.__table__
_BUMP_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq + 1)
    .returning(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.anchor_seq, _HEAD.c.anchor_hash)
)
_INSERT_RECORD = insert(AuditRecord.__table__)
_SET_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("new_hash"), sig=bindparam("new_sig"))


class AuditEntry(BaseModel):
    seq: int
    ts: datetime
    actor_id: str
    actor_name: str
    actor_kind: str
    department_id: str | None
    action: str
    resource_type: str
    resource_id: str | None
    input_digest: str | None
    input_preview: str | None
    output_digest: str | None
    result: str
    detail: dict | None
    request_id: str | None
    prev_hash: str
    hash: str


class VerifyReport(BaseModel):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str | None = None
    first_broken_seq: int | None = None
    reason: str | None = None
    message: str


def _ts(d: datetime) -> str:
    # SQLite hands back naive datetimes, PostgreSQL aware ones: hash both the same way (UTC, naive ISO).
    if d.tzinfo is not None:
        d = d.astimezone(UTC).replace(tzinfo=None)
    return d.isoformat(timespec="microseconds")


def _canonical(values: dict[str, Any]) -> bytes:
    doc = {k: (_ts(values[k]) if k == "ts" else values[k]) for k in _FIELDS}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _csv_row(values: Any) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(values)
    return buf.getvalue()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass
class _Chain:
    key: bytes

    def hash(self, values: dict[str, Any]) -> str:
        return hmac.new(self.key, values["prev_hash"].encode() + _canonical(values), hashlib.sha256).hexdigest()

    def head_sig(self, seq: int, hash_: str, anchor_seq: int, anchor_hash: str) -> str:
        return hmac.new(self.key, f"head|{seq}|{hash_}|{anchor_seq}|{anchor_hash}".encode(), hashlib.sha256).hexdigest()


class AuditLog:
    def __init__(self, db: Database, key: bytes, masker: Callable[[str], str] | None = None):
        self.db = db
        self._chain = _Chain(key)
        # PII masking for previews and digests; set by the service that wires the safety layer together.
        self.masker = masker

    def _preview(self, text: str | None) -> str | None:
        if text is None:
            return None
        # Mask a little more than is kept, so a value straddling the cut is still seen whole by the masker.
        head = text[: PREVIEW_CHARS + 60]
        return (self.masker(head) if self.masker else head)[:PREVIEW_CHARS]

    def _digest(self, text: str | None) -> str | None:
        return None if text is None else hmac.new(self._chain.key, text.encode(), hashlib.sha256).hexdigest()

    def record(
        self,
        actor: Actor,
        action: str,
        resource_type: str,
        resource_id: str | None = None,
        *,
        input: Any = None,  # noqa: A002 - the audit vocabulary
        output: Any = None,
        result: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append one record and return its sequence number."""
        raw_in, raw_out = _text(input), _text(output)
        values: dict[str, Any] = {
            "ts": datetime.now(UTC),
            "actor_id": actor.id[:64],
            "actor_name": actor.name[:100],
            "actor_kind": actor.kind,
            "department_id": actor.department_id,
            "action": action[:64],
            "resource_type": resource_type[:32],
            "resource_id": resource_id[:200] if resource_id else resource_id,
            "input_digest": self._digest(raw_in),
            "input_preview": self._preview(raw_in),
            "output_digest": self._digest(raw_out),
            "result": result,
            "detail": json.loads(json.dumps(detail, ensure_ascii=False, default=str)) if detail else None,
            "request_id": request_id.get(),
        }
        # Prebuilt Core statements on one connection, one transaction: building statements and the ORM unit of
        # work cost more than the three statements themselves, and this runs on every search.
        with self.db.engine.begin() as conn:
            # Bumping the head row first takes the write lock (SQLite) or the row lock (PostgreSQL) before we
            # read the previous hash, so concurrent writers queue up instead of forking the chain.
            head = conn.execute(_BUMP_HEAD).one()
            values["seq"] = head.seq
            values["prev_hash"] = head.hash
            values["hash"] = self._chain.hash(values)
            conn.execute(_INSERT_RECORD, values)
            sig = self._chain.head_sig(head.seq, values["hash"], head.anchor_seq, head.anchor_hash)
            conn.execute(_SET_HEAD, {"new_hash": values["hash"], "new_sig": sig})
        return values["seq"]

    # ---- reading ----------------------------------------------------------------------------------

    def list(
        self,
        *,
        actor_id: str | None = None,
        action: str | None = None,
        resource_type: str | None = None,
        result: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        department_ids: list[str] | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[int, list[AuditEntry]]:
        """Newest first. `department_ids` limits the view to a department subtree (None: everything)."""
        conds = []
        if actor_id:
            conds.append(AuditRecord.actor_id == actor_id)
        if action:
            conds.append(AuditRecord.action.startswith(action) if action.endswith(".") else AuditRecord.action == action)
        if resource_type:
            conds.append(AuditRecord.resource_type == resource_type)
        if result:
            conds.append(AuditRecord.result == result)
        if since:
            conds.append(AuditRecord.ts >= since)
        if until:
            conds.append(AuditRecord.ts < until)
        if department_ids is not None:
            conds.append(AuditRecord.department_id.in_(department_ids))
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(AuditRecord).where(*conds)) or 0
            rows = s.scalars(select(AuditRecord).where(*conds).order_by(AuditRecord.seq.desc()).offset(offset).limit(limit))
            return total, [AuditEntry.model_validate(r, from_attributes=True) for r in rows]

    def iter_all(self, batch: int = 1000) -> Iterator[AuditEntry]:
        last = -1
        while True:
            with self.db.session() as s:
                rows = list(s.scalars(select(AuditRecord).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch)))
                entries = [AuditEntry.model_validate(r, from_attributes=True) for r in rows]
            if not entries:
                return
            yield from entries
            last = entries[-1].seq

    def verify(self) -> VerifyReport:
        """Walk the chain from the anchor; report the first record that was edited, inserted or removed."""
        with self.db.session() as s:
            head = s.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
            head_seq, head_hash, expected, prev = head.seq, head.hash, head.anchor_seq + 1, head.anchor_hash
            fresh = head.seq == 0 and head.anchor_seq == 0 and head.sig is None
            head_ok = fresh or head.sig == self._chain.head_sig(head.seq, head.hash, head.anchor_seq, head.anchor_hash)
        checked = 0

        def broken(seq: int, reason: str, message: str) -> VerifyReport:
            return VerifyReport(ok=False, checked=checked, head_seq=head_seq, first_broken_seq=seq, reason=reason, message=message)

        if not head_ok:
            return broken(head_seq, "head", "审计链的链尾或锚点（audit_head）被改动，链尾之后或锚点之前的删改无法排除")

        for e in self.iter_all():
            if e.seq < expected:
                continue  # records older than the retention anchor are outside the chain being verified
            if e.seq > head_seq:
                break  # appended while we were verifying: the next run checks them
            if e.seq != expected:
                return broken(expected, "missing", f"第 {expected} 条记录缺失（被删除）")
            if e.prev_hash != prev:
                return broken(e.seq, "link", f"第 {e.seq} 条记录与前一条的链接不符（前序记录被改动或删除）")
            if self._chain.hash(e.model_dump()) != e.hash:
                return broken(e.seq, "content", f"第 {e.seq} 条记录的内容被修改")
            prev, expected, checked = e.hash, expected + 1, checked + 1
        if expected - 1 != head_seq or prev != head_hash:
            return broken(expected, "truncated", f"链尾应到第 {head_seq} 条，但只找到第 {expected - 1} 条（末尾记录被删除）")
        return VerifyReport(
            ok=True, checked=checked, head_seq=head_seq, head_hash=head_hash,
            message=f"审计链完整：已核验 {checked} 条记录；链尾散列 {head_hash[:16]}（可记下，下次核验时对照）",
        )  # fmt: skip

    # ---- export and retention ---------------------------------------------------------------------

    def export_lines(self, fmt: str = "jsonl") -> Iterator[str]:
        """The whole log as JSONL or CSV lines (with a header row), oldest first, streamed batch by batch."""
        if fmt not in ("jsonl", "csv"):
            raise ValueError(f"unknown export format {fmt!r}")
        columns = (*_FIELDS, "hash")
        if fmt == "csv":
            yield _csv_row(columns)
        for e in self.iter_all():
            if fmt == "jsonl":
                yield e.model_dump_json() + "\n"
            else:
                d = e.model_dump(mode="json")
                yield _csv_row([json.dumps(d[k], ensure_ascii=False) if k == "detail" and d[k] else d[k] for k in columns])

    def export(self, out: IO[str], fmt: str = "jsonl") -> int:
        n = -1 if fmt == "csv" else 0
        for line in self.export_lines(fmt):
            out.write(line)
            n += 1
        return n

    def purge(self, before: datetime, actor: Actor) -> int:
        """Delete records older than `before` (retention). The chain stays verifiable from the new anchor, and
        the purge itself is recorded."""
        with self.db.session() as s:
            last = s.execute(
                select(AuditRecord.seq, AuditRecord.hash).where(AuditRecord.ts < before).order_by(AuditRecord.seq.desc()).limit(1)
            ).first()
            if last is None:
                return 0
            n = s.execute(delete(AuditRecord).where(AuditRecord.seq <= last.seq)).rowcount or 0
            head = s.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
            head.anchor_seq, head.anchor_hash = last.seq, last.hash
            head.sig = self._chain.head_sig(head.seq, head.hash, head.anchor_seq, head.anchor_hash)
        self.record(actor, "audit.purge", "audit", detail={"before": before.isoformat(), "deleted": n, "anchor_seq": last.seq})
        return n
