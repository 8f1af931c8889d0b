"""ardiff_edu.pipeline and the sample command: checkpoint -> Pipeline -> videos, export, bad files, autoguidance."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from ardiff_edu.ad import ad_schedule
from ardiff_edu.cli import sample_main
from ardiff_edu.ddim import sample as ddim_sample
from ardiff_edu.pipeline import export, generate, load_autoguide, load_pipeline, real_clips
from ardiff_edu.video import read_video


@pytest.fixture(scope="module")
def pipe(tiny_checkpoint):
    return load_pipeline(tiny_checkpoint)


def test_load_gives_eval_mode_fp32_and_the_run_metadata(pipe):
    assert not pipe.model.training and not pipe.tokenizer.training
    assert all(p.dtype == torch.float32 for p in pipe.model.parameters())
    assert pipe.meta["steps"] == 2 and pipe.meta["tokenizer_steps"] == 2 and pipe.config.name == "balls-smoke"
    videos = real_clips(pipe, 2, 8)[0]
    z = pipe.encode_uint8(videos)
    assert z.shape == (2, 8, pipe.model.num_tokens, pipe.model.token_dim)
    assert pipe.decode_uint8(z).shape == videos.shape


def test_generate_is_deterministic_batch_independent_and_slides_the_window(pipe):
    a, z = generate(pipe, 3, 10, s=2, num_steps=4, seed=3, return_latents=True)
    assert a.dtype == np.uint8 and a.shape == (3, 10, 32, 32, 3) and z.shape[:2] == (3, 10)
    assert np.array_equal(a, generate(pipe, 3, 10, s=2, num_steps=4, seed=3, batch_size=2))
    assert not np.array_equal(a, generate(pipe, 3, 10, s=2, num_steps=4, seed=4))
    with pytest.raises(ValueError, match="unsafe"):                  # window = training length 8, 1·8 < 10
        generate(pipe, 1, 10, s=1, num_steps=10)
    assert generate(pipe, 1, 10, s=1, num_steps=10, overflow="wait").shape == (1, 10, 32, 32, 3)
    with pytest.raises(ValueError, match="num_videos"):
        generate(pipe, 0, 6, s=2)


def test_the_kv_cache_and_the_uncached_sampler_make_the_same_videos(pipe):
    a = generate(pipe, 2, 12, s=2, num_steps=6, seed=1, kv_cache=True)
    b = generate(pipe, 2, 12, s=2, num_steps=6, seed=1, kv_cache=False)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1         # the same uint8 videos up to rounding


def test_prefix_frames_come_from_the_checkpoints_own_dataset(tiny_checkpoint, monkeypatch):
    """Regression: generate(prefix_frames=K) used to draw bouncing balls whatever the checkpoint was trained on."""
    from dataclasses import replace

    from ardiff_edu.data import moving_digits

    p = load_pipeline(tiny_checkpoint)
    p.config = replace(p.config, dataset="digits")
    real = real_clips(p, 2, 6, seed=5)[0]
    assert np.array_equal(real, moving_digits(2, num_frames=6, size=32, seed=10_005))
    pred = generate(p, 2, 6, s=1, num_steps=3, seed=5, prefix_frames=2)
    given = p.decode_uint8(p.encode_uint8(real[:, :2]))
    assert np.array_equal(pred[:, :2], given)                        # the given frames come back (decoded)
    same = generate(p, 2, 6, s=1, num_steps=3, seed=5, prefix_frames=real[:, :2])
    assert np.array_equal(pred, same)
    with pytest.raises(ValueError, match="prefix_frames must be None, an int or uint8 videos"):
        generate(p, 2, 6, s=1, prefix_frames=real[:, :2].astype(np.float32))


def test_export_from_a_run_and_load_from_a_run(tmp_path, tiny_checkpoint):
    run = tiny_checkpoint.parent / "run"
    from_run = load_pipeline(run / "dit.pt")
    exported = load_pipeline(export(run, tmp_path / "again.pt"))
    for k, v in from_run.model.state_dict().items():                # fp16 export of the same EMA weights
        torch.testing.assert_close(exported.model.state_dict()[k], v.half().float())


@pytest.mark.parametrize("content", [b"not a checkpoint at all", None])
def test_a_file_that_is_not_a_checkpoint_gets_a_clear_error(tmp_path, content, capsys):
    """Regression: `sample --checkpoint FILE` with a non-checkpoint file ended in a raw UnpicklingError."""
    path = tmp_path / "x.pt"
    if content is None:
        torch.save({"hello": 1}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=r"is not an ardiff_edu checkpoint"):
        load_pipeline(path)
    assert sample_main(["--checkpoint", str(path), "--out", str(tmp_path / "a.npy"), "--no-progress"]) == 1
    assert "is not an ardiff_edu checkpoint" in capsys.readouterr().err
    with pytest.raises(ValueError, match="does not exist"):
        load_pipeline(tmp_path / "missing.pt")


def test_sample_command_writes_npy_gif_and_mp4(tiny_checkpoint, tmp_path, capsys):
    common = ["--checkpoint", str(tiny_checkpoint), "--num-steps", "4", "--seed", "1", "--no-progress"]
    assert sample_main(common + ["--num-frames", "6", "--s", "1", "--num-videos", "2", "--out",
                                 str(tmp_path / "a.npy")]) == 0
    videos = np.load(tmp_path / "a.npy")
    assert videos.dtype == np.uint8 and videos.shape == (2, 6, 32, 32, 3)
    assert sample_main(common + ["--num-frames", "6", "--s", "1", "--num-videos", "2", "--no-kv-cache", "--out",
                                 str(tmp_path / "b.npy")]) == 0
    assert np.abs(np.load(tmp_path / "b.npy").astype(int) - videos).max() <= 1
    assert sample_main(common + ["--num-frames", "10", "--s", "2", "--num-videos", "2", "--prefix-frames", "2",
                                 "--scale", "1", "--out", str(tmp_path / "c.gif")]) == 0
    gif = read_video(tmp_path / "c.gif")                            # a header with s, S and NFE above the videos
    assert gif.shape[0] == 10 and gif.shape[1] > 32 and gif.shape[2] >= 2 * 32
    assert (gif[:, :20] > 200).mean() > 0.8                           # ... white, with dark text in it
    assert sample_main(common + ["--num-frames", "4", "--s", "1", "--num-videos", "2", "--scale", "1", "--out",
                                 str(tmp_path / "c.npy")]) == 0
    assert sample_main(common + ["--num-frames", "4", "--s", "0", "--num-videos", "1", "--out",
                                 str(tmp_path / "d.mp4")]) == 0
    assert read_video(tmp_path / "d.mp4").shape[0] == 4
    assert "wrote" in capsys.readouterr().out
    for bad, message in ((["--num-frames", "10", "--s", "0"], "unsafe"), (["--s", "1", "--cfg-scale", "2"],
                                                                           "--cfg-scale=2.0 needs --label"),
                         (["--s", "9"], r"--s must be in \[0, 4\], got 9")):
        assert sample_main(common + bad + ["--out", str(tmp_path / "e.npy")]) == 1
        assert message.split("\\")[0][:10] in capsys.readouterr().err
    assert sample_main(common + ["--out", str(tmp_path / "x.avi")]) == 1
    assert not (tmp_path / "e.npy").exists()


def test_choose_threads_measures_and_sets_the_faster_count(pipe, tiny_checkpoint, tmp_path, capsys):
    from ardiff_edu.pipeline import choose_threads

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        best = choose_threads(pipe, num_videos=2)
        assert best in (1, 2) and torch.get_num_threads() == best
        torch.set_num_threads(1)
        assert choose_threads(pipe, num_videos=2) == 1                  # nothing to choose from
    finally:
        torch.set_num_threads(before)
    assert sample_main(["--checkpoint", str(tiny_checkpoint), "--threads", "zero", "--num-steps", "2", "--s", "1",
                        "--out", str(tmp_path / "a.npy"), "--no-progress"]) == 1
    assert "--threads must be an integer >= 1, got 'zero'" in capsys.readouterr().err


def test_every_shipped_checkpoint_names_a_preset_that_reproduces_its_recipe():
    """The recipe of each shipped DiT is a preset of today's code (plus the flags its commands record)."""
    from dataclasses import asdict
    from pathlib import Path

    from ardiff_edu.checkpoint import load_file
    from ardiff_edu.config import PRESETS
    from ardiff_edu.pipeline import DEFAULT_CHECKPOINT

    flags = {"timesteps", "precision", "keep_every"}    # set on the command lines that make_all.sh records
    paths = [Path(DEFAULT_CHECKPOINT), *sorted((Path(DEFAULT_CHECKPOINT).parent / "ablation").glob("*.pt"))]
    for path in paths:
        saved = load_file(path)["config"]
        preset = asdict(PRESETS[saved["name"]])
        differ = {k for k in saved if k in preset and saved[k] != preset[k] and k not in flags | {"name"}}
        assert not differ, f"{path.name}: {sorted(differ)} differ from its preset"
        meta = load_file(path)["meta"]
        assert (meta["steps"], meta["tokenizer_steps"]) == (preset["steps"], preset["tok_steps"]), path.name


def test_the_shipped_fine_tune_is_balls_pt_trained_on_with_per_frame_noise():
    """``balls-independent.pt``: ``balls.pt``'s tokenizer and model, trained 3000 more steps with independent
    per-frame timesteps, as its record says (the command is in data/checkpoints/README.md)."""
    from ardiff_edu.checkpoint import load_file
    from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, check_same_latents

    path = DEFAULT_CHECKPOINT.parent / "balls-independent.pt"
    saved, base = load_file(path), load_file(DEFAULT_CHECKPOINT)
    cfg, meta = saved["config"], saved["meta"]
    assert (cfg["name"], cfg["timesteps"], cfg["steps"], cfg["lr"], cfg["warmup"]) == ("balls", "independent", 3000,
                                                                                        1e-4, 100)
    assert meta["steps"] == 3000 and meta["init_from"]["steps"] == base["meta"]["steps"]
    assert all("--init-from data/checkpoints/balls.pt --timesteps independent" in c for c in meta["commands"])
    assert all(torch.equal(saved["tokenizer"][k], base["tokenizer"][k]) for k in base["tokenizer"])
    assert any(not torch.equal(saved["dit"][k], base["dit"][k]) for k in base["dit"])
    check_same_latents(load_pipeline(DEFAULT_CHECKPOINT), load_pipeline(path))    # so one can guide the other


def test_the_16_channel_model_and_its_weaker_model_are_one_run():
    """``balls-16ch.pt`` and ``balls-16ch-step6000.pt``: one run of the ablation recipe with 16 channels per token and
    per-frame independent timesteps, trained from scratch (commands in data/checkpoints/README.md), the weaker file its
    6000-step state: the same tokenizer and latents, so that it can guide the first's frame 0."""
    from ardiff_edu.checkpoint import load_file
    from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, check_same_latents

    path, weak = (DEFAULT_CHECKPOINT.parent / f"balls-16ch{suffix}.pt" for suffix in ("", "-step6000"))
    saved, early = load_file(path), load_file(weak)
    for record in (saved, early):
        cfg = record["config"]
        assert (cfg["name"], cfg["token_dim"], cfg["timesteps"], cfg["lr_schedule"], cfg["seed"], cfg["init_from"]) == (
            "ablation", 16, "independent", "constant", 0, None)
        commands = record["meta"]["commands"]                           # the run's, the weaker file's included
        assert commands and all("--token-dim 16 --timesteps independent" in c for c in commands)
    assert saved["meta"]["steps"] == saved["config"]["steps"] > early["meta"]["steps"] == 6000
    assert all(torch.equal(saved["tokenizer"][k], early["tokenizer"][k]) for k in saved["tokenizer"])
    assert any(not torch.equal(saved["dit"][k], early["dit"][k]) for k in saved["dit"])
    base = load_file(DEFAULT_CHECKPOINT)["tokenizer"]
    assert any(saved["tokenizer"][k].shape != base[k].shape for k in base)      # its own tokenizer, not balls.pt's
    check_same_latents(load_pipeline(path), load_pipeline(weak))


def test_the_cooled_16_channel_model_is_that_run_longer_then_cooled_down():
    """``balls-16ch-cooled.pt``: the run of ``balls-16ch.pt`` continued to 24 000 steps, exported, then trained 3000
    steps from that export with the LR warmed up over 100 steps and decayed to 0 on a cosine, as its record says
    (commands in data/checkpoints/README.md): ``balls-16ch.pt``'s tokenizer and latents, so that the same 6000-step
    state guides its frame 0, and other DiT weights."""
    from ardiff_edu.checkpoint import load_file
    from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, check_same_latents

    path, shipped, weak = (DEFAULT_CHECKPOINT.parent / f"balls-16ch{suffix}.pt"
                           for suffix in ("-cooled", "", "-step6000"))
    saved, base = load_file(path), load_file(shipped)
    cfg, meta = saved["config"], saved["meta"]
    assert (cfg["name"], cfg["token_dim"], cfg["timesteps"], cfg["lr_schedule"], cfg["warmup"], cfg["steps"],
            cfg["lr"], cfg["seed"]) == ("ablation", 16, "independent", "cosine", 100, 3000, base["config"]["lr"], 0)
    assert meta["steps"] == 3000 and meta["init_from"]["steps"] == 24000
    run = meta["init_from"]["commands"]                  # the 24 000-step export: the 12 000-step run, continued
    assert [c.split("--steps ")[1].split()[0] for c in run] == ["12000", "24000"]
    assert all("--token-dim 16 --timesteps independent --precision bf16" in c for c in run)
    assert all(f"--init-from {cfg['init_from']} --lr-schedule cosine --warmup 100 --steps 3000" in c
               for c in meta["commands"])
    assert all(torch.equal(saved["tokenizer"][k], base["tokenizer"][k]) for k in base["tokenizer"])
    assert any(not torch.equal(saved["dit"][k], base["dit"][k]) for k in base["dit"])
    check_same_latents(load_pipeline(path), load_pipeline(weak))


def _weaker(pipe):
    """Another model of the same latents: the same tokenizer and normalisation, other DiT weights."""
    weak = copy.deepcopy(pipe)
    torch.manual_seed(0)
    for p in weak.model.parameters():
        p.data.add_(0.1 * torch.randn_like(p))
    return weak


def test_autoguidance_changes_the_videos_and_needs_a_pipeline_of_the_same_latents(pipe):
    weak = _weaker(pipe)
    plain = generate(pipe, 2, 6, s=2, num_steps=4, seed=1)
    guided = generate(pipe, 2, 6, s=2, num_steps=4, seed=1, autoguide=weak, autoguide_scale=3.0)
    assert guided.shape == plain.shape and not np.array_equal(guided, plain)
    assert np.array_equal(generate(pipe, 2, 6, s=2, num_steps=4, seed=1, autoguide=weak, autoguide_scale=1.0), plain)
    nudged = copy.deepcopy(weak)                   # a fine-tune re-measures the normalisation: 0.5 % of a std is fine
    nudged.latent_mean = nudged.latent_mean + 0.005 * pipe.latent_std
    generate(pipe, 1, 4, s=1, num_steps=4, autoguide=nudged, autoguide_scale=2.0)
    other_decoder = copy.deepcopy(weak)            # the decoder does not make the latents: another one is fine
    next(other_decoder.tokenizer.decoder.parameters()).data.add_(1.0)
    generate(pipe, 1, 4, s=1, num_steps=4, autoguide=other_decoder, autoguide_scale=2.0)
    other_norm, other_tok = copy.deepcopy(weak), copy.deepcopy(weak)
    other_norm.latent_mean = other_norm.latent_mean + 0.02 * pipe.latent_std
    next(other_tok.tokenizer.parameters()).data.add_(1.0)
    for other, message in ((other_norm, "these differ: latent normalisation"),
                           (other_tok, "these differ: encoder weights"), (pipe.model, "must be a Pipeline")):
        with pytest.raises(ValueError, match=message):
            generate(pipe, 1, 4, s=1, num_steps=4, autoguide=other, autoguide_scale=2.0)


def test_sample_command_with_autoguidance(pipe, tiny_checkpoint, tmp_path, capsys):
    weak_file = tmp_path / "weak.pt"
    ck = torch.load(tiny_checkpoint, weights_only=False)
    torch.manual_seed(0)
    ck["dit"] = {k: v + 0.1 * torch.randn_like(v) if v.is_floating_point() else v for k, v in ck["dit"].items()}
    torch.save(ck, weak_file)
    common = ["--checkpoint", str(tiny_checkpoint), "--num-frames", "6", "--s", "2", "--num-steps", "4",
              "--num-videos", "2", "--seed", "1", "--no-progress"]
    assert sample_main(common + ["--autoguide", str(weak_file), "--autoguide-scale", "3", "--out",
                                 str(tmp_path / "g.npy")]) == 0
    expected = generate(pipe, 2, 6, s=2, num_steps=4, seed=1, autoguide=load_pipeline(weak_file),
                        autoguide_scale=3.0)
    assert np.array_equal(np.load(tmp_path / "g.npy"), expected)
    assert sample_main(common + ["--autoguide-scale", "2", "--out", str(tmp_path / "h.npy")]) == 1
    assert "--autoguide-scale=2.0 needs --autoguide" in capsys.readouterr().err
    assert not (tmp_path / "h.npy").exists()


def test_sample_command_draws_frame_0_with_a_model_of_one_frame(pipe, tiny_checkpoint, one_frame_checkpoint, tmp_path,
                                                                 capsys):
    """sample --first-frame: the videos of generate(first_frame=...), which differ from the plain ones; a model of
    other latents or of more than one frame is refused and nothing is written."""
    one = load_pipeline(one_frame_checkpoint)
    expected = generate(pipe, 2, 6, s=2, num_steps=4, seed=1, first_frame=one)
    assert not np.array_equal(expected, generate(pipe, 2, 6, s=2, num_steps=4, seed=1))
    common = ["--checkpoint", str(tiny_checkpoint), "--num-frames", "6", "--s", "2", "--num-steps", "4",
              "--num-videos", "2", "--seed", "1", "--no-progress"]
    assert sample_main(common + ["--first-frame", str(one_frame_checkpoint), "--out", str(tmp_path / "g.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "g.npy"), expected)
    assert sample_main(common + ["--first-frame", str(tiny_checkpoint), "--out", str(tmp_path / "h.npy")]) == 1
    assert "is a model of 8 frames, not of one frame" in capsys.readouterr().err
    assert not (tmp_path / "h.npy").exists()
    other = copy.deepcopy(one)
    next(other.tokenizer.parameters()).data.add_(1.0)
    with pytest.raises(ValueError, match="first_frame must diffuse the same latents as the model; these differ: "
                                         "encoder weights"):
        generate(pipe, 1, 4, s=1, num_steps=4, first_frame=other)


def _sample_command_gives(checkpoint, tmp_path, capsys, flag, good, expected, bad, message):
    """``sample FLAG GOOD`` writes ``expected`` (the videos of seed 1, 6 frames, s = 2, S = 4); ``FLAG BAD`` fails
    with ``message`` and writes nothing."""
    common = ["--checkpoint", str(checkpoint), "--num-frames", "6", "--s", "2", "--num-steps", "4",
              "--num-videos", str(len(expected)), "--seed", "1", "--no-progress"]
    assert sample_main(common + [flag, good, "--out", str(tmp_path / "good.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "good.npy"), expected)
    assert sample_main(common + [flag, bad, "--out", str(tmp_path / "bad.npy")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "bad.npy").exists()


def test_temperature_reaches_the_sampler_from_generate_and_the_sample_command(pipe, tiny_checkpoint, tmp_path, capsys):
    plain = generate(pipe, 2, 6, s=2, num_steps=4, seed=1, return_latents=True)[1]
    cooled, latents = generate(pipe, 2, 6, s=2, num_steps=4, seed=1, temperature=0.8, return_latents=True)
    assert not torch.allclose(latents[:, 1:], plain[:, 1:], atol=1e-4)
    schedule = ad_schedule(6, 4, 2, pipe.config.num_frames, pipe.noise_schedule.T, "raise")
    noise = torch.randn((2, 6, pipe.model.num_tokens, pipe.model.token_dim), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(latents, ddim_sample(pipe.model, schedule, noise, pipe.noise_schedule, temperature=0.8))
    _sample_command_gives(tiny_checkpoint, tmp_path, capsys, "--temperature", "0.8", cooled, "0",
                          "--temperature must be in (0.0, 2.0], got 0")


def test_eta_reaches_the_sampler_from_generate_and_the_sample_command(pipe, tiny_checkpoint, tmp_path, capsys):
    plain = generate(pipe, 3, 6, s=2, num_steps=4, seed=1, return_latents=True)[1]
    videos, latents = generate(pipe, 3, 6, s=2, num_steps=4, seed=1, eta=1.0, return_latents=True)
    assert not torch.allclose(latents, plain, atol=1e-4)
    # the fresh noise comes from the seed's generator after the starting noise, one draw per (video, frame, step)
    gen = torch.Generator().manual_seed(1)
    noise = torch.randn((3, 6, pipe.model.num_tokens, pipe.model.token_dim), generator=gen)
    step_eps = torch.randn((3, 6, 4, *noise.shape[2:]), generator=gen)
    schedule = ad_schedule(6, 4, 2, pipe.config.num_frames, pipe.noise_schedule.T, "raise")
    torch.testing.assert_close(latents, ddim_sample(pipe.model, schedule, noise, pipe.noise_schedule, eta=1.0,
                                                    step_eps=step_eps))
    # a video does not depend on the batch it was drawn in
    one_by_one = generate(pipe, 3, 6, s=2, num_steps=4, seed=1, eta=1.0, batch_size=1, return_latents=True)[1]
    torch.testing.assert_close(one_by_one, latents, rtol=1e-5, atol=1e-5)
    _sample_command_gives(tiny_checkpoint, tmp_path, capsys, "--eta", "1", videos, "1.5",
                          "--eta must be in [0.0, 1.0], got 1.5")


def test_history_guidance_reaches_the_sampler_from_generate_and_the_sample_command(pipe, tiny_checkpoint, tmp_path,
                                                                                   capsys):
    plain = generate(pipe, 2, 6, s=2, num_steps=4, seed=1)
    guided, latents = generate(pipe, 2, 6, s=2, num_steps=4, seed=1, history_guidance=2.0, return_latents=True)
    assert guided.shape == plain.shape and not np.array_equal(guided, plain)
    schedule = ad_schedule(6, 4, 2, pipe.config.num_frames, pipe.noise_schedule.T, "raise")
    noise = torch.randn((2, 6, pipe.model.num_tokens, pipe.model.token_dim), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(latents, ddim_sample(pipe.model, schedule, noise, pipe.noise_schedule,
                                                    history_guidance=2.0))
    common = ["--checkpoint", str(tiny_checkpoint), "--num-frames", "6", "--s", "2", "--num-steps", "4",
              "--num-videos", "2", "--seed", "1", "--no-progress"]
    assert sample_main(common + ["--history-guidance", "2", "--out", str(tmp_path / "g.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "g.npy"), guided)
    assert sample_main(common + ["--history-guidance", "-1", "--out", str(tmp_path / "h.npy")]) == 1
    assert "--history-guidance must be >= 0.0, got -1" in capsys.readouterr().err
    assert not (tmp_path / "h.npy").exists()
    half = pipe.noise_schedule.T // 2                   # the interval: only frames labelled t < half are guided
    interval, between = generate(pipe, 2, 6, s=2, num_steps=4, seed=1, history_guidance=2.0,
                                 history_guidance_max_t=half, return_latents=True)
    unguided = generate(pipe, 2, 6, s=2, num_steps=4, seed=1, return_latents=True)[1]
    assert not torch.allclose(between, latents, atol=1e-4) and not torch.allclose(between, unguided, atol=1e-4)
    assert sample_main(common + ["--history-guidance", "2", "--history-guidance-max-t", str(half),
                                 "--out", str(tmp_path / "i.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "i.npy"), interval)
    assert sample_main(common + ["--history-guidance-max-t", str(half), "--out", str(tmp_path / "j.npy")]) == 1
    assert f"history_guidance_max_t={half} limits history guidance" in capsys.readouterr().err
    assert not (tmp_path / "j.npy").exists()


def test_sample_and_evaluate_declare_the_same_guidance_options():
    """Both commands take their guidance options from add_guidance_arguments: same flags, types and defaults, and the
    defaults mean "no guidance" (load_autoguide gives weight 1 without a path; history weight 1)."""
    from ardiff_edu.cli import sample_parser
    from ardiff_edu.evaluate import build_parser

    def options(parser):
        return {a.dest: (a.type, a.default) for a in parser._actions
                if a.dest in ("autoguide", "autoguide_scale", "first_frame", "history_guidance",
                              "history_guidance_max_t")}

    assert options(sample_parser()) == options(build_parser()) == {
        "autoguide": (Path, None), "autoguide_scale": (float, None), "first_frame": (Path, None),
        "history_guidance": (float, 1.0), "history_guidance_max_t": (int, None)}
    args = build_parser().parse_args(["--autoguide-scale", "2", "--history-guidance", "1.25",
                                      "--history-guidance-max-t", "500"])
    assert (args.autoguide, args.autoguide_scale, args.history_guidance) == (None, 2.0, 1.25)
    assert args.history_guidance_max_t == 500
    assert load_autoguide(None, None) == (None, 1.0)
