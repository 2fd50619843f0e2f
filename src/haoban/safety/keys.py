"""Secret keys (session signing, audit chain): from settings, else a random file in the data directory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from haoban.config import Settings


def load_secret(settings: Settings, name: str) -> bytes:
    """The key `name` ("session" or "audit"): the setting if given, else data_dir/secrets/<name>.key (0600)."""
    configured = getattr(settings, f"{'secret' if name == 'session' else name}_key", None)
    if configured:
        return configured.encode()
    path = settings.data_dir / "secrets" / f"{name}.key"
    if not path.exists():
        _create(path)
    return path.read_bytes().strip()


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        # O_EXCL: when two workers start together, exactly one writes the key and the other reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
