"""`template`: a webhook whose body and header values are Jinja2 templates from the
catalog, rendered in a sandboxed environment over the notification's data (the native
body's `data`, plus `type`, `status`, `receiver`, `external_url`). Undefined names are
errors. What goes into the outbox is `{"headers": {...}, "body": "..."}`; header values may
still hold `${ENV}` references, which the channel resolves when it sends.

A template that fails to render (a sandbox violation, an undefined name) gives
`{"error": "..."}`: the channel refuses to send it and the notification goes dead, visible
in `tracker alerts`, rather than sending a half-made body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from tracker.delivery.formats import native
from tracker.delivery.formats.notice import Notice, dump


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def context(notice: Notice) -> dict[str, Any]:
    body = json.loads(native.render(notice))
    return {**body["data"], "type": notice.event, "status": notice.status, "receiver": notice.receiver,
            "timestamp": body["timestamp"], "external_url": notice.external_url}


def render(notice: Notice, body: str, headers: Mapping[str, str]) -> bytes:
    env, data = environment(), context(notice)
    try:
        made = {name: " ".join(env.from_string(text).render(data).split()) for name, text in headers.items()}
        return dump({"headers": made, "body": env.from_string(body).render(data)})
    except TemplateError as error:
        return dump({"error": f"{type(error).__name__}: {error}"[:300]})
    except Exception as error:  # noqa: BLE001 (a template raises whatever its expressions do)
        return dump({"error": f"{type(error).__name__} while rendering"})
