"""The pure core: periods, goals, measures, pace, forecast, evaluation, verdicts, rules and
the alert lifecycle. No database, HTTP, clock or logging here; everything else imports it."""
