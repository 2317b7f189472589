"""`python -m bench <some benches>` replaces those benches' rows in latest.json and keeps the rest."""

import json
import sys
import types

import bench.__main__ as bench_main


def _row(bench: str, name: str, value: float) -> dict:
    return {"bench": bench, "name": name, "value": value, "unit": "s", "ok": True}


def _fake_bench(monkeypatch, name: str, rows: list[dict]) -> None:
    module = types.ModuleType(f"bench.{name}")
    module.run = lambda quick=False: [
        {k: v for k, v in row.items() if k != "bench"} for row in rows
    ]
    monkeypatch.setitem(sys.modules, f"bench.{name}", module)


def test_running_one_bench_keeps_the_other_benches_results(tmp_path, monkeypatch):
    results = tmp_path / "latest.json"
    earlier = {"python": "3.11", "when": "last week"}
    results.write_text(
        json.dumps(
            {
                "machine": earlier,
                "rows": [
                    _row("sync", "people rows/s", 40_000),
                    _row("pages", "customers list p50", 0.2),
                    _row("pages", "a figure the new run no longer has", 1.0),
                    _row("credits", "grant p50", 0.01),
                ],
            }
        )
    )
    monkeypatch.setattr(bench_main, "RESULTS", results)
    _fake_bench(monkeypatch, "pages", [_row("pages", "customers list p50", 0.15)])

    assert bench_main.main(["pages"]) == 0

    written = json.loads(results.read_text())
    assert [(r["bench"], r["name"], r["value"]) for r in written["rows"]] == [
        ("sync", "people rows/s", 40_000),
        ("pages", "customers list p50", 0.15),
        ("credits", "grant p50", 0.01),
    ]
    assert written["machines"]["sync"] == earlier
    assert written["machines"]["credits"] == earlier
    assert written["machines"]["pages"] == written["machine"] != earlier


def test_a_second_partial_run_keeps_each_benchs_own_machine(tmp_path, monkeypatch):
    results = tmp_path / "latest.json"
    monkeypatch.setattr(bench_main, "RESULTS", results)
    _fake_bench(monkeypatch, "sync", [_row("sync", "people rows/s", 41_000)])
    _fake_bench(monkeypatch, "load", [_row("load", "catalog p95", 0.3)])

    assert bench_main.main(["sync"]) == 0
    first = json.loads(results.read_text())["machines"]["sync"]
    assert bench_main.main(["load"]) == 0

    written = json.loads(results.read_text())
    assert [r["bench"] for r in written["rows"]] == ["sync", "load"]
    assert written["machines"] == {"sync": first, "load": written["machine"]}


def test_an_unreadable_results_file_is_written_anew(tmp_path, monkeypatch):
    results = tmp_path / "latest.json"
    results.write_text("{not json")
    monkeypatch.setattr(bench_main, "RESULTS", results)
    _fake_bench(monkeypatch, "credits", [_row("credits", "grant p50", 0.02)])

    assert bench_main.main(["credits"]) == 0

    written = json.loads(results.read_text())
    assert [r["name"] for r in written["rows"]] == ["grant p50"]


def test_the_readme_table_is_drawn_from_the_results():
    from bench.__main__ import markdown_table

    table = markdown_table(
        {
            "rows": [
                {
                    "bench": "sync",
                    "name": "rows",
                    "value": 48189,
                    "unit": "rows/s",
                    "target": "≥ 40 000",
                    "reference": 79635,
                    "ratio": 0.605,
                    "ok": True,
                },
                {
                    "bench": "pages",
                    "name": "p50",
                    "value": 6.684,
                    "unit": "ms",
                    "target": None,
                    "reference": None,
                    "ratio": None,
                    "ok": None,
                },
                {
                    "bench": "load",
                    "name": "p95",
                    "value": 12.3,
                    "unit": "ms",
                    "target": "≤ 4×",
                    "reference": 2.74,
                    "ratio": 4.49,
                    "ok": False,
                },
            ]
        }
    )
    assert table.splitlines()[2:] == [
        "| sync | rows | 48,189 rows/s | ≥ 40 000 | 79,635 | 0.60 | yes |",
        "| pages | p50 | 6.68 ms | — | — | — | — |",
        "| load | p95 | 12.30 ms | ≤ 4× | 2.74 | 4.49 | no |",
    ]
