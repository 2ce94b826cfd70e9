"""kpi-tracker: records actuals against stated goals and warns when one drifts off track."""

__version__ = "0.1.0"
