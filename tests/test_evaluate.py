"""The evaluate command: a fixed protocol, real and generated side by side with sanity rows, JSON + Markdown."""

import shutil

import pytest

from ardiff_edu.evaluate import main, score_pipeline
from ardiff_edu.metrics import KEYS
from ardiff_edu.pipeline import load_pipeline as load_checkpoint


def test_evaluate_and_the_command_line_with_a_checkpoint(tiny_checkpoint, tmp_path, capsys):
    rows, protocol = score_pipeline(load_checkpoint(tiny_checkpoint), s_values=(0, 2), num_videos=2, num_frames=8,
                                    num_steps=3)
    assert list(rows) == ["real 8f", "real, tokenizer only", "generated s=0 S=3", "generated s=2 S=3",
                          "real, frames shuffled", "uniform noise"]
    assert all(set(v) == set(KEYS) for v in rows.values()) and protocol["clips"] == 2
    assert main(["--checkpoint", str(tiny_checkpoint), "--s", "1", "--num-videos", "2", "--num-frames", "8",
                 "--num-steps", "2"]) == 0
    assert "generated s=1 S=2" in capsys.readouterr().out
    # several checkpoints (training snapshots): the real rows once, then one row per checkpoint and s
    other = tmp_path / "snapshot_b.pt"
    shutil.copy(tiny_checkpoint, other)
    assert main(["--checkpoint", str(tiny_checkpoint), str(other), "--s", "0", "1", "--num-videos", "2",
                 "--num-frames", "8", "--num-steps", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:-3]
    steps = load_checkpoint(tiny_checkpoint).meta["steps"]
    a, b = f"{tiny_checkpoint.stem} ({steps} steps)", f"snapshot_b ({steps} steps)"
    assert [line.split("  ")[0] for line in lines] == ["real 8f", "real, tokenizer only", f"{a} s=0 S=2", f"{a} s=1 S=2",
                                                       f"{b} s=0 S=2", f"{b} s=1 S=2"]
    assert lines[2].split()[-10:] == lines[4].split()[-10:]        # the same weights and noise: the same numbers
    with pytest.raises(ValueError, match="does not exist"):
        main(["--checkpoint", str(tiny_checkpoint) + ".missing"])
    # the JSON and the Markdown table, with the command that made them
    assert main(["--checkpoint", str(tiny_checkpoint), "--s", "1", "--num-videos", "2", "--num-frames", "8",
                 "--num-steps", "2", "--no-progress", "--out", str(tmp_path / "r.json")]) == 0
    import json

    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["command"].startswith("python -m ardiff_edu evaluate --checkpoint") and "rows" in saved
    assert "| real 8f |" in (tmp_path / "r.md").read_text()
