"""The one small error hierarchy of kpi-tracker.

The command line maps `BadInput` (and its subclasses) to exit status 2 with a one-line
message, and every other `TrackerError` (such as `Unavailable`) to exit status 1.
"""


class TrackerError(Exception):
    """Something went wrong that the user should read about, without a traceback."""

    exit_code = 1


class BadInput(TrackerError):
    """The user gave input that cannot be accepted; nothing was written."""

    exit_code = 2


class ConfigError(BadInput):
    """The catalog or the settings are wrong; the message names the file and the field."""


class NotFound(BadInput):
    """A named thing (metric, goal, alert) does not exist."""


class Unavailable(TrackerError):
    """Something outside the tracker (the database server) fails now; trying later may work."""
