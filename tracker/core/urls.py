"""URLs as they may be shown: never with the path or query, where tokens live."""

from __future__ import annotations

from urllib.parse import urlsplit


def redact_url(url: str | None) -> str | None:
    """Scheme and host only: webhook paths and queries often carry tokens (Slack's do)."""
    if not url:
        return url

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/..." if parts.path.strip("/") or parts.query else f"{parts.scheme}://{host}{port}"
