"""Collectors: sources that record actuals on a schedule, as `tracker record` would.

`runner.collect` is the daemon's unit of work for one source; `outcome` holds its result and
the journalled write; `http_json` and `csv_dir` are the two kinds of source."""
