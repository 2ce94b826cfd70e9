"""URLs as they may be shown: never with a password, a path or a query, where tokens live.

Masking works on what a URL means, not on how it was written: `variants` gives the forms a
URL's secrets can take once a library has normalised it (host case, default port,
percent-encoding), and `QUERY`/`USERINFO` find a query string or credentials in any URL in
any text, known or not.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

# scheme://user:password@ (up to the last @ before the host's end), and ?query in any URL in text
USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s/?#@\"']*(?:@[^\s/?#@\"']*)*)@")
QUERY = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s?#\"'<>]*)\?[^\s#\"'<>]*")
_MASK = "[REDACTED]"


def redact_url(url: str | None) -> str | None:
    """Scheme and host only: webhook paths and queries often carry tokens (Slack's do)."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = f":{parts.port}" if parts.port and parts.port != _DEFAULT_PORTS.get(parts.scheme.lower()) else ""
    except ValueError:  # a malformed port, say: show nothing of it
        return "(a malformed URL)"
    tail = "/..." if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme.lower()}://{host}{port}{tail}"


_DEFAULT_PORTS = {"http": 80, "https": 443}


def mask_password(url: str) -> str:
    """The URL with the password of its userinfo masked, even when the URL is malformed."""
    def keep_user(found: re.Match[str]) -> str:
        user = found.group(2).split(":", 1)[0] if ":" in found.group(2) else found.group(2)
        return f"{found.group(1)}{user}:***@" if ":" in found.group(2) else found.group(0)

    return USERINFO.sub(keep_user, url)


def mask_in_text(text: str) -> str:
    """Any URL's credentials and query string in `text`, masked."""
    if "://" not in text:
        return text
    text = USERINFO.sub(lambda found: f"{found.group(1)}{_MASK}@", text)
    return QUERY.sub(lambda found: f"{found.group(1)}?{_MASK}", text)


def variants(url: str) -> set[str]:
    """The parts of `url` that can carry a secret, in the forms libraries write them: the
    path (as written, decoded and re-encoded), the query and each of its values, and the
    password. Whatever the host's case or port, a log line holding one of these is masked."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return {url}
    found = {url}
    path = parts.path
    if path.strip("/"):
        found |= {path, unquote(path), quote(unquote(path), safe="/:@!$&'()*+,;=-._~")}
    if parts.query:
        found |= {parts.query, unquote(parts.query)}
        found |= {value for _, value in parse_qsl(parts.query, keep_blank_values=False)}
    if password:
        found |= {password, unquote(password)}
    return {part for part in found if len(part) >= 4}


def with_password(url: str, password: str) -> str:
    """`url` with `password` in its userinfo, percent-encoded (so `@`, `/`, `:`, `%` or `#` in
    it cannot break the URL). Raises ValueError when the URL has a password already or no
    host part to put one in."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("the database URL has no scheme://")
    authority_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:authority_end], rest[authority_end:]
    userinfo, at, host = authority.rpartition("@")
    if not at:
        userinfo, host = "", authority
    if ":" in userinfo:
        raise ValueError("the database URL has a password already: give it in one place")
    if not host:
        raise ValueError("the database URL names no host to give a password for")
    return f"{scheme}://{userinfo}:{quote(password, safe='')}@{host}{tail}"
