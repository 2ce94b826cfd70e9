"""Which alerts are muted now, and why: silenced (matchers until a time) or inhibited (a
firing cause mutes its consequences). One predicate for the dispatcher and for
`tracker alerts`; the rules are the pure ones of tracker.core.inhibition."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from tracker.core.inhibition import Firing, InhibitRule, SilenceRule, inhibited, silenced_by
from tracker.core.lifecycle import FIRING
from tracker.delivery.formats import utc_text
from tracker.store.alert_tables import AlertRow

SILENCED, INHIBITED = "silenced", "inhibited"


def mute_reasons(
    rows: Iterable[AlertRow], *, silences: Sequence[SilenceRule], inhibit_rules: Sequence[InhibitRule], now: datetime
) -> dict[str, str]:
    """Muted alerts by fingerprint, each with its reason: `silenced by <id> until <time>`
    (any state, so a resolve waits for the silence too) or `inhibited by <rule> <subject>`
    (firing alerts only, while the cause fires)."""
    rows = list(rows)
    return with_silences(inhibition(rows, inhibit_rules), rows, silences=silences, now=now)


def inhibition(rows: Sequence[AlertRow], inhibit_rules: Sequence[InhibitRule]) -> dict[str, str]:
    """The firing alerts another firing alert inhibits, with the reason."""
    firing = [Firing(r.fingerprint, r.labels, f"{r.rule} {r.subject}") for r in rows if r.state == FIRING]
    return inhibited(firing, inhibit_rules)


def with_silences(inhibited_by: dict[str, str], rows: Sequence[AlertRow], *, silences: Sequence[SilenceRule],
                  now: datetime) -> dict[str, str]:
    """The inhibitions, and the silences over them (a silence's reason wins)."""
    reasons = dict(inhibited_by)
    if not silences:
        return reasons
    for row in rows:
        silence = silenced_by(silences, row.labels, now)
        if silence is not None:
            reasons[row.fingerprint] = f"silenced by {silence.id} until {utc_text(silence.ends_at)}"
    return reasons


def kind(reason: str) -> str:
    return SILENCED if reason.startswith("silenced") else INHIBITED
