"""The audit log: every data access leaves a hash-chained record; any edit, insert or deletion is found."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update

from conftest import CORPUS
from haoban.knowledge.service import KnowledgeService
from haoban.safety.audit import AuditLog
from haoban.safety.auth import SYSTEM, Actor
from haoban.safety.models import AuditHead, AuditRecord

CLERK = Actor(id="u1", name="王科员", kind="user", roles=frozenset({"staff"}), department_id="d1")


def fill(svc: KnowledgeService, n: int = 5) -> None:
    for i in range(n):
        svc.audit.record(CLERK, "kb.search", "kb", f"kb{i}", input=f"第{i}个问题：居住证怎么办", output={"hits": i})


def test_service_calls_are_audited_with_masked_digests(service: KnowledgeService):
    service.create_kb("审计库")
    service.ingest_paths("审计库", [CORPUS])
    service.search("居住证签注")
    total, items = service.audit.list(limit=10)
    actions = [e.action for e in reversed(items)]
    assert actions == ["kb.create", "kb.ingest", "kb.search"]
    search = items[0]
    assert search.input_preview == "居住证签注" and len(search.input_digest) == 64
    assert search.detail["hits"] > 0 and search.actor_kind == "system"
    assert service.audit.verify().ok


def test_masker_is_applied_before_anything_is_stored(service: KnowledgeService):
    service.audit.masker = lambda t: t.replace("13812345678", "138****5678")
    service.audit.record(CLERK, "qa.ask", "conversation", "c1", input="我的电话13812345678，社保怎么转")
    _, (entry,) = service.audit.list()
    assert "13812345678" not in entry.input_preview and "138****5678" in entry.input_preview


def test_verify_finds_an_edited_record(service: KnowledgeService):
    fill(service)
    with service.db.session() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == 3).values(actor_name="别人"))
    report = service.audit.verify()
    assert not report.ok and report.first_broken_seq == 3 and report.reason == "content"
    assert "第 3 条" in report.message


def test_verify_finds_a_deleted_record_in_the_middle_and_at_the_end(service: KnowledgeService):
    fill(service)
    with service.db.session() as s:
        s.execute(delete(AuditRecord).where(AuditRecord.seq == 2))
    report = service.audit.verify()
    assert (report.ok, report.first_broken_seq, report.reason) == (False, 2, "missing")


def test_verify_finds_deleted_tail(service: KnowledgeService):
    fill(service)
    with service.db.session() as s:
        s.execute(delete(AuditRecord).where(AuditRecord.seq >= 4))
    report = service.audit.verify()
    assert (report.ok, report.reason) == (False, "truncated")


def test_cutting_the_tail_and_resetting_the_head_is_detected(service: KnowledgeService):
    fill(service)
    with service.db.session() as s:
        last = s.scalar(select(AuditRecord).where(AuditRecord.seq == 3))
        s.execute(delete(AuditRecord).where(AuditRecord.seq > 3))
        s.execute(update(AuditHead).values(seq=3, hash=last.hash))
    report = service.audit.verify()
    assert (report.ok, report.reason) == (False, "head")


def test_moving_the_anchor_to_hide_records_is_detected(service: KnowledgeService):
    fill(service)
    with service.db.session() as s:
        head = s.scalar(select(AuditHead))
        s.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(actor_name="别人"))
        s.execute(update(AuditHead).values(anchor_seq=head.seq, anchor_hash=head.hash))
    assert service.audit.verify().reason == "head"


def test_records_appended_during_verification_are_not_reported_as_tampering(service: KnowledgeService):
    fill(service, 3)
    original = service.audit.iter_all

    def with_a_late_record(batch: int = 1000):
        yield from original(batch)

    service.audit.iter_all = with_a_late_record  # type: ignore[method-assign]
    seq_before = service.audit.verify().head_seq
    service.audit.record(CLERK, "kb.search", "kb", input="新的一条")
    assert service.audit.verify().ok and seq_before == 3


def test_a_forged_chain_without_the_key_is_detected(service: KnowledgeService):
    """Someone with database access re-computes the chain with a key they guessed: verification fails."""
    fill(service)
    forger = AuditLog(service.db, key=b"guessed")
    with service.db.session() as s:
        rows = s.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
        prev = "0" * 64
        for r in rows:
            values = {c: getattr(r, c) for c in AuditRecord.__table__.columns.keys()}
            values["prev_hash"] = prev
            if r.seq == 2:
                values["actor_name"] = r.actor_name = "伪造"
            r.prev_hash = prev
            r.hash = prev = forger._chain.hash(values)
    report = service.audit.verify()
    assert (report.ok, report.first_broken_seq, report.reason) == (False, 1, "content")
    # Pointing the head at the forged chain does not help: the head is signed with the same key.
    with service.db.session() as s:
        s.execute(update(AuditHead).values(hash=prev, sig=forger._chain.head_sig(5, prev, 0, "0" * 64)))
    assert service.audit.verify().reason == "head"


def test_concurrent_writers_keep_one_linear_chain(service: KnowledgeService):
    errors: list[BaseException] = []

    def work() -> None:
        try:
            fill(service, 20)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = service.audit.verify()
    assert report.ok and report.checked == 80


def test_second_process_appends_to_the_same_chain(settings, service: KnowledgeService):
    """Two processes (e.g. two API workers) share the log; the key file is shared through the data dir."""
    fill(service, 3)
    code = (
        "from haoban.config import Settings; from haoban.knowledge.service import KnowledgeService;"
        "from haoban.safety.auth import SYSTEM;"
        f"svc = KnowledgeService(Settings(data_dir={str(settings.data_dir)!r}, database_url={settings.database_url!r},"
        " embedding_backend='none'), embedder=None);"
        "[svc.audit.record(SYSTEM, 'kb.search', 'kb', input=str(i)) for i in range(5)]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    report = service.audit.verify()
    assert report.ok and report.checked == 8


def test_purge_by_retention_keeps_the_rest_verifiable(service: KnowledgeService):
    fill(service, 6)
    with service.db.session() as s:
        old = datetime.now(UTC) - timedelta(days=400)
        s.execute(update(AuditRecord).where(AuditRecord.seq <= 4).values(ts=old))
    # Changing the timestamps broke those records, but they are exactly the ones the purge removes.
    assert service.audit.purge(datetime.now(UTC) - timedelta(days=180), SYSTEM) == 4
    report = service.audit.verify()
    assert report.ok and report.checked == 3  # records 5, 6 and the purge record itself
    _, items = service.audit.list(action="audit.purge")
    assert items[0].detail["deleted"] == 4


def test_export_jsonl_and_csv(service: KnowledgeService):
    fill(service, 3)
    buf = io.StringIO()
    assert service.audit.export(buf, "jsonl") == 3
    rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3] and all(len(r["hash"]) == 64 for r in rows)
    buf = io.StringIO()
    assert service.audit.export(buf, "csv") == 3
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("seq,ts,actor_id") and len(lines) == 4


def test_cli_verify_and_export(settings, service: KnowledgeService, tmp_path, monkeypatch):
    fill(service, 3)
    env = {"HAOBAN_DATA_DIR": str(settings.data_dir), "HAOBAN_EMBEDDING_BACKEND": "none", "PATH": ""}
    run = lambda *a: subprocess.run([sys.executable, "-m", "haoban.cli", *a], capture_output=True, text=True, env=env, timeout=120)  # noqa: E731
    ok = run("audit", "verify")
    assert ok.returncode == 0 and "审计链完整" in ok.stdout
    out = tmp_path / "audit.csv"
    assert run("audit", "export", "-f", "csv", "-o", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8").startswith("seq,")
    with service.db.session() as s:
        s.execute(text("UPDATE audit_log SET action = 'x' WHERE seq = 2"))
    bad = run("audit", "verify")
    assert bad.returncode == 7 and "第 2 条" in bad.stderr


@pytest.mark.parametrize("fmt", ["xml"])
def test_unknown_export_format_is_refused(service: KnowledgeService, fmt: str):
    with pytest.raises(ValueError):
        list(service.audit.export_lines(fmt))


def test_previews_mask_values_at_the_cut_and_digests_are_keyed(service: KnowledgeService):
    import hashlib

    from haoban.knowledge.service import _mask_for_audit

    service.audit.masker = _mask_for_audit
    text = "咨" * 190 + "，手机13812345678，" + "问" * 500
    service.audit.record(CLERK, "qa.ask", "conversation", "c1", input=text)
    _, (entry,) = service.audit.list()
    assert len(entry.input_preview) == 200 and "1381234" not in entry.input_preview
    # Keyed: the digest of a short personal value cannot be found by hashing guesses.
    assert entry.input_digest != hashlib.sha256(text.encode()).hexdigest()
