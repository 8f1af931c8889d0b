"""``python -m ardiff_edu bench``: the registry and the command line (timings are printed, never asserted)."""

import pytest

from ardiff_edu import bench


def test_registry_has_fopp():
    assert "fopp" in bench.BENCHMARKS and callable(bench.BENCHMARKS["fopp"])


def test_list_and_unknown(capsys):
    assert bench.main(["--list"]) == 0
    assert "fopp" in capsys.readouterr().out.split()
    with pytest.raises(SystemExit):
        bench.main(["--only", "nope"])
    assert "unknown benchmark 'nope'" in capsys.readouterr().err


def test_bench_fopp_prints_a_ratio(capsys):
    bench.bench_fopp(batch_size=64, reference_samples=8)
    out = capsys.readouterr().out
    assert "vectorised" in out and "per-sample loop" in out and "speed-up" in out


def test_only_runs_the_named_benchmark(monkeypatch, capsys):
    calls = []
    monkeypatch.setitem(bench.BENCHMARKS, "dummy", lambda: calls.append("dummy"))
    assert bench.main(["--only", "dummy"]) == 0
    assert calls == ["dummy"]
