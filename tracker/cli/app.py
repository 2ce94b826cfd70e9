"""The `tracker` command line.

Only typer is imported at start (so `tracker --help` is quick); each command imports what it
needs. Errors never show a traceback: bad input and bad usage print one line and exit 2,
anything else the tracker can explain exits 1.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tracker.cli import actuals as actuals_cmd
from tracker.cli import alerts as alerts_cmd
from tracker.cli import backtest as backtest_cmd
from tracker.cli import catalog_test as catalog_test_cmd
from tracker.cli import daemon as daemon_cmd
from tracker.cli import report as report_cmd
from tracker.cli import sources as sources_cmd
from tracker.cli import status as status_cmd

app = typer.Typer(
    name="tracker",
    help="kpi-tracker: record actuals against goals and warn when one drifts off track.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True, rich_markup_mode=None)


def _print_version(wanted: bool) -> None:
    if wanted:
        from tracker.cli.output import version  # start-up speed

        print(f"kpi-tracker {version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option(
        "--version", "-V", is_eager=True, callback=_print_version, help="print the version and exit")] = False,
) -> None:
    pass


app.add_typer(db_app, name="db")

app.command("record", cls=actuals_cmd.NumbersAsArguments)(actuals_cmd.record)
app.command("import")(actuals_cmd.import_)
app.command("actuals")(actuals_cmd.actuals)
app.command("goals")(actuals_cmd.goals)
app.command("check-config")(actuals_cmd.check_config)
app.command("info")(actuals_cmd.info)
app.command("report")(report_cmd.report)
app.command("run")(daemon_cmd.run)
app.command("evaluate")(alerts_cmd.evaluate)
app.command("deliver")(alerts_cmd.deliver)
app.command("alerts")(alerts_cmd.alerts)
app.command("silence")(alerts_cmd.silence)
app.command("silences")(alerts_cmd.silences)
app.command("unsilence")(alerts_cmd.unsilence)
app.command("status")(status_cmd.status)
app.command("backtest")(backtest_cmd.backtest)
app.command("test")(catalog_test_cmd.test)
app.command("sources")(sources_cmd.sources)
app.command("collect")(sources_cmd.collect)
db_app.command("upgrade")(actuals_cmd.db_upgrade)


# typer vendors its own click; its usage errors are reached through the one it exports.
_UsageError = typer.BadParameter.__base__


def main(argv: list[str] | None = None) -> None:
    """Runs the command line and exits with the contract's status: 0, 1 or 2."""
    from tracker.cli.output import error  # start-up speed
    from tracker.core.errors import TrackerError  # start-up speed

    command = typer.main.get_command(app)
    try:
        status = command.main(args=argv, prog_name="tracker", standalone_mode=False)
    except _UsageError as problem:
        if type(problem).__name__ == "NoArgsIsHelpError":
            problem.show()
            sys.exit(2)
        context = getattr(problem, "ctx", None)
        name = context.command_path if context else "tracker"
        error(f"{problem.format_message()} (see '{name} --help')")
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        error("aborted")
        sys.exit(130)
    except typer.TyperException as problem:
        error(problem.format_message())
        sys.exit(problem.exit_code)
    except TrackerError as problem:
        error(str(problem))
        sys.exit(problem.exit_code)
    except Exception as problem:
        if not type(problem).__module__.startswith("sqlalchemy."):
            raise
        # The database refused (full disk, lost server): one line, no traceback, exit 1.
        from tracker.store.db import db_reason  # start-up speed

        error(f"database: {db_reason(problem)}")
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)
