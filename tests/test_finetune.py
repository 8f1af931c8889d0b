"""``train --init-from``: a DiT run that starts from an exported checkpoint (ardiff_edu.finetune)."""

import shutil
from dataclasses import replace

import pytest
import torch

from ardiff_edu import finetune
from ardiff_edu.checkpoint import load_file, read_log
from ardiff_edu.cli import train_main
from ardiff_edu.pipeline import export, load_pipeline
from ardiff_edu.train import PRESETS, preflight, train

torch.set_num_threads(2)
SMOKE = replace(PRESETS["balls-smoke"], num_clips=16, tok_steps=8, steps=3)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    run = tmp_path_factory.mktemp("base")
    train(SMOKE, run, "tokenizer", progress=False)
    train(SMOKE, run, "dit", progress=False)
    return export(run, run / "base.pt")


def as_float(sd):
    return {k: v.float() for k, v in sd.items()}


def equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_fine_tune_starts_from_the_exports_tokenizer_and_dit(exported, tmp_path):
    ck = load_file(exported)
    cfg = replace(SMOKE, init_from=str(exported), seed=5, lr=1e-4)
    train(replace(cfg, steps=0), tmp_path / "ft", "dit", progress=False)     # step 0: the initial state only
    start, tok = load_file(tmp_path / "ft" / "dit.pt"), load_file(tmp_path / "ft" / "tokenizer.pt")
    assert start["step"] == 0 and tok["step"] == ck["meta"]["tokenizer_steps"] == SMOKE.tok_steps
    assert equal(start["model"], as_float(ck["dit"])) and equal(start["ema"], as_float(ck["dit"]))
    assert equal(tok["ema"], as_float(ck["tokenizer"]))
    (tmp_path / "scratch").mkdir()
    shutil.copy(tmp_path / "ft" / "tokenizer.pt", tmp_path / "scratch" / "tokenizer.pt")
    scratch = train(replace(SMOKE, steps=0, seed=5), tmp_path / "scratch", "dit", progress=False)
    assert not equal(scratch["model"].state_dict(), start["model"])          # random weights are another start
    done = train(cfg, tmp_path / "ft", "dit", resume=True, progress=False)   # then it trains under its own recipe
    assert done["step"] == 3 and not equal(done["model"].state_dict(), start["model"])
    assert load_file(tmp_path / "ft" / "dit.pt")["config"]["init_from"] == str(exported)


def test_a_fine_tune_resumes_bit_identically(exported, tmp_path):
    cfg = replace(SMOKE, init_from=str(exported), steps=4, ckpt_every=1)
    a = train(cfg, tmp_path / "a", "dit", progress=False)
    train(replace(cfg, steps=2), tmp_path / "b", "dit", progress=False)
    b = train(cfg, tmp_path / "b", "dit", resume=True, progress=False)
    assert equal(a["model"].state_dict(), b["model"].state_dict())
    assert equal(a["ema"].state_dict(), b["ema"].state_dict())
    assert [r["loss"] for r in read_log(a["log"])] == [r["loss"] for r in read_log(b["log"])]
    meta = load_file(export(tmp_path / "b", tmp_path / "b.pt"))["meta"]     # the record reaches the export
    assert meta["steps"] == 4 and meta["init_from"]["file"] == str(exported)
    base = load_file(exported)["meta"]
    assert meta["init_from"]["steps"] == SMOKE.steps and meta["init_from"]["commands"] == base["commands"]
    with pytest.raises(ValueError, match=r"cannot resume with init_from=None"):
        train(replace(SMOKE, steps=5), tmp_path / "b", "dit", resume=True, progress=False)


def test_a_fine_tune_keeps_the_architecture_and_the_tokenizer(exported, tmp_path):
    with pytest.raises(ValueError, match=r"trained with width=32 and this run has width=64; a fine-tune keeps"):
        train(replace(SMOKE, init_from=str(exported), width=64), tmp_path / "w", "dit", progress=False)
    assert not (tmp_path / "w" / "dit.pt").exists()
    run_ckpt = exported.parent / "dit.pt"
    with pytest.raises(ValueError, match=r"is a run checkpoint, not an exported one"):
        train(replace(SMOKE, init_from=str(run_ckpt)), tmp_path / "r", "dit", progress=False)
    other = tmp_path / "other"
    train(replace(SMOKE, seed=1), other, "tokenizer", progress=False)       # another tokenizer already in the run
    with pytest.raises(ValueError, match=r"holds another tokenizer than init_from="):
        train(replace(SMOKE, init_from=str(exported)), other, "dit", progress=False)
    assert not (other / "dit.pt").exists()
    with pytest.raises(ValueError, match=r"starts the DiT stage from an exported model.*--stage dit only"):
        preflight(replace(SMOKE, init_from=str(exported)), "tokenizer")
    assert set(finetune.ARCHITECTURE) >= {"width", "depth", "heads", "token_dim", "num_frames", "prediction"}
    assert not set(finetune.ARCHITECTURE) & {"seed", "dataset", "num_clips", "data_seed"}


def test_the_command_line_fine_tunes_and_refuses_both_stages(exported, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["--preset", "balls-smoke", "--init-from", str(exported), "--out", str(out), "--no-progress"]
    assert train_main(args + ["--stage", "all"]) == 1
    assert "--stage dit only" in capsys.readouterr().err and not out.exists()      # nothing written
    assert train_main(args + ["--stage", "dit", "--steps", "2", "--first-frame-band", "450", "900",
                              "--first-frame-draws", "3", "--num-clips", "24", "--data-seed", "7"]) == 0
    assert "--init-from" in (out / "commands.txt").read_text()
    saved = load_file(out / "dit.pt")["config"]
    assert saved["init_from"] == str(exported) and saved["first_frame_draws"] == 3
    assert (saved["num_clips"], saved["data_seed"]) == (24, 7)                 # a fine-tune on other data
    bad = tmp_path / "held-out"
    assert train_main(args[:-3] + ["--out", str(bad), "--no-progress", "--data-seed", "10000"]) == 1
    assert "data_seed must be in [0, 9999], got 10000" in capsys.readouterr().err and not bad.exists()
    assert torch.load(out / "latents.pt", weights_only=False)["latents"].shape[0] == 24


def test_a_fine_tune_can_grow_the_depth_and_starts_as_the_same_function(exported, tmp_path):
    ck = load_file(exported)
    depth = ck["config"]["depth"]
    grown = train(replace(SMOKE, init_from=str(exported), depth=depth + 2, steps=0), tmp_path / "g", "dit",
                  progress=False)["model"]
    assert len(grown.blocks) == depth + 2
    base = PRESETS["balls-smoke"]
    old = load_pipeline(exported).model.float()
    x = torch.randn(2, base.num_frames, old.num_tokens, old.token_dim, generator=torch.Generator().manual_seed(0))
    t = torch.randint(0, base.num_timesteps, (2, base.num_frames), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(grown.eval()(x, t), old.eval()(x, t))           # new blocks: the identity at step 0
    sd = grown.state_dict()
    assert all(torch.equal(sd[k], v.float()) for k, v in ck["dit"].items())  # the export's blocks kept in place
    assert not torch.equal(sd[f"blocks.{depth}.qkv.weight"], sd["blocks.0.qkv.weight"])
    done = train(replace(SMOKE, init_from=str(exported), depth=depth + 2), tmp_path / "g", "dit", resume=True,
                 progress=False)
    assert done["step"] == SMOKE.steps
    assert done["model"].blocks[depth].ada[-1].weight.abs().sum() > 0       # the new blocks' gates learn
    bigger = export(tmp_path / "g", tmp_path / "g.pt")                    # a grown export loads and samples
    assert len(load_pipeline(bigger).model.blocks) == depth + 2
    with pytest.raises(ValueError, match=rf"with depth={depth + 1}: it has {depth + 2} blocks; a fine-tune can add "
                                         rf"blocks \(depth >= {depth + 2}\), not remove them"):
        train(replace(SMOKE, init_from=str(bigger), depth=depth + 1), tmp_path / "s", "dit", progress=False)
    assert not (tmp_path / "s" / "dit.pt").exists()
