"""Evaluation results as files: JSON, Markdown tables, one plot per metric, and the claims table (notebook 09).

A result is what :func:`ardiff_edu.protocol.run_task` returns: ``{"task", "protocol", "rows", "command"}``; a report
merges several (``{"tasks": {"generate16": ..., "predict16": ..., "drift256": ...}}``, named by task and frame count).
:func:`claims` reads a report and decides, for each claim, whether the numbers support it: **holds** when the 95 %
intervals of the two rows it compares do not overlap and the difference points the claimed way, **does not hold**
when they do not overlap and it points the other way, and **no clear difference** otherwise. Non-overlapping
intervals is a conservative test (a real difference can hide behind overlapping ones), so "no clear difference"
means "not shown at this scale", not "shown equal".
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ardiff_edu.figures import FONT, figure_png
from ardiff_edu.utils import atomic_open, atomic_write_bytes

__all__ = ["METRICS", "TABLE_KEYS", "with_ci", "markdown_rows", "quality_markdown", "clean", "save_json", "load_json",
           "merge", "text_table", "markdown_table", "plot_metric", "write_plots", "claims", "claims_markdown",
           "report_markdown", "write_report"]

#: metric -> (title, axis label, which way is better: "lower", "higher" or "real" = closer to the real clips).
METRICS = {
    "fd_videonet": ("toy Fréchet distance in videonet features (not FVD)", "Fréchet distance", "lower"),
    "fvd_i3d": ("FVD (I3D features)", "FVD", "lower"),
    "match_frac": ("tracker: fraction of blobs matched to the next frame", "match fraction", "higher"),
    "accel_median": ("tracker: median acceleration along tracks", "px / frame²", "lower"),
    "colour_drift_median": ("tracker: median colour change of matched blobs", "RGB distance", "lower"),
    "empty_frac": ("tracker: fraction of frames without any blob", "empty fraction", "lower"),
    "speed_median": ("tracker: median speed of matched blobs", "px / frame", "real"),
    "frame_diff": ("mean difference between neighbouring frames", "1/255", "real"),
    "position_error": ("tracked ball-position error against the simulator", "px (lost ball = 8)", "lower"),
    "psnr": ("PSNR against the true continuation", "dB", "higher"),
    "ssim": ("SSIM against the true continuation", "SSIM", "higher"),
    "mae": ("mean absolute error against the true continuation", "1/255", "lower"),
}
#: The columns of each task's table, in order (a metric that was not measured is left out).
TABLE_KEYS = {"generate": ("fd_videonet", "fvd_i3d", "match_frac", "accel_median", "colour_drift_median",
                           "empty_frac", "speed_median", "frame_diff"),
              "predict": ("position_error", "psnr", "ssim", "mae"),
              "drift": ("fd_videonet", "match_frac", "accel_median", "colour_drift_median", "empty_frac")}


def clean(obj):
    """A copy that JSON writes strictly and compactly: NaN and infinities become ``None``, numpy scalars Python
    numbers, floats keep 6 significant digits."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(f"{obj:.6g}") if math.isfinite(obj) else None
    return obj


def save_json(obj, path) -> Path:
    with atomic_open(path, "w") as f:
        json.dump(clean(obj), f, indent=1, allow_nan=False)
    return Path(path)


def load_json(path) -> dict:
    return json.loads(Path(path).read_text())


def _key(result: dict) -> str:
    return f"{result['task']}{result['protocol']['num_frames']}"


def _combine(a: dict, b: dict) -> dict:
    """One task scored in two runs on the same protocol with different checkpoints (say, an arm trained later):
    the union of their rows. Rows without a checkpoint (sanity, baselines) are shared and kept once."""
    pa, pb = a["protocol"], b["protocol"]
    for k in sorted(set(pa) | set(pb)):
        if k != "checkpoints" and pa.get(k) != pb.get(k):
            raise ValueError(f"cannot merge two {_key(a)} results run on different protocols: {k} is "
                             f"{pa.get(k)!r} in one and {pb.get(k)!r} in the other")
    clash = set(pa["checkpoints"]) & set(pb["checkpoints"])
    if clash:
        raise ValueError(f"cannot merge two {_key(a)} results that both score checkpoint(s) {sorted(clash)}")
    names = {r["name"] for r in a["rows"]}
    rows = a["rows"] + [r for r in b["rows"] if r.get("checkpoint") is not None or r["name"] not in names]
    command = "\n".join(r["command"] for r in (a, b) if r.get("command"))     # one line per run
    return {"task": a["task"], **({"command": command} if command else {}),
            "protocol": {**pa, "checkpoints": {**pa["checkpoints"], **pb["checkpoints"]}}, "rows": rows}


def merge(results) -> dict:
    """Several results (dicts or JSON paths; earlier reports are unpacked) → ``{"tasks": {name: result}}``. Two
    results of the same task and frame count are combined row by row when only their checkpoints differ."""
    tasks = {}
    for r in results:
        r = load_json(r) if isinstance(r, (str, Path)) else r
        for one in (r["tasks"].values() if "tasks" in r else [r]):
            key = _key(one)
            tasks[key] = _combine(tasks[key], one) if key in tasks else one
    return {"tasks": tasks}


def _f(v, digits: int = 2) -> str:
    return "nan" if v is None or v != v else f"{v:.{digits}f}"


def with_ci(value, lo, hi) -> str:
    """One table cell: ``value [lo, hi]`` with two decimals (``nan`` for a missing number)."""
    return f"{_f(value)} [{_f(lo)}, {_f(hi)}]"


def markdown_rows(text: str) -> list[list[str]]:
    """The rows of the Markdown tables in ``text`` (header rows included, separator rows not), one list of stripped
    cells per row, with a cell's interval (`` [lo, hi]``, as :func:`with_ci` writes it) dropped: how the notebooks
    and the tests read a committed table back."""
    return [[c.strip().split(" [")[0] for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ")]


def _keys(result: dict) -> list[str]:
    present = {k for r in result["rows"] for k in r.get("values", r.get("curves", {}))}
    return [k for k in TABLE_KEYS[result["task"]] if k in present]


def text_table(result: dict) -> str:
    """The values of a ``generate`` or ``predict`` result (drift: first and last segment) as aligned text."""
    keys, rows = _keys(result), result["rows"]
    if result["task"] == "drift":
        values = [{k: v for key in keys for k, v in ((f"{key}@0", r["curves"][key][0]),
                                                      (f"{key}@end", r["curves"][key][-1]))} for r in rows]
        keys = [f"{k}@{w}" for k in keys for w in ("0", "end")]
    else:
        values = [r["values"] for r in rows]
    name_w = max(len(r["name"]) for r in rows)
    widths = [max(len(k), 6) for k in keys]
    lines = [f"{'row':<{name_w}}  {'NFE':>5}  " + "  ".join(f"{k:>{w}}" for k, w in zip(keys, widths))]
    for r, v in zip(rows, values):
        lines.append(f"{r['name']:<{name_w}}  {r.get('nfe') or '':>5}  "
                     + "  ".join(f"{_f(v.get(k)):>{w}}" for k, w in zip(keys, widths)))
    return "\n".join(lines)


def markdown_table(result: dict) -> str:
    """The result as a Markdown table, every value with its 95 % interval; drift: first and last segment."""
    keys, rows, task = _keys(result), result["rows"], result["task"]
    if task == "drift":
        heads = [f"{k} (frames {w})" for k in keys for w in ("0–15", "last 16")]
        head = "| row | " + " | ".join(heads) + " |"
        lines = [head, "|---|" + "---|" * len(heads)]
        for r in rows:
            cells = [with_ci(r["curves"][k][j], r["curves_ci"][k][0][j], r["curves_ci"][k][1][j])
                     for k in keys for j in (0, -1)]
            lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
        return "\n".join(lines)
    lines = ["| row | NFE | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for r in rows:
        cells = [with_ci(r["values"][k], *r["ci"][k]) if k in r["values"] else "" for k in keys]
        lines.append(f"| {r['name']} | {r.get('nfe') or ''} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------
# plots
# ----------------------------------------------------------------------------------------------------------------
def _err(ax, x, y, lo, hi, **kw):
    y, lo, hi = (np.array([np.nan if v is None else v for v in a], float) for a in (y, lo, hi))
    ax.errorbar(x, y, yerr=[np.maximum(y - lo, 0), np.maximum(hi - y, 0)], capsize=3, **kw)


def _plot_generate(ax, result: dict, key: str) -> None:
    rows = result["rows"]
    s_values = result["protocol"]["s_values"]
    x_of = {s: i for i, s in enumerate(s_values)}
    ctl = result["protocol"].get("control_s")
    for i, name in enumerate(dict.fromkeys(r["checkpoint"] for r in rows if r.get("checkpoint"))):
        mine = [r for r in rows if r.get("checkpoint") == name and r["group"] == "generated" and key in r["values"]]
        dx = (i - 1.5) * 0.06
        _err(ax, [x_of[r["s"]] + dx for r in mine], [r["values"][key] for r in mine],
             [r["ci"][key][0] for r in mine], [r["ci"][key][1] for r in mine], marker="o", ms=4, label=name,
             color=f"C{i}")
        for r in rows:
            if r.get("checkpoint") == name and r["group"] == "control" and key in r["values"]:
                _err(ax, [len(s_values) + dx], [r["values"][key]], [r["ci"][key][0]], [r["ci"][key][1]],
                     marker="s", ms=4, color=f"C{i}", ls="none")
    for name, style in (("real", "-"), ("real, tokenizer only", ":")):
        for r in rows:
            if r["name"] == name and r["values"].get(key) is not None:
                ax.axhline(r["values"][key], color="k", ls=style, lw=1, label=name)
                if name == "real" and None not in r["ci"][key]:
                    ax.axhspan(*r["ci"][key], color="k", alpha=0.08, lw=0)
    labels = [str(s) for s in s_values]
    if ctl is not None:
        steps = next((r["S"] for r in rows if r["group"] == "control"), "?")
        labels.append(f"s=0, S={steps}\n(NFE of s={ctl})")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel(f"AR step s  (S = {result['protocol']['num_steps']})")
    ax.set_title(f"{result['protocol']['num_frames']} frames, {result['protocol']['num_videos']} videos",
                 fontsize=FONT + 1)


#: Colours and line styles of the reference rows of predict and drift plots (the arms get C0, C1, ...).
_REFERENCE_STYLE = {"simulator frames (floor)": ("k", "-"), "real": ("k", "-"), "real, tokenizer only": ("k", ":"),
                    "copy last given frame": ("0.55", "--"), "extrapolate tracked balls": ("tab:brown", "-."),
                    "black frames": ("0.55", ":")}


def _plot_curves(ax, result: dict, key: str, plot_s: int | None) -> None:
    from matplotlib.ticker import MaxNLocator

    rows, task = result["rows"], result["task"]
    arms = list(dict.fromkeys(r["checkpoint"] for r in rows if r.get("checkpoint")))
    levels = list(dict.fromkeys(r.get("context_noise") or 0 for r in rows if r.get("checkpoint")))
    for r in rows:
        model = r["group"] in ("generated", "control")
        if key not in r.get("curves", {}) or (model and (r["group"] == "control" or
                                                         (plot_s is not None and r["s"] != plot_s))):
            continue
        if r["name"] == "simulator frames (floor)" and key != "position_error":
            continue                             # identical to the truth: perfect pixels, only the tracker has a floor
        x = (np.arange(len(r["curves"][key])) + result["protocol"]["given"] if task == "predict"
             else np.array(r["starts"]))
        y, (lo, hi) = np.array(r["curves"][key], float), (np.array(v, float) for v in r["curves_ci"][key])
        if model:       # an arm: its colour; the context-noise level: the line style
            colour = f"C{arms.index(r['checkpoint']) % 10}"
            style = ("-", "--", ":", "-.")[levels.index(r.get("context_noise") or 0) % 4]
        else:
            colour, style = _REFERENCE_STYLE.get(r["name"], ("0.3", "--"))
        ax.plot(x, y, marker=".", ms=4, label=r["name"], color=colour, ls=style, lw=1.4 if model else 1.1)
        if model or r["name"] == "real":
            ax.fill_between(x, lo, hi, color=colour, alpha=0.12, lw=0)
    ax.set_xlabel("first frame of each 16-frame segment" if task == "drift" else
                  f"frame index ({result['protocol']['given']} given frames, then the prediction)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=9))       # frames: whole numbers (y: any)


def plot_metric(results: list[dict], key: str, plot_s: int | None = None):
    """One figure for metric ``key``: one panel per result (``generate``: value vs ``s`` per checkpoint with the
    equal-NFE control; ``predict`` and ``drift``: value vs frame index, at AR step ``plot_s``)."""
    import matplotlib.pyplot as plt

    width = 5.2 * len(results) if len(results) > 1 else 7.0
    fig, axes = plt.subplots(1, len(results), figsize=(width, 3.4), squeeze=False, dpi=80)
    title, label, better = METRICS[key]
    for ax, result in zip(axes[0], results):
        if result["task"] == "generate":
            _plot_generate(ax, result, key)
        else:
            _plot_curves(ax, result, key, plot_s)
            ax.set_title(f"{result['task']}, {result['protocol']['num_videos']} videos"
                         + (f", s={plot_s}" if plot_s is not None else ""), fontsize=FONT + 1)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=FONT, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    way = {"lower": "lower is better", "higher": "higher is better", "real": "closer to the real clips is better"}
    fig.suptitle(f"{title} ({way[better]})\nbars and bands: 95 % bootstrap intervals over videos", fontsize=FONT + 1)
    fig.tight_layout()
    return fig


def write_plots(report: dict, folder, plot_s: int | None = None, prefix: str | None = None) -> list[Path]:
    """One PNG per metric and task kind under ``folder`` (``generate_<metric>.png`` with a panel per frame count,
    ``predict_<metric>.png``, ``drift_<metric>.png``; ``prefix`` replaces the task name)."""
    import matplotlib.pyplot as plt

    folder = Path(folder)
    written = []
    by_task = {}
    for result in report["tasks"].values():
        by_task.setdefault(result["task"], []).append(result)
    for task, results in by_task.items():
        for key in dict.fromkeys(k for r in results for k in _keys(r)):
            fig = plot_metric(results, key, plot_s if task == "predict" else None)
            written.append(atomic_write_bytes(folder / f"{prefix or task}_{key}.png", figure_png(fig, dpi=80)))
            plt.close(fig)
    return written


# ----------------------------------------------------------------------------------------------------------------
# claims: the paper's statements (and one practice from Diffusion Forcing) against the numbers
# ----------------------------------------------------------------------------------------------------------------
def _find(report: dict, task: str, checkpoint=None, name=None, **match):
    result = report["tasks"].get(task)
    for r in (result or {}).get("rows", []):
        if (name is None or r["name"] == name) and (checkpoint is None or r.get("checkpoint") == checkpoint) \
                and all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def _at(r, key, segment=None):
    """(value, lo, hi) of a row: its summary value, or with ``segment`` (0 or -1) a drift curve's point."""
    if r is None:
        return None
    if segment is not None:
        if key not in r.get("curves", {}):
            return None
        return r["curves"][key][segment], r["curves_ci"][key][0][segment], r["curves_ci"][key][1][segment]
    if key not in r.get("values", {}) or r["values"][key] is None:
        return None
    return r["values"][key], r["ci"][key][0], r["ci"][key][1]


def _verdict(a, b, better: str) -> str:
    """``a`` is claimed better than ``b`` (``better``: "lower" or "higher" values); see the module docstring."""
    if a is None or b is None or None in a or None in b:
        return "not measured"
    a_wins, b_wins = (a[2] < b[1], a[1] > b[2]) if better == "lower" else (a[1] > b[2], a[2] < b[1])
    return "holds" if a_wins else "does not hold" if b_wins else "no clear difference"


def claims(report: dict, s: int = 5, num_steps: int | None = None) -> list[dict]:
    """Each claim: ``claim``, ``compare`` (the two rows), ``metric``, ``a`` and ``b`` (value, lo, hi) and the
    ``verdict``. ``s`` is the asynchronous setting the claims use (the protocol's ``control_s``)."""
    g16 = next((k for k in report["tasks"] if k.startswith("generate")), None)
    g = report["tasks"].get(g16, {})
    S = num_steps or g.get("protocol", {}).get("num_steps")
    fd = "fd_videonet" if any("fd_videonet" in r.get("values", {}) for r in g.get("rows", [])) else "match_frac"
    way = METRICS[fd][2]
    pred = next((k for k in report["tasks"] if k.startswith("predict")), None)
    drift = next((k for k in report["tasks"] if k.startswith("drift")), None)
    gen = lambda ck, s_, S_=S: _find(report, g16, ck, s=s_, S=S_, group="generated")     # noqa: E731
    out = []

    def add(claim, a_name, a, b_name, b, metric, better, source="paper"):
        out.append({"claim": claim, "source": source, "compare": f"{a_name} vs {b_name}", "metric": metric,
                    "a": a, "b": b, "verdict": _verdict(a, b, better)})

    for s_ in (0, s):
        add(f"Non-decreasing noise levels (FoPP) train a better model than independent per-frame levels "
            f"(Diffusion Forcing), sampled at s={s_}", f"fopp s={s_}", _at(gen("fopp", s_), fd),
            f"independent s={s_}", _at(gen("independent", s_), fd), fd, way)
    for s_ in (0, s):
        add(f"FoPP trains a better model than drawing uniformly among non-decreasing sequences (most of all for "
            f"synchronous sampling), sampled at s={s_}", f"fopp s={s_}", _at(gen("fopp", s_), fd),
            f"uniform_monotone s={s_}", _at(gen("uniform_monotone", s_), fd), fd, way)
    add(f"Asynchronous sampling (s={s}) beats synchronous sampling (s=0) with the same model", f"fopp s={s}",
        _at(gen("fopp", s), fd), "fopp s=0", _at(gen("fopp", 0), fd), fd, way)
    ctl = _find(report, g16, "fopp", group="control")
    add(f"... and not only because s={s} spends more network calls (equal-NFE control)", f"fopp s={s}",
        _at(gen("fopp", s), fd), "fopp s=0 at equal NFE" if ctl is None else ctl["name"], _at(ctl, fd), fd, way,
        source="control (ours)")
    add(f"A small s keeps neighbouring frames more alike, a large s changes more (s={S} vs s=0)", f"fopp s={S}",
        _at(gen("fopp", S), "frame_diff"), "fopp s=0", _at(gen("fopp", 0), "frame_diff"), "frame_diff", "higher")
    add(f"A model trained with one noise level for the whole clip cannot sample asynchronously (s={s})",
        f"fopp s={s}", _at(gen("fopp", s), fd), f"full_sequence s={s}", _at(gen("full_sequence", s), fd), fd, way)
    model = _at(_find(report, pred, "fopp", s=s, S=S, group="generated"), "position_error")
    for base in ("copy last given frame", "extrapolate tracked balls"):
        add(f"Given frames make the model a video predictor that beats '{base}'", f"fopp s={s}", model, base,
            _at(_find(report, pred, name=base), "position_error"), "position_error", "lower", source="our protocol")
    if drift is not None:
        first = _find(report, drift, "fopp", context_noise=0)
        s_d = None if first is None else first["s"]
        a, b = _at(first, "fd_videonet", -1), _at(first, "fd_videonet", 0)
        verdict = ("not measured" if a is None or b is None or None in a + b else
                   "does not hold" if a[1] > b[2] else "holds (no clear loss)")     # only a clear rise refutes it
        out.append({"claim": "The sliding window makes videos far longer than the training clips without losing "
                             "quality (last 16 frames vs the first 16)", "source": "paper",
                    "compare": f"fopp s={s_d}: last segment vs first segment", "metric": "fd_videonet", "a": a,
                    "b": b, "verdict": verdict})
        noisy = [r for r in report["tasks"][drift]["rows"] if r.get("checkpoint") == "fopp" and r.get("context_noise")]
        for r in noisy:
            add(f"Noisy context (level {r['context_noise']}) reduces drift (last 16 frames)",
                f"fopp ctx={r['context_noise']}", _at(r, "fd_videonet", -1), "fopp clean context",
                _at(first, "fd_videonet", -1), "fd_videonet", "lower", source="Diffusion Forcing, SkyReels-V2")
    return out


def claims_markdown(report: dict, s: int = 5) -> str:
    """The claims table for the README: claim → what we measured → verdict."""
    lines = ["| claim | source | measured (value [95 % interval]) | verdict |", "|---|---|---|---|"]
    for c in claims(report, s):
        fmt = lambda v: "not measured" if v is None else f"{_f(v[0])} [{_f(v[1])}, {_f(v[2])}]"   # noqa: E731
        lines.append(f"| {c['claim']} | {c['source']} | {c['metric']}: {c['compare'].split(' vs ')[0]} "
                     f"{fmt(c['a'])} vs {c['compare'].split(' vs ')[-1]} {fmt(c['b'])} | **{c['verdict']}** |")
    return "\n".join(lines)


def report_markdown(report: dict, s: int = 5) -> str:
    """Every task's table with its command and protocol, then the claims."""
    parts = []
    for name, result in report["tasks"].items():
        p = result["protocol"]
        commands = result.get("command", "(no command recorded)").splitlines()
        parts += [f"## {name}", "", "<br>".join(f"`{c}`" for c in commands), "",
                  f"{p['num_videos']} videos of {p['num_frames']} frames, S = {p['num_steps']}, seed {p['seed']}; "
                  f"every row compared with {p['reference']}; intervals: {p['bootstrap']['draws']} bootstrap draws "
                  "over videos.",
                  "", markdown_table(result), ""]
    return "\n".join(parts + ["## Claims", "", claims_markdown(report, s), ""])


def write_report(report: dict, out, plot_s: int | None = None, s: int = 5) -> list[Path]:
    """Write ``out`` (JSON), ``out`` with ``.md`` (tables and claims) and the PNG plots beside it."""
    out = Path(out)
    written = [save_json(report, out)]
    with atomic_open(out.with_suffix(".md"), "w") as f:
        f.write(report_markdown(report, s))
    written.append(out.with_suffix(".md"))
    return written + write_plots(report, out.parent, plot_s if plot_s is not None else s)


def quality_markdown(result: dict, keys=("match_frac", "accel_median", "colour_drift_median", "empty_frac")) -> str:
    """The quality table of a ``generate`` result: tracker statistics with their 95 % intervals, then the share of
    frames with 0, 1, 2, 3 and 4 or more tracked blobs (overlapping balls merge into one blob)."""
    heads = list(keys) + ["frames with 0 / 1 / 2 / 3 / 4+ blobs"]
    lines = ["| clips | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for r in result["rows"]:
        v, ci = r["values"], r.get("ci", {})
        cells = [with_ci(v.get(k), *ci[k]) if ci.get(k) else _f(v.get(k)) for k in keys]
        cells.append(" / ".join(_f(v.get(f"balls_{k}")) for k in range(5)) if "balls_0" in v else "n/a")
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
