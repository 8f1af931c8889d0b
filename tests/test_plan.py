"""ardiff_edu.plan and `python -m ardiff_edu plan`: parameters, FLOPs, memory and GPU-hours from a traced step."""

from dataclasses import replace

import pytest
import torch

from ardiff_edu import plan
from ardiff_edu.__main__ import main as cli_main
from ardiff_edu.config import PAPER_PRESETS, PRESETS

torch.set_num_threads(1)
SKY = PRESETS["sky-paper"]


def dit_forward_flops(cfg, batch, tokens=32):
    """The DiT's forward FLOPs, counted by hand: per token 12 D² multiply-adds per block (qkv, proj, MLP), per frame
    6 D² (adaLN) + 2 D² (final adaLN), attention 2 N² D per block, the embeddings and the output layer."""
    D, F, K = cfg.width, cfg.num_frames, cfg.num_context_tokens
    N = K + F * tokens
    per_block = N * 12 * D * D + F * 6 * D * D + 2 * N * N * D
    embed = F * tokens * cfg.token_dim * D + F * (256 * D + D * D) + F * 2 * D * D + F * tokens * D * cfg.token_dim
    return 2 * batch * (cfg.depth * per_block + embed)


def test_the_traced_step_matches_a_count_by_hand():
    tr = plan.trace_step(SKY, "dit", 2)
    # backward = 2 x forward, except where nothing needs a gradient: the last block's MLP over the 77 context tokens,
    # whose output the head drops
    unused = 2 * 2 * 2 * SKY.num_context_tokens * 8 * SKY.width ** 2
    assert tr.flops == pytest.approx(3 * dit_forward_flops(SKY, 2) - unused, rel=1e-4)
    assert 660e6 < tr.params < 690e6


def test_flops_and_activations_grow_with_the_micro_batch():
    one, two = plan.trace_step(SKY, "dit", 1), plan.trace_step(SKY, "dit", 2)
    assert two.flops == 2 * one.flops and two.params == one.params
    assert two.activation_bytes == pytest.approx(2 * one.activation_bytes, rel=0.01)
    # the activations of one 589-token clip through 28 blocks: bf16, about 0.3 GiB (no N x N attention matrices)
    assert 0.2 < one.activation_bytes / 2 ** 30 < 0.8
    tok = plan.trace_step(SKY, "tokenizer", 1)
    D, N = 1024, 16 * 16 + 32                                     # 256 patches + 32 latent tokens, both sides
    macs = 48 * (N * 12 * D * D + 2 * N * N * D) + 2 * 256 * 768 * D
    assert 590e6 < tok.params < 620e6 and tok.flops == pytest.approx(6 * macs, rel=0.01)


def test_a_plan_row_follows_from_the_trace():
    row = plan.plan_run(SKY, "dit", gpus=8, gpu="a100", utilisation=0.5)
    assert (row["batch"], row["micro_batch"], row["grad_accum"]) == (96 * 8, 16, 6)    # the official 16 per GPU
    tr = plan.trace_step(SKY, "dit", 16)
    assert row["flops_per_step"] == tr.flops * 8 * 6
    assert row["gpu_hours"] == pytest.approx(row["flops_per_step"] * 100_000 / (312e12 * 0.5) / 3600)
    assert row["days"] == pytest.approx(row["gpu_hours"] / 8 / 24)
    assert row["state_gib"] == pytest.approx(tr.params * 20 / 2 ** 30) and row["fits"]
    assert not plan.plan_run(SKY, "dit", gpus=1, gpu="l40s", batch_size=96 * 8, grad_accum=1)["fits"]


def test_bad_plans_are_refused():
    with pytest.raises(ValueError, match=r"gpu must be one of \['a100', 'h100', 'h200', 'l40s'\], got 'tpu'"):
        plan.plan_run(SKY, "dit", gpu="tpu")
    with pytest.raises(ValueError, match=r"the global batch 100 must be a multiple of gpus × grad_accum = 8 × 6"):
        plan.plan_run(SKY, "dit", batch_size=100)
    with pytest.raises(ValueError, match=r"utilisation must be in \(0, 1\], got 1.5"):
        plan.plan_run(SKY, "dit", utilisation=1.5)


def test_grad_accum_that_fits():
    gib = 2 ** 30
    assert plan.grad_accum_that_fits(768, 8, 0.6 * gib, 60 * gib) == 1          # 96 clips x 0.6 GiB = 57.6 GiB
    assert plan.grad_accum_that_fits(768, 8, 0.6 * gib, 20 * gib) == 3          # 32 x 0.6 = 19.2 GiB
    assert plan.grad_accum_that_fits(80, 8, 1.0 * gib, 3 * gib) == 5            # 10 per GPU: 5 and 2 divide it
    with pytest.raises(ValueError, match="one item needs 2.00 GiB of activations, more than the 1.00 GiB left"):
        plan.grad_accum_that_fits(8, 1, 2 * gib, 1 * gib)


def test_the_plan_command_prints_the_four_paper_presets(capsys):
    assert cli_main(["plan", "--gpus", "8", "--gpu", "h100"]) == 0
    out = capsys.readouterr().out
    for name in PAPER_PRESETS:
        assert out.count(name) == 2                                              # one row per stage
    assert "8 x h100 (989 TFLOP/s dense bf16 peak, 80 GiB) at 40% utilisation" in out and "total:" in out
    assert cli_main(["plan", "--preset", "sky-paper", "--batch-size", "100"]) == 1
    assert "the global batch 100 must be a multiple" in capsys.readouterr().err


def test_the_toy_presets_plan_too():
    row = plan.plan_run(replace(PRESETS["balls"], name="balls"), "dit", gpus=1)
    assert row["params"] == sum(p.numel() for p in __import__("ardiff_edu.train", fromlist=["x"]).build_dit(
        PRESETS["balls"], 16).parameters())
