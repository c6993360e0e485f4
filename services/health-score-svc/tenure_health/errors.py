"""health-score-svc's refusals, each with a stable code."""

from __future__ import annotations

from tenure_shared.errors import InvalidRequest, NotFound


class HealthNotFound(NotFound):
    code = "health_not_found"


class InvalidHealthModel(InvalidRequest):
    code = "invalid_health_model"


class InvalidSignalBatch(InvalidRequest):
    code = "invalid_signal_batch"


class TooManySignals(InvalidRequest):
    code = "too_many_signals"


class InvalidSort(InvalidRequest):
    code = "invalid_sort"


class InvalidBacktestWindow(InvalidRequest):
    code = "invalid_backtest_window"


class InvalidReportWindow(InvalidRequest):
    code = "invalid_report_window"


class InvalidReportInterval(InvalidRequest):
    code = "invalid_interval"


class CurrencyRequired(InvalidRequest):
    code = "currency_required"
