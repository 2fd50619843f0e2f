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
    key = path.read_bytes().strip()
    if len(key) < 32:
        raise RuntimeError(f"密钥文件 {path} 内容不完整，请删除后重启（会使已登录的会话失效）")
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    try:
        # link() fails if the key exists: when two workers start together exactly one key wins, and the other
        # worker reads a complete file (never one still being written).
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
