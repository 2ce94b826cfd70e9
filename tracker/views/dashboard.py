"""The daemon's JSON pages, `/api/status` and `/api/goals/{id}` (`/` and `/goals/{id}` are
served from the last cycle's verdicts by tracker.service.pages).

Each handler is a plain function of the runtime (settings, catalog, engine, clock) that
returns `(status, content_type, body)`; tracker.service.web.ROUTES routes the daemon's requests here:

    GET /api/status           -> api_status(runtime)
    GET /api/goals/{goal_id}  -> api_goal(runtime, goal_id)

Every call reads the database afresh and judges as of the runtime's clock: always current.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tracker.core.jsonable import jsonable
from tracker.store import actuals as store
from tracker.store import db
from tracker.store.judging import evaluate_from_db

if TYPE_CHECKING:
    from tracker.store.runtime import Runtime

Response = tuple[int, str, bytes]
JSON = "application/json"


def api_status(runtime: Runtime) -> Response:
    """The JSON of `tracker status --json`."""
    with db.session(runtime.engine) as session:
        evaluations = evaluate_from_db(session, catalog=runtime.catalog, now=runtime.now())
    return _json(200, [e.to_json() for e in evaluations])


def api_goal(runtime: Runtime, goal_id: str) -> Response:
    """One goal's status object, plus its target revisions and the current actuals of its
    metrics (those an evaluation now may see); 404 with a JSON error for an id the catalog does not have."""
    catalog = runtime.catalog
    try:
        goal = catalog.goal(goal_id)
    except KeyError:
        return _json(404, {"error": f"no goal {goal_id!r}", "goals": [g.id for g in catalog.goals]})
    now = runtime.now()
    alone = catalog.model_copy(update={"goals": (goal,)})  # judge this goal, not all of them
    with db.session(runtime.engine) as session:
        (evaluation,) = evaluate_from_db(session, catalog=alone, now=now)
        readings = store.readings_until(session, metrics=goal.metrics, until=now)
    body = evaluation.to_json()
    body["targets"] = [t.model_dump() for t in goal.targets]  # revisions, numbers as JSON numbers
    body["actuals"] = {
        metric: [{"period": r.period.label, "value": r.value, "recorded_at": r.recorded_at} for r in rows]
        for metric, rows in readings.items()
    }
    return _json(200, body)


def _json(status: int, body: Any) -> Response:
    return status, JSON, json.dumps(jsonable(body), ensure_ascii=False).encode("utf-8")
