"""The database: engine, tables, migrations glue, recording and importing actuals, SQL
aggregates, and the judgement read straight from the store."""
