"""The evaluate command and its protocol: fixed real clips and noise, sanity rows, equal-NFE controls, video
prediction against the simulator, drift per segment, FVD plumbing, JSON + Markdown + plots, the claims table."""

import json
import shutil

import numpy as np
import pytest
import torch

from ardiff_edu.ad import ad_nfe
from ardiff_edu.evaluate import main
from ardiff_edu.pipeline import AUTOGUIDE_SCALE, load_pipeline
from ardiff_edu.protocol import SANITY, equal_nfe_steps, ground_truth, run_task
from ardiff_edu.results import claims, claims_markdown, load_json, markdown_table, merge, text_table

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")      # torch.jit: the I3D file format


def test_equal_nfe_control_spends_the_same_calls():
    assert equal_nfe_steps(16, 20, 5) == 20 + 15 * 5 == ad_nfe(16, 95, 0)
    S = equal_nfe_steps(64, 20, 5, window=16)
    assert abs(ad_nfe(64, S, 0, 16, "wait") - ad_nfe(64, 20, 5, 16)) <= 2
    S = equal_nfe_steps(16, 20, 5, prefix_frames=4)
    assert ad_nfe(16, S, 0, prefix_frames=4) == ad_nfe(16, 20, 5, prefix_frames=4)


def test_generate_rows_sanity_and_control(tiny_checkpoint):
    pipe = load_pipeline(tiny_checkpoint)
    res = run_task("generate", {"a": pipe, "b": pipe}, s_values=(0, 2), num_videos=3, num_frames=16, num_steps=3,
                   control_s=2, num_boot=20)
    names = [r["name"] for r in res["rows"]]
    assert names[:2] == list(SANITY[:2]) and names[-4:] == list(SANITY[2:])
    gen = [r for r in res["rows"] if r.get("checkpoint") == "a"]
    assert [(r["s"], r["S"], r["group"]) for r in gen] == [(0, 3, "generated"), (2, 3, "generated"),
                                                          (0, equal_nfe_steps(16, 3, 2, 8), "control")]
    assert abs(gen[2]["nfe"] - ad_nfe(16, 3, 2, 8, "wait")) <= 1     # s=0 at window 8 spends 2·S: even only
    # the same weights and the same noise give the same numbers
    a = {r["name"].split(" ", 1)[1]: r["values"] for r in res["rows"] if r.get("checkpoint") == "a"}
    b = {r["name"].split(" ", 1)[1]: r["values"] for r in res["rows"] if r.get("checkpoint") == "b"}
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    real = res["rows"][0]
    assert real["values"]["match_frac"] > 0.8 and real["ci"]["match_frac"][0] <= real["values"]["match_frac"]
    ref = res["protocol"]["reference"]
    assert ref.startswith("256 held-out") and ref.endswith("+ 1000") and res["protocol"]["bootstrap"]["draws"] == 20


def test_predict_rows_use_the_simulator(tiny_checkpoint):
    pipe = load_pipeline(tiny_checkpoint)
    _, state = ground_truth(pipe, 3, 12, seed=1)
    assert state is not None and state["positions"].shape[:2] == (3, 12)
    res = run_task("predict", {"tiny": pipe}, s_values=(1,), num_videos=3, num_frames=12, num_steps=3, given=4,
                   seed=1, num_boot=20)
    rows = {r["name"]: r for r in res["rows"]}
    floor = rows["simulator frames (floor)"]
    assert floor["values"]["psnr"] == pytest.approx(100.0) and floor["values"]["ssim"] == pytest.approx(1.0)
    assert len(floor["curves"]["position_error"]) == 8                       # 12 frames, 4 given
    assert rows["black frames"]["values"]["position_error"] == pytest.approx(8.0)
    assert rows["extrapolate tracked balls"]["values"]["position_error"] < \
        rows["copy last given frame"]["values"]["position_error"]


def test_drift_rows_per_segment(tiny_checkpoint):
    pipe = load_pipeline(tiny_checkpoint)
    res = run_task("drift", {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=24, num_steps=3,
                   context_noise=(0, 50), num_boot=10)
    assert [r["name"] for r in res["rows"]] == ["real", "tiny s=1 S=3", "tiny s=1 S=3 ctx=50"]
    assert res["rows"][0]["starts"] == [0, 8, 16] and len(res["rows"][2]["curves"]["match_frac"]) == 3
    assert "frames 0–15" in markdown_table(res) and text_table(res).splitlines()[0].startswith("row")


def test_autoguided_rows_are_named_and_recorded_and_predict_refuses_them(tiny_checkpoint):
    pipe, weak = load_pipeline(tiny_checkpoint), load_pipeline(tiny_checkpoint)
    torch.manual_seed(0)
    for p in weak.model.parameters():
        p.data.add_(0.1 * torch.randn_like(p))
    res = run_task("generate", {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=8, num_steps=3, num_boot=10,
                   sanity=False, autoguide=weak, autoguide_scale=2.0, autoguide_path="weak.pt")
    assert [r["name"] for r in res["rows"]] == ["tiny s=1 S=3 autoguide=2"]
    assert res["rows"][0]["autoguide_scale"] == 2.0
    assert res["protocol"]["autoguide"] == {"path": "weak.pt", "scale": 2.0, "frames": "the first frame of every video"}
    plain = run_task("generate", {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=8, num_steps=3, num_boot=10,
                     sanity=False)
    assert plain["protocol"]["autoguide"] is None and plain["rows"][0]["name"] == "tiny s=1 S=3"
    with pytest.raises(ValueError, match="which the predict task gives"):
        run_task("predict", {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=8, num_steps=3, given=2,
                 num_boot=10, autoguide=weak, autoguide_scale=2.0)
    with pytest.raises(ValueError, match="--autoguide-scale=2.0 needs --autoguide"):
        main(["--checkpoint", str(tiny_checkpoint), "--autoguide-scale", "2", "--num-videos", "2"])


def test_a_model_of_the_first_frame_is_named_recorded_and_refused_by_predict(tiny_checkpoint, one_frame_checkpoint,
                                                                             tmp_path):
    """evaluate --first-frame: the rows carry ``first_frame`` in their name and the protocol its path; a checkpoint of
    more than one frame is refused before anything is written, and predict refuses a model of the given frame."""
    out = tmp_path / "ff.json"
    common = ["--checkpoint", str(tiny_checkpoint), "--s", "1", "--num-videos", "2", "--num-frames", "8",
              "--num-steps", "3", "--num-boot", "10", "--videonet", "none", "--no-progress"]
    assert main(common + ["--first-frame", str(one_frame_checkpoint), "--autoguide", str(tiny_checkpoint),
                          "--out", str(out)]) == 0
    result = load_json(out)
    assert result["protocol"]["first_frame"] == {"path": str(one_frame_checkpoint)}
    generated = [r["name"] for r in result["rows"] if r["group"] == "generated"]
    assert generated == [f"tiny s=1 S=3 first_frame autoguide={AUTOGUIDE_SCALE:g}"]
    with pytest.raises(ValueError, match="is a model of 8 frames, not of one frame"):
        main(common + ["--first-frame", str(tiny_checkpoint), "--out", str(tmp_path / "no.json")])
    assert not (tmp_path / "no.json").exists()
    pipe = load_pipeline(tiny_checkpoint)
    with pytest.raises(ValueError, match="first_frame acts on the first frame, which the predict task gives"):
        run_task("predict", {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=8, num_steps=3, given=2,
                 num_boot=10, first_frame=load_pipeline(one_frame_checkpoint))


def test_the_command_line_autoguides_with_the_default_weight(tiny_checkpoint, tmp_path):
    out = tmp_path / "ag.json"
    assert main(["--checkpoint", str(tiny_checkpoint), "--autoguide", str(tiny_checkpoint), "--s", "1",
                 "--num-videos", "2", "--num-frames", "8", "--num-steps", "3", "--num-boot", "10",
                 "--videonet", "none", "--no-progress", "--out", str(out)]) == 0
    result = load_json(out)
    assert result["protocol"]["autoguide"]["scale"] == AUTOGUIDE_SCALE and "--autoguide" in result["command"]
    generated = [r["name"] for r in result["rows"] if r["group"] == "generated"]
    assert generated == [f"tiny s=1 S=3 autoguide={AUTOGUIDE_SCALE:g}"]


def test_history_guided_rows_are_named_and_recorded_in_every_task(tiny_checkpoint, tmp_path):
    pipe = load_pipeline(tiny_checkpoint)
    for task, expected in (("generate", "tiny s=1 S=3 history=2"), ("predict", "tiny s=1 S=3 history=2"),
                           ("drift", "tiny s=1 S=3 history=2")):
        res = run_task(task, {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=8 if task != "drift" else 24,
                       num_steps=3, num_boot=10, sanity=False, given=2, history_guidance=2.0)
        got = [r for r in res["rows"] if r["group"] in ("generated", "control")]
        assert [r["name"] for r in got] == [expected] and got[0]["history_guidance"] == 2.0
        assert res["protocol"]["history_guidance"] == 2.0
    out = tmp_path / "hg.json"
    assert main(["--checkpoint", str(tiny_checkpoint), "--history-guidance", "2", "--s", "1", "--num-videos", "2",
                 "--num-frames", "8", "--num-steps", "3", "--num-boot", "10", "--videonet", "none", "--no-progress",
                 "--out", str(out)]) == 0
    assert load_json(out)["protocol"]["history_guidance"] == 2.0
    with pytest.raises(ValueError, match=r"history_guidance must be >= 0.0, got -1"):
        run_task("generate", {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=8, num_steps=3, num_boot=10,
                 history_guidance=-1.0)
    half = pipe.noise_schedule.T // 2
    res = run_task("drift", {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=24, num_steps=3, num_boot=10,
                   history_guidance=2.0, history_guidance_max_t=half)
    got = [r for r in res["rows"] if r["group"] == "generated"]
    assert [r["name"] for r in got] == [f"tiny s=1 S=3 history=2 t<{half}"]
    assert got[0]["history_guidance_max_t"] == res["protocol"]["history_guidance_max_t"] == half
    for w, bad, message in ((2.0, 0, rf"history_guidance_max_t must be in \[1, {pipe.noise_schedule.T}\], got 0"),
                            (1.0, half, rf"history_guidance_max_t={half} needs a history guidance weight")):
        with pytest.raises(ValueError, match=message):
            run_task("generate", {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=8, num_steps=3,
                     num_boot=10, history_guidance=w, history_guidance_max_t=bad)


@pytest.mark.parametrize("option,value,plain,bad,message", [
    ("temperature", 0.8, 1.0, 3.0, r"temperature must be in \(0.0, 2.0\], got 3"),
    ("eta", 0.5, 0.0, -1.0, r"eta must be in \[0.0, 1.0\], got -1")])
def test_sampler_option_rows_are_named_and_recorded_in_every_task(tiny_checkpoint, tmp_path, option, value, plain,
                                                                   bad, message):
    """A sampler option (the temperature, DDIM's η) reaches every task, names its rows, is recorded in the protocol
    and the command, and a bad value is refused before anything is generated."""
    pipe = load_pipeline(tiny_checkpoint)
    for task in ("generate", "predict", "drift"):
        res = run_task(task, {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=8 if task != "drift" else 24,
                       num_steps=3, num_boot=10, sanity=False, given=2, **{option: value})
        got = [r for r in res["rows"] if r["group"] == "generated"]
        assert [r["name"] for r in got] == [f"tiny s=1 S=3 {option}={value:g}"] and got[0][option] == value
        assert res["protocol"][option] == value
    default = run_task("generate", {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=8, num_steps=3,
                       num_boot=10, sanity=False)
    assert [r["name"] for r in default["rows"]] == ["tiny s=1 S=3"] and default["protocol"][option] == plain
    out = tmp_path / f"{option}.json"
    flag = f"--{option}"
    assert main(["--checkpoint", str(tiny_checkpoint), flag, str(value), "--s", "1", "--num-videos", "2",
                 "--num-frames", "8", "--num-steps", "3", "--num-boot", "10", "--videonet", "none", "--no-progress",
                 "--out", str(out)]) == 0
    assert load_json(out)["protocol"][option] == value and f"{flag} {value:g}" in load_json(out)["command"]
    with pytest.raises(ValueError, match=message):
        run_task("generate", {"tiny": pipe}, s_values=(1,), num_videos=2, num_frames=8, num_steps=3, num_boot=10,
                 **{option: bad})


class StandInI3D(torch.nn.Module):
    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        return torch.stack([x.mean((1, 2, 3, 4)), x.std((1, 2, 3, 4)), x[:, 0].mean((1, 2, 3))], dim=1)


def test_the_command_line_writes_json_markdown_plots_and_a_report(tiny_checkpoint, tmp_path, capsys):
    i3d = tmp_path / "i3d_torchscript.pt"
    torch.jit.script(StandInI3D()).save(str(i3d))
    other = tmp_path / "fopp.pt"
    shutil.copy(tiny_checkpoint, other)
    common = ["--num-videos", "3", "--num-steps", "2", "--num-boot", "10", "--no-progress", "--videonet", "none",
              "--num-reference", "4"]
    assert main(["--checkpoint", str(other), "--s", "0", "2", "--num-frames", "16", "--control-s", "2",
                 "--i3d-weights", str(i3d), "--out", str(tmp_path / "g.json"), "--plots", *common]) == 0
    out = capsys.readouterr().out
    assert "fopp s=2 S=2" in out and "uniform noise" in out
    saved = load_json(tmp_path / "g.json")
    assert saved["command"].startswith("python -m ardiff_edu evaluate --checkpoint")
    assert saved["protocol"]["i3d"]["feature_dim"] == 3 and saved["protocol"]["i3d"]["weights"] == i3d.name
    assert "not comparable to published FVD" in saved["protocol"]["i3d"]["note"]
    assert all("fvd_i3d" in r["values"] for r in saved["rows"])
    real = next(r for r in saved["rows"] if r["name"] == "real")
    noise = next(r for r in saved["rows"] if r["name"] == "uniform noise")
    assert noise["values"]["fvd_i3d"] > real["values"]["fvd_i3d"]
    assert "| real |" in (tmp_path / "g.md").read_text() and (tmp_path / "g_match_frac.png").stat().st_size > 0
    assert main(["--task", "predict", "--checkpoint", str(other), "--s", "2", "--num-frames", "12",
                 "--out", str(tmp_path / "p.json"), *common]) == 0
    assert main(["--report", str(tmp_path / "g.json"), str(tmp_path / "p.json"), "--out",
                 str(tmp_path / "all.json"), "--plot-s", "2"]) == 0
    report = load_json(tmp_path / "all.json")
    assert set(report["tasks"]) == {"generate16", "predict12"}
    assert (tmp_path / "generate_fvd_i3d.png").is_file() and (tmp_path / "predict_psnr.png").is_file()
    assert "## Claims" in (tmp_path / "all.md").read_text()
    with pytest.raises(ValueError, match="does not exist"):
        main(["--checkpoint", str(tiny_checkpoint) + ".missing", *common])
    with pytest.raises(ValueError, match="--out"):
        main(["--report", str(tmp_path / "g.json")])


def fake_report(fopp_fd, independent_fd):
    """A report with just the rows two claims read: FD values with intervals of +-0.1."""
    def r(ck, s, fd):
        return {"group": "generated", "name": f"{ck} s={s} S=20", "checkpoint": ck, "s": s, "S": 20,
                "values": {"fd_videonet": fd}, "ci": {"fd_videonet": [fd - 0.1, fd + 0.1]}}
    rows = [r("fopp", s, fopp_fd) for s in (0, 5)] + [r("independent", s, independent_fd) for s in (0, 5)]
    return merge([{"task": "generate", "protocol": {"num_frames": 16, "num_steps": 20}, "rows": rows}])


def test_claim_verdicts_follow_the_intervals():
    first = lambda report: claims(report)[0]["verdict"]                   # noqa: E731
    assert first(fake_report(1.0, 2.0)) == "holds"
    assert first(fake_report(2.0, 1.0)) == "does not hold"
    assert first(fake_report(1.0, 1.15)) == "no clear difference"
    table = claims_markdown(fake_report(1.0, 2.0))
    assert "**holds**" in table and "not measured" in table              # rows this report lacks
    assert all(c["verdict"] == "not measured" for c in claims(merge([])))


def test_results_json_is_strict(tiny_checkpoint, tmp_path):
    pipe = load_pipeline(tiny_checkpoint)
    res = run_task("generate", {"t": pipe}, s_values=(1,), num_videos=2, num_frames=8, num_steps=2, num_boot=5)
    from ardiff_edu.results import save_json

    save_json(res, tmp_path / "r.json")
    text = (tmp_path / "r.json").read_text()
    black = next(r for r in json.loads(text)["rows"] if r["name"] == "black frames")
    assert "NaN" not in text and black["values"]["match_frac"] is None   # nothing tracked: null, not NaN
    assert np.isnan(next(r for r in res["rows"] if r["name"] == "black frames")["values"]["match_frac"])


def test_the_ball_count_distribution_and_the_quality_table():
    from ardiff_edu.data import bouncing_balls
    from ardiff_edu.protocol import Scorer
    from ardiff_edu.results import quality_markdown

    real = bouncing_balls(8, num_frames=8, seed=1)
    got = Scorer(real, videonet=None, num_boot=50).score(real)
    shares = [got["values"][f"balls_{k}"] for k in range(5)]
    assert abs(sum(shares) - 1) < 1e-9 and shares[0] == 0 and shares[4] == 0     # 1-3 balls, never none or 4+
    assert got["ci"]["balls_1"][0] <= shares[1] <= got["ci"]["balls_1"][1]
    table = quality_markdown({"rows": [{"name": "real", **got}]}).splitlines()
    assert table[0].startswith("| clips | match_frac") and table[2].startswith("| real | ")
    assert table[2].count(" / ") == 4


def test_merge_combines_arms_scored_in_separate_runs(tiny_checkpoint):
    pipe = load_pipeline(tiny_checkpoint)
    kw = dict(s_values=(1,), num_videos=2, num_frames=8, num_steps=2, num_boot=5)
    both = run_task("generate", {"a": pipe, "b": pipe}, **kw)
    one, two = ({"command": f"run {k}", **run_task("generate", {k: pipe}, **kw)} for k in ("a", "b"))
    merged = merge([one, two])["tasks"]["generate8"]
    strip = lambda rows: sorted(str((r["name"], r.get("checkpoint"), r["values"])) for r in rows)   # noqa: E731
    assert strip(merged["rows"]) == strip(both["rows"])                  # the same rows and values, each once
    assert set(merged["protocol"]["checkpoints"]) == {"a", "b"} and merged["command"] == "run a\nrun b"
    with pytest.raises(ValueError, match="both score checkpoint"):
        merge([one, one])
    other = run_task("generate", {"b": pipe}, **{**kw, "num_steps": 3})
    with pytest.raises(ValueError, match="num_steps is 2 in one and 3"):
        merge([one, other])
