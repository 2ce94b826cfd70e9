"""Verdicts kept across processes: each goal's last verdict with a digest of everything it
was judged from, so that a daemon's first cycle after a restart, and `tracker status` or
`tracker report` beside a running daemon, judge again only the goals whose inputs changed.

The digest covers what tracker.store.judging's in-memory key covers (the goal's metrics'
stored rows as fingerprinted in SQL, the local day, the last period due of each metric) and
what a process may change between runs: the goal's and its metrics' definitions, its bands,
the catalog's time zone, and the judging code itself (a digest of its source files, so an
upgrade, or an edit in a working copy, never serves a verdict the new code would not give).
A stored verdict is used only when the digest is equal; anything else is judged afresh.

Each row also holds the verdict's object in `tracker status --json` as text, all but its
`evaluated_at` (the one part that changes with `now`, and the object's last key): the
command beside a daemon prints it as it is, with that instant appended (`dated`), instead
of decoding the verdict and encoding it again.

The table is a cache: losing it costs one cold cycle. It is written after a cycle's alert
transaction, a few hundred rows per short transaction, so writers never wait long for it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from tracker.core.verdict import FIELDS, Evaluation, Status, made_of, values_of
from tracker.store import db

if TYPE_CHECKING:
    from sqlmodel import Session

_CHUNK = 500  # goals per IN list, and rows per write transaction


def _typed(kind: str) -> frozenset[str]:
    """Evaluation's fields of a type ("Decimal | None" is a Decimal's)."""
    return frozenset(f.name for f in fields(Evaluation) if str(f.type).split(" |")[0].split("[")[0] == kind)


_DECIMALS, _DATES, _INSTANTS, _TUPLES = _typed("Decimal"), _typed("date"), _typed("datetime"), _typed("tuple")
_FIELDS = frozenset(FIELDS)
_CONVERTERS = (("status", Status), *((name, Decimal) for name in sorted(_DECIMALS)),
               *((name, datetime.fromisoformat) for name in sorted(_INSTANTS)),
               *((name, date.fromisoformat) for name in sorted(_DATES)), *((name, tuple) for name in sorted(_TUPLES)))
# The code a verdict comes from: the pure judgement and the queries that feed it.
_CODE = ("core", "store/judging.py", "store/actuals.py", "store/dbtypes.py")


def encode(evaluation: Evaluation) -> str:
    """The verdict as JSON text, lossless: decimals and instants as strings."""
    out: dict[str, Any] = {}
    for name, value in zip(FIELDS, values_of(evaluation)):
        if value is not None and (name in _DECIMALS or name in _DATES or name in _INSTANTS):
            value = str(value) if name in _DECIMALS else value.isoformat()
        out[name] = value
    return json.dumps(out, separators=(",", ":"))


_VIEW = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
_STAMP = ', "evaluated_at": '


def view_text(evaluation: Evaluation) -> str:
    """The verdict's object in `tracker status --json`: its json_view with the C encoder."""
    return _VIEW(evaluation.json_view())


def undated(evaluation: Evaluation) -> str | None:
    """view_text without its `evaluated_at`, the object's last key (Evaluation.json_view);
    None, and no view stored, should that key ever not be the last."""
    text = view_text(evaluation)
    tail = dated("", json.dumps(evaluation.evaluated_at.isoformat()))
    return text[: -len(tail)] if text.endswith(tail) else None


def dated(view: str, stamp: str) -> str:
    """undated's text with `stamp` (an instant's isoformat, as JSON) as its `evaluated_at`."""
    return f"{view}{_STAMP}{stamp}}}"


def decode(text: str) -> Evaluation:
    """encode's verdict. Built as judging's copies are (verdict.at_instant), without the
    dataclass's __init__: the row holds every field, since the code's digest keys it (a
    row of other fields is refused, as __init__ would refuse it); half of decoding's 25 us."""
    values = json.loads(text)
    if values.keys() != _FIELDS:
        raise TypeError("not a verdict of this code")
    for name, convert in _CONVERTERS:
        value = values[name]
        if value is not None:
            values[name] = convert(value)
    return made_of(tuple(values[name] for name in FIELDS))


@cache
def code_digest() -> str:
    """Of the judging code's source files (read once per process)."""
    root, digest = Path(__file__).resolve().parent.parent, hashlib.blake2b(digest_size=16)
    for part in _CODE:
        for path in sorted((root / part).glob("*.py")) if (root / part).is_dir() else [root / part]:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def inputs_digest(definition: bytes, key: tuple) -> str:
    """`definition`: the catalog's digest of the goal (tracker.catalog.model.Catalog.definition);
    `key`: judging's in-memory key (dates, instants and tuples of integers: a stable repr)."""
    digest = hashlib.blake2b(definition, digest_size=16)
    digest.update(code_digest().encode() + repr(key).encode())
    return digest.hexdigest()


def load(session: Session, wanted: Mapping[str, str]) -> dict[str, Evaluation]:
    """The stored verdicts of the goals in `wanted` (goal id -> inputs digest) whose digest
    is still the same."""
    return {goal: evaluation for goal, text in _current(session, wanted, "evaluation")
            if (evaluation := _decoded(text)) is not None}


def load_views(session: Session, wanted: Mapping[str, str]) -> dict[str, str]:
    """As load, the verdicts' undated views (a row without one is a miss)."""
    return {goal: view for goal, view in _current(session, wanted, "view") if view is not None}


def _current(session: Session, wanted: Mapping[str, str], column: str) -> list[tuple[str, str | None]]:
    """(goal, `column`) of the rows of the goals in `wanted` whose digest is still the same."""
    found = []
    ids = sorted(wanted)
    cursor = session.connection().connection.driver_connection.cursor()
    mark = "%s" if session.get_bind().dialect.name == "postgresql" else "?"
    try:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            cursor.execute(f"SELECT goal, inputs, {column} FROM verdicts WHERE goal IN ({', '.join([mark] * len(chunk))})",
                           chunk)
            found += [(goal, value) for goal, inputs, value in cursor.fetchall() if wanted[goal] == inputs]
    finally:
        cursor.close()
    return found


def _decoded(text: str) -> Evaluation | None:
    """A row this code cannot read (edited by hand, torn) is a miss: the goal is judged afresh."""
    try:
        return decode(text)
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError):  # decimal's InvalidOperation
        return None


def save(engine: Engine, judged: Sequence[tuple[str, str, Evaluation]], *, keep: Sequence[str] | None = None) -> int:
    """Stores (goal id, inputs digest, verdict) rows, replacing a goal's earlier one, in
    short transactions; with `keep` (the catalog's goal ids), drops the rows of other goals.
    Returns how many rows were written."""
    mark = "%s" if engine.dialect.name == "postgresql" else "?"
    upsert = (f"INSERT INTO verdicts (goal, inputs, evaluation, view) VALUES ({mark}, {mark}, {mark}, {mark}) "
              "ON CONFLICT (goal) DO UPDATE SET inputs = excluded.inputs, evaluation = excluded.evaluation, "
              "view = excluded.view")
    for start in range(0, len(judged), _CHUNK):
        rows = [(goal, inputs, encode(evaluation), undated(evaluation))
                for goal, inputs, evaluation in judged[start : start + _CHUNK]]
        with db.paced(engine), db.session(engine, write=True) as session:  # encoded before the lock
            cursor = session.connection().connection.driver_connection.cursor()
            cursor.executemany(upsert, rows)
            cursor.close()
    if keep is not None:
        _drop_others(engine, set(keep), mark)
    return len(judged)


def save_prints(engine: Engine, text: str) -> None:
    """Stores the fingerprints the stored verdicts' digests were taken under, replacing
    the last (tracker.store.judging gives them their form)."""
    mark = "%s" if engine.dialect.name == "postgresql" else "?"
    with db.paced(engine), db.session(engine, write=True) as session:
        session.connection().exec_driver_sql(
            f"INSERT INTO verdict_prints (id, prints) VALUES (1, {mark}) "
            "ON CONFLICT (id) DO UPDATE SET prints = excluded.prints", (text,))


def held_prints(session: Session) -> str | None:
    """save_prints' text, or None."""
    return session.connection().exec_driver_sql("SELECT prints FROM verdict_prints WHERE id = 1").scalar()


def _drop_others(engine: Engine, keep: set[str], mark: str) -> None:
    """A goal removed from the catalog (or renamed) leaves its row behind: drop it."""
    with db.session(engine) as session:
        gone = [goal for (goal,) in session.connection().exec_driver_sql("SELECT goal FROM verdicts") if goal not in keep]
    for start in range(0, len(gone), _CHUNK):
        chunk = gone[start : start + _CHUNK]
        with db.paced(engine), db.session(engine, write=True) as session:
            session.connection().exec_driver_sql(
                f"DELETE FROM verdicts WHERE goal IN ({', '.join([mark] * len(chunk))})", tuple(chunk))
