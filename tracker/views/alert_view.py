"""Alerts, receiver health and silences as `tracker alerts` and `tracker silences` list them
(the terminal layout is the command line's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from tracker.alerting.cycle import open_alerts
from tracker.alerting.muting import mute_reasons
from tracker.catalog.model import Catalog
from tracker.delivery import outbox
from tracker.delivery.worker import FAILING_AFTER
from tracker.store import silences
from tracker.store.alert_tables import AlertRow, ReceiverState


def alert_items(db: Session, *, now: datetime, catalog: Catalog) -> list[dict[str, Any]]:
    """Pending and firing alerts; `muted` says why one is not sent (silenced or inhibited)."""
    every = list(db.execute(select(AlertRow)).scalars())
    muted = mute_reasons(every, silences=silences.rules(db, now=now),
                         inhibit_rules=catalog.effective_inhibit_rules(), now=now)
    until = {r.id: r.ends_at for r in silences.rules(db, now=now)}
    return [
        {
            "fingerprint": row.fingerprint,
            "subject": row.subject,
            "rule": row.rule,
            "severity": row.severity,
            "state": row.state,
            "since": row.starts_at if row.state == "firing" else row.active_since,
            "summary": row.summary,
            "labels": row.labels,
            "last_notified_at": row.last_notified_at,
            "last_notify_reason": row.last_notify_reason,
            "muted": muted.get(row.fingerprint),
            "silenced_until": _silenced_until(muted.get(row.fingerprint), until),
        }
        for row in open_alerts(db)
    ]


def _silenced_until(reason: str | None, until: dict[str, datetime]) -> datetime | None:
    if not reason or not reason.startswith("silenced by "):
        return None
    return until.get(reason.removeprefix("silenced by ").split(" ", 1)[0])


def silence_items(db: Session, *, now: datetime) -> list[dict[str, Any]]:
    """Every silence, active ones first, with who, why and until when."""
    items = [
        {
            "id": s.id,
            "state": "active" if s.starts_at <= now < s.ends_at else ("pending" if now < s.starts_at else "expired"),
            "matchers": list(s.matchers),
            "starts_at": s.starts_at,
            "ends_at": s.ends_at,
            "created_by": s.created_by,
            "comment": s.comment,
        }
        for s in silences.listing(db)
    ]
    return sorted(items, key=lambda item: item["state"] != "active")


def receiver_items(db: Session) -> list[dict[str, Any]]:
    """Receivers with queued, dead or failing deliveries (healthy idle ones are left out)."""
    counts = outbox.counts_by_receiver(db)
    states = {s.name: s for s in db.execute(select(ReceiverState)).scalars()}
    items = []
    for name in sorted(counts.keys() | states.keys()):
        state, by_state = states.get(name), counts.get(name, {})
        failures = state.consecutive_failures if state else 0
        item = {
            "receiver": name,
            "queued": by_state.get(outbox.QUEUED, 0),
            "dead": by_state.get(outbox.DEAD, 0),
            "sent": by_state.get(outbox.SENT, 0),
            "failures_in_a_row": failures,
            "failing": failures >= FAILING_AFTER or bool(state and state.disabled_at),
            "last_error": state.last_error if state and failures else None,
            "disabled": state.disabled_reason if state and state.disabled_at else None,
        }
        if item["failing"] or item["queued"] or item["dead"]:
            items.append(item)
    return items
