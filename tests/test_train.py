"""ardiff_edu.train and the train command: bit-identical resume, NaN stop, export, presets, configs, the CLI."""

import shutil
from dataclasses import replace

import pytest
import torch

from ardiff_edu import train as tr
from ardiff_edu.checkpoint import read_log
from ardiff_edu.cli import train_main as main
from ardiff_edu.figures import plot_log
from ardiff_edu.pipeline import export, generate
from ardiff_edu.pipeline import load_pipeline as load_checkpoint
from ardiff_edu.train import PRESETS, TrainConfig, drop_labels, train

torch.set_num_threads(2)
SMOKE = replace(PRESETS["balls-smoke"], num_clips=16, tok_steps=8)


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tok")
    train(SMOKE, out, "tokenizer", progress=False)
    return out


def fresh(tok_dir, tmp_path, name):
    out = tmp_path / name
    out.mkdir()
    shutil.copy(tok_dir / "tokenizer.pt", out / "tokenizer.pt")
    return out


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("stage", ["tokenizer", "dit"])
def test_resume_is_bit_identical(tok_dir, tmp_path, stage):
    k, n = 4, 10                        # k on the log grid, so the logged window means match too
    cfg = replace(SMOKE, ckpt_every=3, log_every=2, tok_steps=n, steps=n)
    a, b = (fresh(tok_dir, tmp_path, x) if stage == "dit" else tmp_path / x for x in "ab")
    train(cfg, a, stage, progress=False)
    train(replace(cfg, tok_steps=k, steps=k), b, stage, progress=False)                 # stopped at k ...
    assert torch.load(b / f"{stage}.pt", weights_only=False)["step"] == k
    train(cfg, b, stage, resume=True, progress=False)                                  # ... then resumed to n
    ca, cb = (torch.load(d / f"{stage}.pt", weights_only=False) for d in (a, b))
    assert ca["step"] == cb["step"] == n
    assert states_equal(ca["model"], cb["model"]) and states_equal(ca["ema"], cb["ema"])
    assert all(torch.equal(ca["generators"][g], cb["generators"][g]) for g in ca["generators"])
    strip = lambda recs: [{k: v for k, v in r.items() if k != "elapsed_s"} for r in recs]  # noqa: E731
    assert strip(read_log(a / f"{stage}.jsonl")) == strip(read_log(b / f"{stage}.jsonl"))
    clock = [r["elapsed_s"] for r in read_log(b / f"{stage}.jsonl")]
    assert clock == sorted(clock) and clock[0] > 0                # training time keeps counting across the resume
    with pytest.raises(ValueError, match="exists: pass resume=True"):
        train(cfg, a, stage, progress=False)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tok_dir, tmp_path, monkeypatch):
    out = fresh(tok_dir, tmp_path, "nan")
    real, calls = tr.dit_loss, []

    def poisoned(*args, **kwargs):
        per_frame = real(*args, **kwargs)
        calls.append(1)
        return per_frame * float("nan") if len(calls) == 6 else per_frame

    monkeypatch.setattr(tr, "dit_loss", poisoned)
    with pytest.raises(FloatingPointError, match=r"loss became non-finite at step 6 \(seen by process 0\).*"
                                                 r"last good checkpoint .*step 4\)"):
        train(replace(SMOKE, ckpt_every=2), out, "dit", progress=False)
    ck = torch.load(out / "dit.pt", weights_only=False)
    assert ck["step"] == 4 and all(torch.isfinite(v).all() for v in ck["model"].values())
    assert max(r["step"] for r in read_log(out / "dit.jsonl")) == 5        # logged up to the last good step


def test_latent_pool_is_normalised(tok_dir, tmp_path):
    out = fresh(tok_dir, tmp_path, "pool")
    train(replace(SMOKE, steps=1), out, "dit", progress=False)
    pool = torch.load(out / "latents.pt", weights_only=False)
    z = pool["latents"]
    assert z.shape == (16, 8, 16, 4)
    assert torch.allclose(z.mean(dim=(0, 1, 2)), torch.zeros(4), atol=1e-4)
    assert torch.allclose(z.std(dim=(0, 1, 2)), torch.ones(4), atol=1e-4)


def test_cli_export_and_load(tmp_path, capsys):
    out, to = tmp_path / "run", tmp_path / "ckpt" / "smoke.pt"
    argv = ["--preset", "balls-smoke", "--stage", "all", "--out", str(out), "--steps", "6", "--no-progress"]
    assert main(argv) == 0
    assert main(["--export", str(out), "--to", str(to)]) == 0
    pipe = load_checkpoint(to)
    assert not pipe.model.training and not pipe.tokenizer.training
    assert pipe.model.prediction == "x0" and pipe.config.num_frames == 8 and pipe.meta["steps"] == 6
    assert "--stage all" in pipe.meta["commands"][0] and pipe.meta["seed"] == 0
    raw = torch.load(to, weights_only=False)
    assert all(v.dtype == torch.float16 for v in raw["dit"].values() if v.is_floating_point())
    frames = torch.rand(2, 8, 3, 32, 32) * 2 - 1
    z = pipe.encode_video(frames)
    assert z.shape == (2, 8, 16, 4)
    x = pipe.decode_video(z)
    assert x.shape == frames.shape and x.abs().max() <= 1
    ema = torch.load(out / "dit.pt", weights_only=False)["ema"]
    assert all(torch.equal(pipe.model.state_dict()[k], ema[k].half().float()) for k in ema)
    run_pipe = load_checkpoint(out / "dit.pt")                          # a run's checkpoint loads too
    assert states_equal(run_pipe.model.state_dict(), ema)
    fig = plot_log(pipe.log)
    assert [a.get_ylabel() for a in fig.axes] == ["loss", "loss of one frame", "frame index"]   # + colourbar
    assert len(plot_log(out / "tokenizer.jsonl").axes) == 2             # a JSONL path works too (no per-frame loss)
    assert main(["--preset", "balls-smoke", "--stage", "dit", "--out", str(out), "--no-progress"]) == 1
    assert "--resume" in capsys.readouterr().err


def test_config_validation_and_presets():
    assert PRESETS["ucf"].label_dropout == 0.2 and PRESETS["balls"].timesteps == "fopp"
    assert set(PRESETS) >= {"balls", "balls-smoke", "digits", "sky", "taichi", "faces", "ucf"}
    with pytest.raises(ValueError, match=r"lr must be > 0, got 0"):
        TrainConfig(lr=0)
    with pytest.raises(ValueError, match="timesteps must be one of .* got 'fifo'"):
        TrainConfig(timesteps="fifo")
    with pytest.raises(ValueError, match=r"batch_size must be >= 1, got 0"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="stage must be one of"):
        train(SMOKE, "/tmp/unused", "vae")
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint("/nonexistent/x.pt")
    with pytest.raises(ValueError, match=r"mask='leaky' needs num_context_tokens >= 1"):
        TrainConfig(mask="leaky")
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(precision="fp16")


def test_label_dropout_rate_and_null():
    g = torch.Generator().manual_seed(0)
    y = drop_labels(torch.zeros(20000, dtype=torch.long), 0.2, 101, g)
    assert set(y.unique().tolist()) == {0, 101}
    assert abs((y == 101).float().mean().item() - 0.2) < 0.01           # not the official ~58 %


def test_class_conditional_stage(tok_dir, tmp_path, monkeypatch):
    real = tr.load_clips

    def with_labels(cfg, *args, **kwargs):
        clips, _, _ = real(cfg, *args, **kwargs)
        return clips, torch.arange(len(clips)) % 3, ["a", "b", "c"]

    monkeypatch.setattr(tr, "load_clips", with_labels)
    out = fresh(tok_dir, tmp_path, "cond")
    res = train(replace(SMOKE, steps=3, label_dropout=0.5), out, "dit", progress=False)
    assert res["model"].num_classes == 3 and res["model"].null_label == 3
    assert load_checkpoint(out / "dit.pt").class_names == ["a", "b", "c"]
    # Paper vs code: the official optimizer never updated its class/context embeddings; ours does
    torch.manual_seed(SMOKE.seed)
    init = tr.build_dit(replace(SMOKE, num_classes=3), 16).class_embed.weight
    assert not torch.equal(res["model"].class_embed.weight.detach(), init.detach())


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_loads_its_data(name):
    clips, labels, names = tr.load_clips(replace(PRESETS[name], num_clips=2, num_frames=4))
    assert clips.shape == (2, 4, 32, 32, 3) and clips.dtype == torch.uint8
    assert (labels is None) == (name != "ucf")
    if name == "ucf":
        assert labels.shape == (2,) and int(labels.max()) < len(names)


@pytest.mark.parametrize("name", sorted(set(PRESETS) - {"balls", "balls-smoke", "ablation"}))
def test_every_preset_trains_exports_and_samples(tmp_path, name):
    # each named preset at smoke size, end to end: its data, both stages, export, load and a short generated video
    small = {k: v for k, v in tr._SMALL.items() if k not in ("num_frames",)}
    cfg = replace(PRESETS[name], **{**small, "num_clips": 12, "num_frames": 4, "tok_steps": 2, "steps": 2,
                                    "precision": "fp32"})
    train(cfg, tmp_path, "tokenizer", progress=False)
    res = train(cfg, tmp_path, "dit", progress=False)
    assert res["step"] == 2 and res["loss"] == res["loss"]                # finite (not NaN)
    pipe = load_checkpoint(export(tmp_path, tmp_path / f"{name}.pt"))
    assert pipe.config.dataset == PRESETS[name].dataset and pipe.config.lr == PRESETS[name].lr
    conditional = name == "ucf"
    assert (pipe.class_names is not None) == conditional and (res["model"].num_classes is not None) == conditional
    labels = [0] if conditional else None
    video = generate(pipe, num_videos=1, num_frames=4, s=1, num_steps=3, labels=labels,
                     cfg_scale=2.0 if conditional else 1.0)
    assert video.shape == (1, 4, 32, 32, 3) and video.dtype.name == "uint8"


def test_leaky_mask_trains_with_context_tokens_and_the_official_residual(tok_dir, tmp_path):
    """Regression: TrainConfig could not set num_context_tokens or official_residual, so mask='leaky' trained a model
    without context tokens, which is exactly strict-causal. Now leaky needs them, as the official final configs."""
    out = fresh(tok_dir, tmp_path, "leaky")
    res = train(replace(SMOKE, steps=2, mask="leaky", num_context_tokens=2, official_residual=True), out, "dit",
                progress=False)
    m = res["model"]
    assert m.mask_kind == "leaky" and m.num_context == 2 and m.context.shape == (2, m.width)
    assert m.official_residual and all(b.official_residual for b in m.blocks)
    pipe = load_checkpoint(out / "dit.pt")
    assert pipe.model.mask_kind == "leaky" and pipe.model.num_context == 2


def test_gradient_accumulation_takes_the_same_step(tok_dir, tmp_path):
    a, b = fresh(tok_dir, tmp_path, "acc1"), fresh(tok_dir, tmp_path, "acc2")
    ra = train(replace(SMOKE, steps=3), a, "dit", progress=False)
    rb = train(replace(SMOKE, steps=3, grad_accum=2), b, "dit", progress=False)
    for k, v in ra["model"].state_dict().items():
        torch.testing.assert_close(rb["model"].state_dict()[k], v, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"grad_accum=3 must divide the per-process batch 4"):
        train(replace(SMOKE, steps=3, grad_accum=3), fresh(tok_dir, tmp_path, "acc3"), "dit", progress=False)


def test_resume_keeps_the_state_fixed_but_may_change_the_rest(tok_dir, tmp_path):
    out = fresh(tok_dir, tmp_path, "res")
    train(replace(SMOKE, steps=2), out, "dit", progress=False)
    with pytest.raises(ValueError, match=r"cannot resume with width=48: the run was started with width=32"):
        train(replace(SMOKE, steps=4, width=48), out, "dit", resume=True, progress=False)
    res = train(replace(SMOKE, steps=4, lr=1e-4), out, "dit", resume=True, progress=False)
    assert res["step"] == 4 and read_log(out / "dit.jsonl")[-1]["lr"] == 1e-4


def test_precision_auto_is_measured_once_and_recorded(tok_dir, tmp_path):
    out = fresh(tok_dir, tmp_path, "auto")
    res = train(replace(SMOKE, steps=2, precision="auto"), out, "dit", progress=False)
    assert res["precision"] in ("fp32", "bf16")
    saved = torch.load(out / "dit.pt", weights_only=False)["config"]["precision"]
    assert saved == res["precision"]
    again = train(replace(SMOKE, steps=3, precision="auto"), out, "dit", resume=True, progress=False)
    assert again["precision"] == saved                                 # resuming keeps the measured choice


def test_learning_rate_schedules():
    assert tr.learning_rate(1.0, 0, 100) == 1.0
    assert tr.learning_rate(1.0, 4, 100, warmup=10) == 0.5
    assert tr.learning_rate(1.0, 10, 110, "cosine", warmup=10) == pytest.approx(1.0)
    assert tr.learning_rate(1.0, 60, 110, "cosine", warmup=10) == pytest.approx(0.5)
    assert tr.learning_rate(1.0, 110, 110, "cosine", warmup=10) == pytest.approx(0.0)


def test_the_tokenizer_stage_has_no_warmup(tmp_path):
    train(replace(SMOKE, tok_steps=3, warmup=100), tmp_path, "tokenizer", progress=False)
    assert [r["lr"] for r in read_log(tmp_path / "tokenizer.jsonl")] == [SMOKE.tok_lr] * 3


def test_a_cuda_request_without_cuda_is_refused(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="device='cuda' was requested, but this machine has no CUDA device"):
        train(replace(SMOKE, device="cuda"), tmp_path, "tokenizer", progress=False)
    assert not (tmp_path / "tokenizer.pt").exists()


def test_ema_decay_and_learning_rates_are_ours_where_the_official_runs_differ():
    """Paper vs code: the official DiT runs keep an EMA with decay 0.9999 and train at a constant 1e-4 or 2e-4 without
    warm-up (``shell_scripts/stage2_ardiff_scripts/*/train_base_script.sh``). Our runs are thousands of steps, not
    100k: the EMA decays with 0.999, and the ``balls`` preset warms up for 500 steps to 4e-4, then decays on a cosine.
    The stand-ins for the paper's data sets keep the official constant rate of their data set."""
    assert TrainConfig().ema_decay == 0.999
    balls = PRESETS["balls"]
    assert (balls.lr, balls.lr_schedule, balls.warmup, balls.ema_decay) == (4e-4, "cosine", 500, 0.999)
    for name, lr in (("sky", 2e-4), ("taichi", 2e-4), ("faces", 1e-4), ("ucf", 1e-4)):
        assert (PRESETS[name].lr, PRESETS[name].lr_schedule, PRESETS[name].warmup) == (lr, "constant", 0), name
    ema, model = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
    for step, kept in ((0, 0.1), (10_000, 0.999)):               # d = min((1 + n) / (10 + n), 0.999)
        ema.weight.data.fill_(1.0)
        model.weight.data.fill_(0.0)
        tr.ema_update(ema, model, step, balls.ema_decay)
        assert ema.weight.item() == pytest.approx(kept)


def test_the_default_dit_is_small_and_sees_32_pixel_frames():
    """Paper vs code: the official DiT is DiT-XL sized (28 blocks, width 1152, 16 heads) on 16 frames of 32 tokens × 4
    channels from 256×256 frames (``configs/*/ardiff/diff_ardiff_vtattn_x0pred_nvae_midt.yaml``); ours, trained on
    two CPU cores, has 4 blocks of width 128 on 16 frames of 16 tokens × 8 channels from 32×32 frames."""
    balls = PRESETS["balls"]
    assert (balls.depth, balls.width, balls.num_frames, balls.image_size, balls.token_dim) == (4, 128, 16, 32, 8)
    model = tr.build_dit(balls, 16)
    assert model.depth == 4 and model.width == 128 and model.num_tokens == 16 and model.token_dim == 8
    assert sum(p.numel() for p in model.parameters()) < 2_000_000


def test_the_dit_init_does_not_depend_on_whether_the_latents_are_cached(tok_dir, tmp_path):
    """Regression: encoding the latents built a tokenizer after torch.manual_seed, so a fresh DiT's initial weights
    depended on whether latents.pt already existed in the run directory."""
    a, b = fresh(tok_dir, tmp_path, "enc"), fresh(tok_dir, tmp_path, "cached")
    train(replace(SMOKE, steps=1), a, "dit", progress=False)
    shutil.copy(a / "latents.pt", b / "latents.pt")
    (a / "dit.pt").unlink()
    (a / "latents.pt").unlink()
    ra = train(replace(SMOKE, steps=0), a, "dit", progress=False)        # encodes the latents again
    rb = train(replace(SMOKE, steps=0), b, "dit", progress=False)        # finds them cached
    assert states_equal(ra["model"].state_dict(), rb["model"].state_dict())


def test_the_balls_preset_is_the_documented_recipe():
    cfg = PRESETS["balls"]
    assert (cfg.lr, cfg.lr_schedule, cfg.warmup, cfg.ema_decay) == (4e-4, "cosine", 500, 0.999)
    assert (cfg.tok_steps, cfg.tok_lr_schedule, cfg.heads, cfg.timesteps) == (4000, "cosine", 2, "fopp")
