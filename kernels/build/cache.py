"""A content-addressed cache directory for compiled kernels and shim builds, outside the repo."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CACHE_ENV = "EINSUM_CASCADE_KERNEL_CACHE"


def cache_root() -> Path:
    """Return the cache directory: ``$EINSUM_CASCADE_KERNEL_CACHE`` or the user cache.

    The default is ``$XDG_CACHE_HOME/einsum-cascade/kernels`` (``~/.cache/...`` when
    ``XDG_CACHE_HOME`` is unset).
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "einsum-cascade" / "kernels"


def content_key(*parts: str | bytes) -> str:
    """Return the sha256 hex digest of ``parts``, each length-prefixed so joins cannot collide."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def entry_dir(kind: str, key: str) -> Path:
    """Return (and create) the cache folder of one entry, e.g. ``cubin/ab/abcdef...``."""
    path = cache_root() / kind / key[:2] / key
    path.mkdir(parents=True, exist_ok=True)
    return path
