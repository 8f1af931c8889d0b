"""Build and check the paired notebooks, one way only: ``notebooks/NN_topic.py`` -> executed ``NN_topic.ipynb``.

    python -m ardiff_edu.nbtools build [notebooks/03_ad_scheduler.py ...]   # execute, write .ipynb with outputs
    python -m ardiff_edu.nbtools check                                     # fail if a pair has drifted

Never ``jupytext --sync``: it treats the newer file (by mtime) as the source, and a git checkout sets mtimes
arbitrarily, so it can overwrite an edited ``.py`` with a stale notebook.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
#: executed notebooks are kept lean: widget state (regenerated on every run) is not stored
DROP_METADATA = ("widgets",)


def sources(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The notebook sources in percent format: the main line ``NN_*.py``, then the appendices ``A1_*.py``, ..."""
    return sorted(folder.glob("[0-9][0-9]_*.py")) + sorted(folder.glob("A[0-9]_*.py"))


def _cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def pair_problems(py: Path) -> list[str]:
    """Why ``py`` and its ``.ipynb`` are out of sync (empty list: in sync and executed)."""
    import jupytext

    nb_path = py.with_suffix(".ipynb")
    if not nb_path.exists():
        return [f"{nb_path.name} is missing: run `make notebooks NB={py.as_posix()}`"]
    src, built = jupytext.read(py), jupytext.read(nb_path)
    problems = []
    if _cells(src) != _cells(built):
        problems.append(f"{nb_path.name} was not built from the current {py.name}: "
                        f"run `make notebooks NB={py.as_posix()}`")
    code = [c for c in built.cells if c.cell_type == "code"]
    if any(c.get("execution_count") is None for c in code):
        problems.append(f"{nb_path.name} has unexecuted code cells: build it with `make notebooks`")
    return problems


def build(py: Path, timeout: int = 600) -> float:
    """Normalise ``py`` (jupytext percent format with a kernelspec), execute it, write the paired ``.ipynb``.

    Returns the execution time in seconds.
    """
    import jupytext
    from nbclient import NotebookClient

    py = Path(py).resolve()
    nb = jupytext.read(py)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    text = jupytext.writes(nb, fmt="py:percent")
    if py.read_text() != text:  # canonical form, so that .ipynb -> .py round-trips byte for byte
        py.write_text(text)
    nb = jupytext.reads(text, fmt="py:percent")
    nb.metadata["kernelspec"] = dict(KERNELSPEC)  # the .py keeps no metadata; JupyterLab would add it on save
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(py.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    for key in DROP_METADATA:
        nb.metadata.pop(key, None)
    for i, cell in enumerate(nb.cells):          # no timestamps, stable ids: a rebuild changes only real outputs
        cell.metadata.pop("execution", None)
        cell.id = f"cell-{i:03d}"
    jupytext.write(nb, py.with_suffix(".ipynb"), fmt="ipynb")
    return seconds


def resolve(name) -> Path:
    """A notebook named as a path (``notebooks/08_sampling.py``, ``.ipynb`` too) or by its stem (``08_sampling``)."""
    path = Path(name).with_suffix(".py")
    if not path.exists() and (NOTEBOOK_DIR / path.name).exists():
        path = NOTEBOOK_DIR / path.name
    if not path.exists():
        raise SystemExit(f"no notebook source {name!s}: expected one of {[p.stem for p in sources()]}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ardiff_edu.nbtools", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["build", "check"])
    parser.add_argument("notebooks", nargs="*", help="notebook sources (notebooks/NN_topic.py or NN_topic); "
                                                      "default: all")
    args = parser.parse_args(argv)
    paths = [resolve(p) for p in args.notebooks] or sources()
    if args.action == "check":
        problems = [msg for p in paths for msg in pair_problems(p)]
        print("\n".join(problems) or f"{len(paths)} notebook pairs in sync")
        return 1 if problems else 0
    for p in paths:
        seconds = build(p)
        size = p.with_suffix(".ipynb").stat().st_size / 1e6
        print(f"{p.name}: executed in {seconds:.1f} s, {size:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
