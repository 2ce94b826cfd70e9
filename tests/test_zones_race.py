"""Replicas starting together on one PostgreSQL database each make sure the stored period
bounds follow the catalog's zone: exactly one re-derives them, none fails."""

from __future__ import annotations

import threading
from zoneinfo import ZoneInfo

import pytest


@pytest.mark.postgres
def test_replicas_starting_together_follow_the_zone_once(postgres_url: str) -> None:
    from tracker.store.db import ensure_schema, make_engine
    from tracker.store.zones import follow_zone, stored_zone

    engine = make_engine(postgres_url)
    ensure_schema(engine)
    zone = ZoneInfo("Asia/Shanghai")
    for _ in range(10):  # each round from no remembered zone, the key's row missing
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM store_meta")
        start, results, errors = threading.Barrier(2), [], []

        def start_replica() -> None:
            start.wait()
            try:
                results.append(follow_zone(engine, zone))
            except Exception as error:  # noqa: BLE001  the failure under test
                errors.append(error)

        threads = [threading.Thread(target=start_replica) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and sorted(results) == [0, 0] and stored_zone(engine) == "Asia/Shanghai"
    engine.dispose()
