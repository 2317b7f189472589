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
