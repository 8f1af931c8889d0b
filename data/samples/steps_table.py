"""One table of quality against training steps, from what ``quality_vs_steps.sh`` wrote into a folder:

    python data/samples/steps_table.py data/samples/steps > data/samples/steps/summary.md

Per snapshot ``dit-stepNNNNNN``: the tracker's numbers of ``evaluate --task generate`` (``NAME.json``: 16 frames,
``s = 5``, ``S = 50``, 64 videos, seed 0, with 95 % intervals) and the two sources of empty frames that
``empty_frames.py`` measured (``NAME.empty.md``: 1024 first frames drawn alone, and the share of empty frames in 128
videos whose first frame has a ball; seed 1). The last row is the held-out real clips of the same protocol.
"""

import re
import sys
from pathlib import Path

from ardiff_edu.results import load_json, with_ci

COLUMNS = ("match_frac", "accel_median", "colour_drift_median", "empty_frac")


def _cell(row: dict, key: str) -> str:
    v, (lo, hi) = row["values"][key], row["ci"][key]
    if key == "empty_frac":
        return f"{100 * v:.0f} % [{100 * lo:.0f}, {100 * hi:.0f}]"
    return with_ci(v, lo, hi)


def _empty_sources(path: Path) -> tuple[str, str]:
    """(empty first frames alone, balls lost on the way) from the last line of an ``empty_frames.py`` table."""
    cells = [c.strip() for c in path.read_text().strip().splitlines()[-1].strip("|").split("|")]
    first_empty = float(cells[1].split("/")[0])
    return f"{100 * first_empty:.1f} %", f"{100 * float(cells[4]):.1f} %"


def main(folder: Path) -> None:
    runs = sorted(folder.glob("dit-step*.json"))
    if not runs:
        sys.exit(f"no dit-step*.json in {folder}: run data/samples/quality_vs_steps.sh first")
    print("| steps | match | median acceleration | median colour change | empty frames "
          "| empty first frames alone (1024) | balls lost on the way |")
    print("|---|---|---|---|---|---|---|")
    real = None
    for path in runs:
        steps = int(re.fullmatch(r"dit-step(\d+)", path.stem).group(1))
        rows = load_json(path)["rows"]
        gen = next(r for r in rows if r["group"] != "sanity")
        real = next(r for r in rows if r["name"] == "real")
        empty = path.with_suffix(".empty.md")
        first, lost = _empty_sources(empty) if empty.is_file() else ("not measured", "not measured")
        print(f"| {steps:,} | " + " | ".join(_cell(gen, k) for k in COLUMNS) + f" | {first} | {lost} |")
    print("| real clips | " + " | ".join(_cell(real, k) for k in COLUMNS) + " | 0 % | 0 % |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python data/samples/steps_table.py FOLDER   (the folder quality_vs_steps.sh wrote)")
    main(Path(sys.argv[1]))
