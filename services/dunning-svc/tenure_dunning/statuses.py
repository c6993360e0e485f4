"""dunning-svc's statuses and their legal moves (the models change status only through them)."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    RETRYING = "retrying"
    RECOVERED = "recovered"
    EXHAUSTED = "exhausted"
    CANCELLED = "cancelled"  # the invoice was voided by a person: nothing left to collect


CASE_MOVES = {CaseStatus.RETRYING: {CaseStatus.RECOVERED, CaseStatus.EXHAUSTED, CaseStatus.CANCELLED}}
