"""Property: whatever a user types after `tracker record`, the answer is a clean success or
a one-line error with exit status 2, never a traceback."""

import contextlib
import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CATALOG
from tracker.cli.app import main

METRICS = ["ev_deliveries", "home_stores", "rnd_spend", "third_ev_model_delivered", "phone_gross_profit"]
PERIODS = ["2026", "2026-H1", "2026-Q3", "2026-03", "2026-03-15", "2026-13", "2026-Q5", "2026-02-30"]

metric = st.one_of(st.sampled_from(METRICS), st.text(max_size=12))
period = st.one_of(st.sampled_from(PERIODS), st.text(max_size=12))
value = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.integers(min_value=-10**20, max_value=10**20).map(str),
    st.text(max_size=12),
)
flags = st.lists(st.sampled_from(["--force", "--source", "x", "--note", "n", "--bogus"]), max_size=3)


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('props') / 'tracker.db'}"
    saved = dict(os.environ)
    os.environ.update({"TRACKER_DATABASE_URL": url, "TRACKER_CONFIG": str(CATALOG)})
    yield
    os.environ.clear()
    os.environ.update(saved)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(metric=metric, period=period, value=value, flags=flags)
def test_record_never_shows_a_traceback(environment, metric, period, value, flags):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        with pytest.raises(SystemExit) as exited:
            main(["record", metric, period, value, *flags])
    code = exited.value.code
    assert code in (0, 2), (code, err.getvalue())
    assert "Traceback" not in err.getvalue()
    if code == 2:
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tracker: error: ")
    else:
        assert out.getvalue().startswith("recorded ")
