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
    bench.bench_fopp(repeat=2, batch_size=64, reference_samples=8)
    out = capsys.readouterr().out
    assert "vectorised" in out and "per-sample loop" in out and "speed-up" in out


def test_only_runs_the_named_benchmark(monkeypatch, capsys):
    calls = []
    monkeypatch.setitem(bench.BENCHMARKS, "dummy", lambda repeat: calls.append(("dummy", repeat)))
    assert bench.main(["--only", "dummy", "--repeat", "2"]) == 0
    assert calls == [("dummy", 2)]


def test_interleaved_timings_and_their_spread():
    order = []
    times = bench.interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, repeat=3, warmup=1)
    assert order == ["a", "b"] * 4 and [len(v) for v in times.values()] == [3, 3]
    assert bench.spread([3.0, 1.0, 2.0]) == "2.00 [1.00–3.00]"


def test_bench_train_and_sample_print_ratios_with_their_spread(capsys, tmp_path, monkeypatch):
    import torch

    compiled = []
    real = torch.compile             # inductor takes about a minute on a CPU: the same wrapper on the eager backend
    monkeypatch.setattr(torch, "compile", lambda model, **kw: compiled.append(model) or real(model, backend="eager"))
    monkeypatch.setattr(bench, "BF16_MIN_SHARE", 1e9)             # no CPU runs bf16 that fast: bf16 is not timed
    bench.bench_train(repeat=1, preset="balls-smoke", before="balls-smoke")
    out = capsys.readouterr().out
    assert "bf16 autocast not timed" in out and out.count("clips/s") == 6 and "autocast *" not in out
    compiled.clear()
    monkeypatch.setattr(bench, "BF16_MIN_SHARE", 0.0)             # every CPU: both dtypes timed
    bench.bench_train(repeat=1, preset="balls-smoke", before="balls-smoke")
    out = capsys.readouterr().out
    assert "balls-smoke (width 32), fp32" in out and "balls-smoke (width 32), bf16 autocast" in out
    assert "clips/s" in out and "the matmul's FLOP/s" in out
    assert "before: balls-smoke, 2 heads, fp32" in out and out.count("clips/s") == 9
    assert len(compiled) == 1 and "eager (again)" in out and "torch.compile speed-up" in out
    for w in (48, 64):                                                         # 1.5x and 2x wider, 16 per head
        assert f"width {w}, fp32" in out and f"width {w}, bf16 autocast" in out
    rows = [line for line in out.splitlines() if "clips/s" in line and "before:" not in line]
    marked = [line for line in rows if "*" in line.split("steps/s")[0]]
    assert len(marked) == 3                                                    # one faster dtype per shape
    assert "spends its time" in out
    bench.bench_sample(repeat=1, num_videos=1, num_steps=2, checkpoint=tmp_path / "none.pt")
    lines = capsys.readouterr().out.splitlines()
    assert "random DiT" in lines[0] and len(lines) == 5                   # s = 0, 1, 2 = S; then 64 frames
    assert all("KV cache:" in line and "x faster" in line for line in lines[1:])


def test_profile_shares_name_the_ops_and_sum_to_one():
    import torch

    a = torch.randn(64, 64)
    shares = bench.profile_shares(lambda: (a @ a).relu(), steps=2, top=2)
    assert [name for name, _ in shares][-1] == "other" and len(shares) == 3
    assert abs(sum(share for _, share in shares) - 1.0) < 1e-9 and all(share >= 0 for _, share in shares)
    assert "mm" in {name for name, _ in shares}
