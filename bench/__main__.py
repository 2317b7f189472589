"""Run every benchmark, print one table (figure, target, reference, ratio) and write latest.json.

Each module bench/<name>.py has `run(quick: bool = False) -> list[dict]` returning rows with
name, value, unit, target, reference, ratio and ok; every reference is measured in the same run.
Usage: python -m bench [--quick] [sync pages entitlements credits load api fulfilment webhooks]
       python -m bench --markdown   (latest.json as the README's table)

Running some of the benches replaces only their rows in latest.json: the other benches keep
theirs, each with the machine and time it was measured on (`machines`).
"""

import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

MODULES = ["sync", "pages", "entitlements", "credits", "load", "api", "fulfilment", "webhooks"]
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def _machine() -> dict:
    try:
        pg = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except OSError:
        pg = "unknown"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "postgresql": pg,
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def results_merge(previous: dict, rows: list[dict], ran: list[str], machine: dict) -> dict:
    """The results file after a run of the benches `ran`: their rows replaced, the others kept."""
    kept = [row for row in previous.get("rows", []) if row.get("bench") not in ran]
    machines = previous.get("machines")
    if machines is None:  # written before benches were kept apart: one machine for every row
        machines = dict.fromkeys({row.get("bench") for row in kept}, previous.get("machine"))
    machines = {name: seen for name, seen in machines.items() if name not in ran}
    machines.update(dict.fromkeys(ran, machine))
    order = {name: index for index, name in enumerate(MODULES)}

    def place(name: str | None) -> int:
        return order.get(name, len(order))

    merged = sorted(kept + rows, key=lambda row: place(row.get("bench")))
    return {
        "machine": machine,
        "machines": {name: machines[name] for name in sorted(machines, key=place)},
        "rows": merged,
    }


def _previous(path: Path) -> dict:
    try:
        previous = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError:
        print(f"{path} is not JSON; writing it anew with this run's rows only", file=sys.stderr)
        return {}
    return previous if isinstance(previous, dict) else {}


def _each_alone(wanted: list[str], quick: bool) -> int:
    """Run each bench in a process of its own: each sets Django up its own way (eager tasks or
    a real broker, its own database), which one process can do only once. Each run merges its
    rows into latest.json; the table printed is theirs."""
    codes = [
        subprocess.run(
            [sys.executable, "-m", "bench", *(["--quick"] if quick else []), name],
            cwd=RESULTS.parents[2],
            stdout=subprocess.DEVNULL,
        ).returncode
        for name in wanted
    ]
    rows = [r for r in _previous(RESULTS).get("rows", []) if r.get("bench") in wanted]
    _print_table(rows)
    return 0 if not any(codes) else 1


def _print_table(rows: list[dict]) -> None:
    header = f"{'bench':<13}{'figure':<52}{'value':>14} {'unit':<10}{'target':<22}{'reference':>14}{'ratio':>9}  ok"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['bench']:<13}{r['name'][:51]:<52}{_fmt(r['value']):>14} {r.get('unit', ''):<10}"
            f"{str(r.get('target') or '—')[:21]:<22}{_fmt(r.get('reference')):>14}{_fmt(r.get('ratio')):>9}  "
            f"{'yes' if r.get('ok') else ('—' if r.get('ok') is None else 'NO')}"
        )


def markdown_table(results: dict) -> str:
    """latest.json's rows as the README's benchmark table (`python -m bench --markdown`)."""
    lines = [
        "| bench | figure | value | target | reference (same run) | ratio | met |",
        "|---|---|---|---|---|---|---|",
    ]

    def fmt(value) -> str:
        return (
            f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else _fmt(value)
        )

    for r in results.get("rows", []):
        met = "yes" if r.get("ok") else ("—" if r.get("ok") is None else "no")
        lines.append(
            f"| {r['bench']} | {r['name']} | {fmt(r['value'])} {r.get('unit', '')}".rstrip()
            + f" | {r.get('target') or '—'} | {fmt(r.get('reference'))} "
            f"| {fmt(r.get('ratio'))} | {met} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if "--markdown" in argv:
        print(markdown_table(_previous(RESULTS)))
        return 0
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("-")] or MODULES
    if len(wanted) > 1:
        return _each_alone(wanted, quick)
    rows: list[dict] = []
    for name in wanted:
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        for row in module.run(quick=quick):
            rows.append({"bench": name, **row})
        print(f"[{name}] done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    _print_table(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = results_merge(_previous(RESULTS), rows, wanted, _machine())
    RESULTS.write_text(json.dumps(results, indent=2, default=str))
    print(
        f"\nwritten {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}"
    )
    return 0 if all(r.get("ok") is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
