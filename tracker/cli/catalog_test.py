"""`tracker test FILE...`: a catalog's unit tests, reported as `promtool test rules` does.

Every file is read and checked first: a malformed one is one line on stderr and exit 2,
with nothing run and nothing written. Then each runs in memory (tracker.service.catalog_tests)
and prints `SUCCESS` or each failed expectation with its file, line, time, the expected and
the actual value; exit 1 when any failed. `--junit FILE` also writes a JUnit XML report,
`--json` prints the results as JSON instead of text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from tracker.service.catalog_tests import FileResult


def test(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="test files (TOML)")],
    junit: Annotated[Path | None, typer.Option("--junit", metavar="FILE", help="also write a JUnit XML report")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """Run unit tests of a catalog (input actuals, expected statuses, alerts and notifications), in memory."""
    from tracker.catalog.locate import locate  # start-up speed
    from tracker.catalog.settings import load_settings  # start-up speed
    from tracker.catalog.testfile import load_test_file  # start-up speed
    from tracker.core.errors import BadInput  # start-up speed
    from tracker.service import logs  # start-up speed
    from tracker.service.catalog_tests import run_file  # start-up speed

    settings = load_settings()  # only TRACKER_CONFIG, the default catalog, is used
    if junit is not None and not junit.parent.is_dir():
        raise BadInput(f"--junit {junit}: folder {junit.parent} does not exist")
    logs.configure(settings.resolved_log_format, "warning")  # the cycles' info lines would drown the answer
    specs = [load_test_file(path, default_catalog=locate(settings).path) for path in files]
    results = [run_file(spec) for spec in specs]
    if as_json:
        from tracker.cli.output import print_json  # start-up speed

        print_json(report(results))
    else:
        for result in results:
            print_text(result)
    if junit is not None:
        from tracker.cli.junit import write_junit  # start-up speed

        write_junit(results, junit)
    raise typer.Exit(0 if all(r.passed for r in results) else 1)


def print_text(result: FileResult) -> None:
    from tracker.service.catalog_tests import failure_text  # start-up speed

    print(f"Unit Testing: {result.spec.path}")
    if result.passed:
        print("  SUCCESS")
        return
    print("  FAILED:")
    for case in result.cases:
        for failure in case.failures:
            print(f"    {failure_text(result, case, failure)}")


def report(results: list[FileResult]) -> dict[str, Any]:
    from tracker.service.catalog_tests import failure_text, when  # start-up speed

    return {
        "passed": all(r.passed for r in results),
        "files": [
            {
                "file": str(result.spec.path),
                "catalog": str(result.spec.catalog.path),
                "passed": result.passed,
                "seconds": round(result.seconds, 3),
                "tests": [
                    {
                        "name": case.case.name,
                        "line": case.case.line,
                        "at": when(result, case),
                        "passed": case.passed,
                        "failures": [
                            {
                                "file": str(result.spec.path),
                                "line": failure.line,
                                "at": failure.at.astimezone(result.spec.catalog.timezone).isoformat(),
                                "subject": failure.subject,
                                "expected": failure.expected,
                                "actual": failure.actual,
                                "message": failure_text(result, case, failure),
                            }
                            for failure in case.failures
                        ],
                    }
                    for case in result.cases
                ],
            }
            for result in results
        ],
    }
