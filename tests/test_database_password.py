"""The database password given apart from the URL (TRACKER_DATABASE_PASSWORD or
TRACKER_DATABASE_PASSWORD_FILE, as deploy/compose.yaml does): any character works, because it
is percent-encoded into the URL, and it is masked like any other secret."""

from __future__ import annotations

import pytest

PASSWORDS = ["p@ss/word", "a:b", "100%", "x#y?z", "sp ace", "ünï", "@@//::"]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("url", [
    "postgresql+psycopg://tracker@db:5432/tracker",
    "postgresql+psycopg://tracker@db/tracker?sslmode=require",
    "postgresql+psycopg://db:5432/tracker",
])
def test_any_password_survives_the_url(url, password):
    from sqlalchemy.engine import make_url

    from tracker.core.urls import with_password

    built = make_url(with_password(url, password))
    plain = make_url(url)
    assert built.password == password
    assert (built.username or None, built.host, built.port, built.database, dict(built.query)) == (
        plain.username, plain.host, plain.port, plain.database, dict(plain.query))


@pytest.mark.parametrize(("url", "reason"), [
    ("postgresql+psycopg://tracker:old@db/tracker", "has a password already"),
    ("sqlite:///tmp/t.db", "names no host"),
    ("db/tracker", "no scheme"),
])
def test_a_url_that_cannot_take_the_password_is_refused(url, reason):
    from tracker.core.urls import with_password

    with pytest.raises(ValueError, match=reason):
        with_password(url, "secret")


@pytest.fixture
def env(monkeypatch):
    for name in ("TRACKER_DATABASE_PASSWORD", "TRACKER_DATABASE_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRACKER_DATABASE_URL", "postgresql+psycopg://tracker@db:5432/tracker")
    return monkeypatch


def test_the_password_setting_and_its_file(env, tmp_path):
    from sqlalchemy.engine import make_url

    from tracker.catalog.settings import load_settings
    from tracker.service.logs import known_secrets

    env.setenv("TRACKER_DATABASE_PASSWORD", "p@ss/word")
    settings = load_settings()
    assert make_url(settings.database_url).password == "p@ss/word"
    assert "p@ss/word" in known_secrets(settings, {})  # masked in every log line

    env.delenv("TRACKER_DATABASE_PASSWORD")
    secret = tmp_path / "db_password"
    secret.write_text("p@ss/word\n")  # the newline an editor or `echo` leaves is not part of it
    env.setenv("TRACKER_DATABASE_PASSWORD_FILE", str(secret))
    assert make_url(load_settings().database_url).password == "p@ss/word"


@pytest.mark.parametrize(("extra", "message"), [
    ({"TRACKER_DATABASE_PASSWORD": "x", "TRACKER_DATABASE_PASSWORD_FILE": "/dev/null"},
     "setting TRACKER_DATABASE_PASSWORD: give TRACKER_DATABASE_PASSWORD or TRACKER_DATABASE_PASSWORD_FILE, not both"),
    ({"TRACKER_DATABASE_PASSWORD_FILE": "/nonexistent/db_password"},
     "setting TRACKER_DATABASE_PASSWORD_FILE: cannot read /nonexistent/db_password (No such file or directory)"),
    ({"TRACKER_DATABASE_PASSWORD": "x", "TRACKER_DATABASE_URL": "postgresql+psycopg://u:y@db/t"},
     "setting TRACKER_DATABASE_PASSWORD: the database URL has a password already: give it in one place"),
])
def test_conflicting_or_unreadable_passwords_are_one_line(env, extra, message):
    from tracker.catalog.settings import load_settings
    from tracker.core.errors import ConfigError

    for name, value in extra.items():
        env.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value) == message


def test_the_compose_file_passes_the_password_apart_from_the_url(env):
    """deploy/compose.yaml as compose would interpolate it with POSTGRES_PASSWORD='p@ss/word'."""
    import re

    from sqlalchemy.engine import make_url

    from tests.conftest import ROOT
    from tracker.catalog.settings import load_settings

    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    setting = dict(re.findall(r"^\s+(TRACKER_DATABASE_\w+): (.+)$", compose, re.MULTILINE))
    assert set(setting) == {"TRACKER_DATABASE_URL", "TRACKER_DATABASE_PASSWORD"}
    assert "${" not in setting["TRACKER_DATABASE_URL"]  # nothing spliced into the URL
    assert setting["TRACKER_DATABASE_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?" in compose  # the server gets the same one
    env.setenv("TRACKER_DATABASE_URL", setting["TRACKER_DATABASE_URL"])
    env.setenv("TRACKER_DATABASE_PASSWORD", "p@ss/word")
    url = make_url(load_settings().database_url)
    assert (url.username, url.password, url.host, url.port, url.database) == ("tracker", "p@ss/word", "db", 5432,
                                                                              "tracker")
