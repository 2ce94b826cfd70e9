"""The report in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
driven by Selenium loads the page over loopback, and every goal must render with no console
error, on a desktop and on a phone's width. Skipped, with the reason, where no Chromium is
installed; `.ci/run` installs it and sets TRACKER_TEST_REQUIRE_BROWSER, which turns the skip
into a failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.reportkit import AS_OF, SAMPLE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]

HAVE_CHROMIUM = os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)
REQUIRED = bool(os.environ.get("TRACKER_TEST_REQUIRE_BROWSER"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not HAVE_CHROMIUM and not REQUIRED,
                       reason="no Chromium: apt-get install chromium chromium-driver (as .ci/run does)"),
]


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    assert HAVE_CHROMIUM, f"TRACKER_TEST_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, list[str]]]:
    """The daemon's HTTP server and routes (tracker.service.web) on a loopback port, over a database
    holding the sample actuals, with the clock fixed so that the screenshot is repeatable."""
    from tests.conftest import CATALOG, NOW
    from tracker.catalog.settings import Settings
    from tracker.service import web
    from tracker.service.pages import Pages
    from tracker.store import actuals as store
    from tracker.store import db
    from tracker.store.importer import read_csv
    from tracker.store.runtime import Runtime

    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'tracker.db'}"
    runtime = Runtime(Settings(database_url=url, config=CATALOG), clock=lambda: AS_OF)
    with db.session(runtime.engine, write=True) as session:
        store.import_rows(session, catalog=runtime.catalog, rows=read_csv(SAMPLE), now=NOW)
    pages = Pages(runtime, judge_on_demand=True, goal_wait=120).start()
    server = web.Server(web.App(SimpleNamespace(runtime=runtime, pages=pages)), "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{server.port}", [goal.id for goal in runtime.catalog.goals]
    finally:
        server.stop()
        pages.stop()
        runtime.engine.dispose()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> tuple[str, list[str]]:
    """`tracker report`'s page as a file, opened from disk as a user opens it."""
    from tests.conftest import CATALOG, NOW
    from tracker.catalog.model import load_catalog
    from tracker.store import actuals as store
    from tracker.store import db
    from tracker.store.importer import read_csv
    from tracker.views.report import render_from_db

    folder = tmp_path_factory.mktemp("report")
    catalog = load_catalog(CATALOG)
    engine = db.make_engine(f"sqlite:///{folder / 'tracker.db'}")
    db.ensure_schema(engine)
    with db.session(engine, write=True) as session:
        store.import_rows(session, catalog=catalog, rows=read_csv(SAMPLE), now=NOW)
    with db.session(engine) as session:
        (folder / "report.html").write_text(render_from_db(session, catalog=catalog, now=AS_OF), encoding="utf-8")
    engine.dispose()
    return (folder / "report.html").as_uri(), [goal.id for goal in catalog.goals]


def load(driver, url: str, width: int, height: int = 1000):  # type: ignore[no-untyped-def]
    driver.set_window_size(width, height)
    driver.get(url)
    return driver.find_elements("css selector", "article.card"), driver.find_elements("css selector", "tr[data-goal]")


def check(driver, cards, rows, goal_ids) -> None:  # type: ignore[no-untyped-def]
    """Every goal listed with a status in words; every card (the goals that need attention) with its chart."""
    assert sorted(row.get_attribute("data-goal") for row in rows) == sorted(goal_ids)
    for row in rows:
        status = row.find_element("css selector", ".status").text
        assert status.split(maxsplit=1)[-1] in WORDS, status
    assert cards, "the sample has goals that need attention: they get charts"
    for card in cards:
        chart = card.find_element("css selector", "figure svg")
        size = chart.size
        assert size["width"] > 300 and size["height"] > 100, (card.get_attribute("data-goal"), size)
        status = card.find_element("css selector", "header .status").text
        assert status.split(maxsplit=1)[-1] in WORDS
    problems = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert problems == []


WORDS = {"Missed", "Off track", "At risk", "No data", "On track", "Achieved"}


@pytest.mark.parametrize("which", ["daemon", "file"])
def test_every_goal_renders_without_console_errors(browser, site, report_file, which, tmp_path: Path):
    url, goal_ids = site if which == "daemon" else report_file
    browser.get_log("browser")  # start from an empty console
    cards, rows = load(browser, url + "/" if which == "daemon" else url, 1000)
    check(browser, cards, rows, goal_ids)
    name = "report.png" if which == "daemon" else "report-file.png"
    shot = Path(os.environ.get("TRACKER_REPORT_SCREENSHOT") or tmp_path / "report.png") if which == "daemon" \
        else tmp_path / name
    full_page_screenshot(browser, shot, 1000)
    assert shot.stat().st_size > 10_000


def test_a_goal_is_drawn_on_demand_from_its_row(browser, site):
    url, _ = site
    browser.get_log("browser")
    load(browser, url + "/", 1000)
    link = browser.find_element("css selector", 'tr[data-goal="home-stores-2026"] a')
    link.click()
    assert browser.current_url == url + "/goals/home-stores-2026"
    (card,) = browser.find_elements("css selector", "article.card")
    assert card.find_element("css selector", "figure svg").size["width"] > 300
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []


def test_on_a_phone_nothing_spills_sideways(browser, site, tmp_path: Path):
    url, goal_ids = site
    cards, rows = load(browser, url + "/", 390, 844)
    assert len(rows) == len(goal_ids)
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    for card in cards:  # one column: each card, and its chart, spans the screen
        assert card.size["width"] <= 390 and card.find_element("css selector", "figure svg").size["width"] > 300
    for row in rows:
        assert row.size["width"] <= 390
    full_page_screenshot(browser, tmp_path / "report-phone.png", 390)


def full_page_screenshot(driver, path: Path, width: int) -> None:  # type: ignore[no-untyped-def]
    """The window grown to the page's height, then captured: the whole report in one image."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, height)
    driver.save_screenshot(str(path))
