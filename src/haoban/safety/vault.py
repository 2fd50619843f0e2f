"""Reversible pseudonyms for personal information, and the service behind `haoban pii` and /api/pii.

A value gets one stable token per deployment (【姓名#A3F2】): the token is derived from a keyed HMAC of
the value, so the same 身份证号 always maps to the same token and nothing about it can be guessed from the
token. The value itself is stored Fernet-encrypted (AES-128-CBC + HMAC, from `cryptography`); only an
actor allowed "pii.unmask" gets it back, and every call is written to the audit log.

Key: the setting `pii_key` if the deployment defines one, else data_dir/secrets/pii.key (created 0600),
read through `haoban.safety.keys.load_secret`. Losing the key makes stored values unrecoverable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, Field
from sqlalchemy import DateTime, Index, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from haoban.errors import InvalidInput
from haoban.safety import pii
from haoban.safety.auth import Actor, authorize
from haoban.store.db import Database
from haoban.store.models import Base, new_id, utcnow


class PiiVaultEntry(Base):
    __tablename__ = "pii_vault"
    __table_args__ = (Index("ux_pii_vault_digest", "digest", unique=True), Index("ux_pii_vault_token", "token", unique=True))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    # HMAC-SHA256 of kind + value: finds the existing token without decrypting anything.
    digest: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# 【姓名#A3F2】: the label keeps masked text readable; 4–16 hex digits (longer only after a collision).
TOKEN_RE = re.compile(r"【([\u4e00-\u9fff]{2,8})#([0-9A-F]{4,16})】")


class UnmaskResult(BaseModel):
    text: str = Field(description="还原后的文本")
    restored: int = Field(description="还原的假名个数")
    unknown: list[str] = Field(default_factory=list, description="假名库中找不到的假名（原样保留）")


class PseudonymVault:
    def __init__(self, db: Database, secret: bytes):
        self.db = db
        self._fernet = Fernet(base64.urlsafe_b64encode(hmac.new(secret, b"haoban-pii-vault-encrypt", hashlib.sha256).digest()))
        self._mac_key = hmac.new(secret, b"haoban-pii-vault-token", hashlib.sha256).digest()

    def _digest(self, kind: str, value: str) -> str:
        return hmac.new(self._mac_key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()

    def tokens(self, items: Iterable[tuple[str, str]]) -> list[str]:
        """A token for each (kind, canonical value), creating vault entries for new values."""
        items = list(items)
        digests = [self._digest(k, v) for k, v in items]
        for _attempt in range(3):
            try:
                return self._tokens(items, digests)
            except IntegrityError:
                continue  # another process stored the same value (or token) first: read it back
        raise InvalidInput("假名库写入冲突，请重试")

    def _tokens(self, items: list[tuple[str, str]], digests: list[str]) -> list[str]:
        with self.db.session() as s:
            found = dict(s.execute(select(PiiVaultEntry.digest, PiiVaultEntry.token).where(PiiVaultEntry.digest.in_(set(digests)))).all())
            for (kind, value), digest in zip(items, digests, strict=True):
                if digest in found:
                    continue
                label = pii.LABELS[kind]
                for width in (4, 6, 8, 12, 16):
                    token = f"【{label}#{digest[:width].upper()}】"
                    clash = token in found.values() or s.execute(select(PiiVaultEntry.id).where(PiiVaultEntry.token == token)).first()
                    if not clash:
                        break
                s.add(PiiVaultEntry(kind=kind, digest=digest, token=token, ciphertext=self._fernet.encrypt(value.encode()).decode()))
                s.flush()
                found[digest] = token
            return [found[d] for d in digests]

    def reveal(self, tokens: Iterable[str]) -> dict[str, str]:
        """Token → original value for the tokens the vault knows."""
        wanted = set(tokens)
        if not wanted:
            return {}
        with self.db.session() as s:
            rows = s.execute(select(PiiVaultEntry.token, PiiVaultEntry.ciphertext).where(PiiVaultEntry.token.in_(wanted))).all()
        out = {}
        for token, ciphertext in rows:
            try:
                out[token] = self._fernet.decrypt(ciphertext.encode()).decode()
            except InvalidToken:
                continue  # encrypted under another key: treated as unknown rather than failing the whole text
        return out

    def unmask(self, text: str) -> UnmaskResult:
        found = [m.group() for m in TOKEN_RE.finditer(text)]
        values = self.reveal(found)
        restored = TOKEN_RE.sub(lambda m: values.get(m.group(), m.group()), text)
        unknown = sorted({t for t in found if t not in values})
        return UnmaskResult(text=restored, restored=sum(1 for t in found if t in values), unknown=unknown)


class PiiService:
    """Masking and authorised un-masking with permission checks and audit records."""

    def __init__(self, db: Database, secret: bytes, audit=None):  # noqa: ANN001 - AuditLog, optional
        self.vault = PseudonymVault(db, secret)
        self.audit = audit

    @classmethod
    def from_service(cls, svc) -> PiiService:  # noqa: ANN001 - KnowledgeService
        from haoban.safety.keys import load_secret

        return cls(svc.db, load_secret(svc.settings, "pii"), getattr(svc, "audit", None))

    def mask(
        self,
        text: str,
        style: pii.MaskStyle = "partial",
        types: Iterable[str] | str | None = None,
        *,
        actor: Actor,
        min_confidence: float = 0.5,
    ) -> pii.MaskResult:
        authorize(actor, "pii.mask")
        if style == "pseudonym":
            # Pseudonyms are deterministic: whoever may mint them could test guesses against a token.
            authorize(actor, "pii.unmask")
        result = pii.mask(text, style, types, vault=self.vault, min_confidence=min_confidence)
        if self.audit is not None:
            counts: dict[str, int] = {}
            for s in result.spans:
                counts[s.type] = counts.get(s.type, 0) + 1
            # The masked text only: the audit log must not become a second copy of the personal data.
            self.audit.record(actor, "pii.mask", "text", input=result.text, output=result.text, detail={"style": style, "found": counts})
        return result

    def unmask(self, text: str, *, actor: Actor) -> UnmaskResult:
        if not isinstance(text, str):
            raise InvalidInput("文本必须是字符串")
        if len(text) > pii.MAX_CHARS:
            raise pii.too_long_error()
        try:
            authorize(actor, "pii.unmask")
        except Exception:
            if self.audit is not None:
                self.audit.record(actor, "pii.unmask", "text", input=text, result="denied")
            raise
        result = self.vault.unmask(text)
        if self.audit is not None:
            self.audit.record(
                actor, "pii.unmask", "text", input=text, output=None,
                detail={"restored": result.restored, "unknown": len(result.unknown)},
            )
        return result
