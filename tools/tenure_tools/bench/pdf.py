"""PDF rendering (tenure_shared.pdf, fpdf2): a 20-line invoice beside a one-line document, the floor
of fpdf2's own page set-up, both rendered in this process."""

from __future__ import annotations

import statistics
import time
from typing import Any

from tenure_shared.pdf import Document, DocumentLine, render

PERIOD = "2026-06-01 to 2026-07-01"


def _document(line_count: int) -> Document:
    return Document(
        title="Invoice",
        number="INV-000123",
        currency="USD",
        issuer=["Tenure"],
        recipient=["Customer cus_bench"],
        facts=[("Issued", "2026-06-01"), ("Period", PERIOD), ("Status", "paid")],
        lines=[DocumentLine(f"Seat {n}", 4900, PERIOD) for n in range(line_count)],
        discounts=[DocumentLine("Coupon SPRING (10%)", -9800)],
        totals=[("Subtotal", 4900 * line_count), ("Total", 4900 * line_count - 9800)],
    )


def _median_ms(document: Document, rounds: int) -> float:
    render(document)  # the first render loads the font metrics
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        render(document)
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1000, 2)


def render_figures(rounds: int = 30) -> dict[str, Any]:
    return {
        "invoice_20_lines_ms": _median_ms(_document(20), rounds),
        "one_line_ms": _median_ms(_document(1), rounds),
        "rounds": rounds,
    }
