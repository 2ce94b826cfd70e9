"""Outbox bodies are the exact bytes a receiver gets, stored compressed from 1 MiB
(tracker.store.dbtypes.pack_body): a group notification carrying every alert of a large
catalog runs to hundreds of MB, and writing it whole holds SQLite's write lock."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from werkzeug import Response

from tests.alerting_helpers import make_runtime
from tracker.catalog.receivers import DEFAULT_RECEIVER
from tracker.delivery import deliver_pass, outbox
from tracker.store import db
from tracker.store.alert_tables import OutboxRow
from tracker.store.dbtypes import PACK_FROM, pack_body, unpack_body

T0 = datetime(2026, 7, 5, tzinfo=timezone.utc)
LARGE = json.dumps({"alerts": [{"fingerprint": f"{n:016x}", "summary": "EV deliveries: off track"}
                               for n in range(40_000)]}).encode()

# (a body, whether it is stored compressed)
BODIES = [
    (b'{"type": "alert.firing"}', False),
    (b"", False),
    (b"\x00zlib? no: a body that starts as a packed one does", False),
    (b"\x00r and one that starts as an escaped one", False),
    (b"x" * (PACK_FROM - 1), False),
    (b"x" * PACK_FROM, True),
    (LARGE, True),
]


@pytest.mark.parametrize(("body", "packed"), BODIES, ids=[f"{len(b)} bytes {b[:6]!r}" for b, _ in BODIES])
def test_a_body_comes_back_exactly_from_its_stored_form(body: bytes, packed: bool) -> None:
    stored = pack_body(body)
    assert unpack_body(stored) == body
    assert (len(stored) < len(body) / 4) is packed


def test_a_large_body_is_stored_compressed_and_read_back_exactly(engine) -> None:
    assert len(LARGE) > PACK_FROM
    with db.session(engine, write=True) as session:
        for body in (LARGE, b'{"small": true}'):
            outbox.enqueue(session, receiver="r", fingerprint="f", subject="goal:g", event="alert.firing",
                           reason="first notification", body=body, now=T0)
    with db.session(engine) as session:
        assert [row.body for row in session.execute(select(OutboxRow).order_by(OutboxRow.id)).scalars()] == [
            LARGE, b'{"small": true}']
    with engine.connect() as connection:
        sizes = [n for (n,) in connection.execute(text("SELECT length(body) FROM outbox ORDER BY id"))]
    assert sizes[0] < len(LARGE) / 4 and sizes[1] == len(b'{"small": true}')


def test_a_receiver_gets_the_exact_bytes_of_a_large_body(engine, httpserver) -> None:
    got: list[bytes] = []
    httpserver.expect_request("/hook", method="POST").respond_with_handler(
        lambda request: got.append(request.get_data()) or Response("", status=204))
    runtime = make_runtime(engine, webhook_url=httpserver.url_for("/hook"))
    with db.session(engine, write=True) as session:
        outbox.enqueue(session, receiver=DEFAULT_RECEIVER, fingerprint="f", subject="goal:g", event="alert.firing",
                       reason="first notification", body=LARGE, now=T0)
    deliver_pass(runtime, now=T0, rng=lambda: 0.5)
    assert got == [LARGE]
