"""The report: the JSON file, and the short table printed at the end of a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_report(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def table(report: dict[str, Any]) -> str:
    rows = [("figure", "value", "ceiling", "ratio", "target", "met")]
    for name, line in report["figures"].items():
        ceiling = line["ceiling"]
        rows.append(
            (
                name,
                f"{_number(line['value'])} {line['unit']}" if line["value"] is not None else line.get("note", "-"),
                f"{ceiling['name']} {_number(ceiling['value'])}" if ceiling["name"] else "-",
                _number(line["ratio"]) if line["ratio"] is not None else "-",
                line["target"] or "-",
                {True: "met", False: "MISSED", None: "-"}[line["met"]],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    load = report.get("load_before"), report.get("load_after")
    lines.append(f"\nsize: {report['size']}; machine load (1/5/15 min) before {load[0]}, after {load[1]}")
    return "\n".join(lines)
