"""The http_json kind: GET a URL and pick actuals out of the JSON with JMESPath.

Fetching and extracting are separate so that the network is done before the write
transaction begins (a slow server must not hold SQLite's write lock), and so that the
extraction, a pure function, is tested on plain documents.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import jmespath

from tracker.catalog.model import Catalog
from tracker.catalog.sources import ENV_REFERENCE, SourceConfig
from tracker.collectors.outcome import CollectionFailed
from tracker.core.periods import Period
from tracker.store.actuals import RowInput


def fetch(client: httpx.Client, source: SourceConfig, *, environ: Mapping[str, str] = os.environ) -> Any:
    """The parsed JSON body (decimals kept exact), or CollectionFailed saying what went wrong."""
    assert source.url is not None
    where = f"GET {_shown(source.url)}"
    headers = expand_headers(source.headers, environ)
    try:
        response = client.get(source.url, headers=headers, timeout=source.timeout_seconds)
    except httpx.TimeoutException:
        raise CollectionFailed(f"{where}: no answer within {source.timeout_seconds:g}s") from None
    except httpx.HTTPError as error:
        raise CollectionFailed(f"{where}: {type(error).__name__}: {error}") from None
    except (httpx.InvalidURL, UnicodeEncodeError, ValueError) as error:
        # e.g. a header whose ${VARIABLE} expanded to text HTTP cannot carry; the value is not shown
        raise CollectionFailed(f"{where}: the request cannot be made ({type(error).__name__})") from None
    if response.status_code != 200:
        raise CollectionFailed(f"{where}: HTTP {response.status_code} {response.reason_phrase}")
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise CollectionFailed(f"{where}: the response is not JSON ({_described(response)})") from None


def expand_headers(headers: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """Header values with ${NAME} replaced from the environment; the values are secrets:
    they go to the request only, never to a log, an error or the database."""

    def value(name: str, text: str) -> str:
        def one(match: Any) -> str:
            try:
                return environ[match.group(1)]
            except KeyError:
                raise CollectionFailed(f"header {name}: environment variable {match.group(1)} is not set") from None

        return ENV_REFERENCE.sub(one, text)

    return {name: value(name, text) for name, text in headers.items()}


def extract(source: SourceConfig, document: Any, *, now: datetime, catalog: Catalog) -> list[RowInput]:
    """The actuals the document carries, not yet validated (recording validates them)."""
    label = f"collector:{source.name}"
    if source.records_path is not None:
        return [_record(source, item, index, label) for index, item in enumerate(_records(source, document), 1)]
    assert source.metric is not None and source.value_path is not None
    value = _scalar(jmespath.search(source.value_path, document), f"value_path {source.value_path!r}")
    if source.period_path is not None:
        period = _scalar(jmespath.search(source.period_path, document), f"period_path {source.period_path!r}")
    else:
        period = _relative_period(source, catalog, now)
    return [RowInput(line=1, metric=source.metric, period=period, value=value, source=label)]


def _relative_period(source: SourceConfig, catalog: Catalog, now: datetime) -> str:
    metric = catalog.metrics.get(source.metric or "")
    if metric is None:
        raise CollectionFailed(f"metric {source.metric!r} is not in the catalog")
    current = Period.at(metric.granularity, now, catalog.timezone)
    return (current if source.period == "current" else current.previous()).label


def _records(source: SourceConfig, document: Any) -> list[Any]:
    found = jmespath.search(source.records_path or "", document)
    if not isinstance(found, list):
        raise CollectionFailed(f"records_path {source.records_path!r} found {_kind(found)}, not a list of records")
    return found


def _record(source: SourceConfig, item: Any, index: int, label: str) -> RowInput:
    where = f"records_path {source.records_path!r}, record {index}"
    if not isinstance(item, dict):
        raise CollectionFailed(f"{where}: {_kind(item)}, not an object with metric, period and value")
    metric = item.get("metric", source.metric)
    if not isinstance(metric, str):
        raise CollectionFailed(f"{where}: no metric (give one per record, or metric on the source)")
    return RowInput(
        line=index,
        metric=metric,
        period=_scalar(item.get("period"), f"{where}, period"),
        value=_scalar(item.get("value"), f"{where}, value"),
        source=label,
    )


def _scalar(found: Any, what: str) -> str:
    """A number or string from the JSON as text; validation then reads it as `record` would."""
    if isinstance(found, bool) or not isinstance(found, (str, int, Decimal)):
        raise CollectionFailed(f"{what} found {_kind(found)}, not a number or text")
    return str(found)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    names = {dict: "an object", list: "a list", bool: "true/false", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _shown(url: str) -> str:
    """The URL without credentials or query, either of which may carry a secret."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def _described(response: httpx.Response) -> str:
    """The status line and the body's type and size, never its text: a server can echo the
    request's Authorization header back, and this message is stored, alerted and shown."""
    kind = response.headers.get("content-type", "no content-type").split(";")[0].strip()[:60]
    return f"HTTP {response.status_code}, {kind}, {len(response.content)} bytes"
