"""Collectors: sources that record actuals on a schedule, as `tracker record` would."""
