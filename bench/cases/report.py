"""Rows of the side-by-side table, printed and written to `bench/RESULTS.md`."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


@dataclass
class Row:
    """One case. `ours`/`theirs` are medians in seconds, or MB/s when `rate` is set."""

    case: str
    ours: float | None
    theirs: float | None = None
    rate: bool = False
    floor: float | None = None  # the fraction of the raw floor reached (case 5)
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def advantage(self) -> float | None:
        """How many times better LineageQL is: theirs/ours for times, ours/theirs for rates."""
        if not self.ours or not self.theirs:
            return None
        return self.ours / self.theirs if self.rate else self.theirs / self.ours


def fmt(value: float | None, rate: bool = False) -> str:
    if value is None:
        return "-"
    if rate:
        return f"{value:,.0f} MB/s"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.01:
        return f"{value * 1000:.0f} ms"
    return f"{value * 1000:.2f} ms"


def cells(row: Row) -> list[str]:
    advantage = row.advantage
    met = {None: "", True: "met", False: "**missed**"}[row.met]
    return [
        row.case,
        fmt(row.ours, row.rate),
        fmt(row.theirs, row.rate),
        "-" if advantage is None else f"{advantage:.1f}x",
        "-" if row.floor is None else f"{row.floor:.0%}",
        row.target,
        met,
        row.note,
    ]


HEADER = ["case", "LineageQL", "ZenML", "ratio", "of floor", "target", "", "note"]


def print_table(rows: list[Row]) -> None:
    table = [HEADER] + [cells(row) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER) - 1)]
    for line in table:
        padded = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line[:-1])
        ]
        print("  ".join(padded) + "  " + line[-1])


def markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER[:-2] + ["met?", "note"]) + " |"]
    lines.append("|---|---:|---:|---:|---:|---|---|---|")
    for row in rows:
        line = cells(row)
        line[0] = line[0].replace("|", "\\|")
        lines.append("| " + " | ".join(line) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 2**20:.0f} GiB memory"
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}"


def commit(repo: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "api", "sdk")
    return head + (" (with uncommitted changes in api/ or sdk/)" if dirty else "")


@dataclass
class Context:
    command: str
    runs: int
    python: str
    lineageql: str
    zenml: str
    install: str
    load: str
    seconds: float


def write_results(path: Path, rows: list[Row], context: Context) -> None:
    targets = [row for row in rows if row.met is not None]
    met = sum(1 for row in targets if row.met)
    missed = [row.case for row in targets if not row.met]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")  # noqa: UP017
    text = f"""# Side-by-side results: LineageQL and ZenML

Written by `bench/suite.py` (see `bench/README.md`, "Side-by-side suite"). Medians of
{context.runs} runs unless the case says otherwise, both sides measured in the same run, taking
turns. The ratio is how many times better LineageQL is (time: ZenML / LineageQL; throughput:
LineageQL / ZenML). The machine is shared: compare ratios, not absolute figures across days.

- Date: {now}
- Command: `{context.command}` ({context.seconds / 60:.1f} min in all{context.install})
- Machine: {machine()}
- Python {context.python}; LineageQL {context.lineageql}; ZenML {context.zenml}
- Load average (1 min): {context.load}

{markdown(rows)}

Targets: {met} of {len(targets)} met.{" Missed: " + "; ".join(missed) + "." if missed else ""}
Where the time goes for each missed target: `bench/README.md`, "Side-by-side suite", "Findings".
"""
    path.write_text(text)
