"""Checkers for the exercises of appendix notebook A1 (engineering).

* :func:`check_atomic_writer` — ``write_atomically(path, chunks)``: write text chunks so that a crash leaves the old
  file (or none), never part of the new one, and no temporary file behind.
* :func:`check_class_folder_reader` — ``class_folder_items(root)``: a reader for the layout ``<root>/<Class>/<video>``
  (one folder per class, no split lists), returning ``(items, class_names)`` like the readers of
  :mod:`ardiff_edu.data.layouts`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ardiff_edu.data.layouts import VIDEO_EXTS, VideoItem
from ardiff_edu.exercises import Result, call, failed, passed

__all__ = ["CLASS_FOLDER_TREE", "check_atomic_writer", "check_class_folder_reader", "class_folder_truth"]

#: The files of the class-folder tree the reader checker builds (all empty: a reader only looks at names).
CLASS_FOLDER_TREE = ("Walk/v_walk_2.mp4", "Walk/v_walk_10.mp4", "Walk/v_walk_1.mp4", "Jump/clip.avi",
                     "Jump/notes.txt", "Jump/clip.avi.part", "Wave/frames.MP4", "README.md")


class _Crash(RuntimeError):
    """Raised by the checker's chunk iterator halfway through, like a full disk or a killed process."""


def _chunks_then_crash(chunks):
    for i, c in enumerate(chunks):
        if i == 1:
            raise _Crash("the disk is full (simulated by the checker)")
        yield c


def _leftovers(folder: Path, keep: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


def check_atomic_writer(write_atomically) -> Result:
    """``write_atomically(path, chunks)`` must write the concatenated text ``chunks`` to ``path``; when the chunks
    fail halfway it must re-raise the error and leave ``path`` as it was (absent, or the old text) and no other file
    in the folder."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "record.json"
        steps = [("a new file", None, ["{\"step\": ", "20}"], "{\"step\": 20}"),
                 ("replacing a file", "{\"step\": 20}", ["{\"step\": ", "40}"], "{\"step\": 40}")]
        for what, old, chunks, want in steps:
            _, err = call(write_atomically, path, iter(chunks), case=f"writing {what}")
            if err is not None:
                return err
            if not path.exists():
                return failed(f"after writing {what}, {path.name} does not exist")
            got = path.read_text()
            if got != want:
                return failed(f"after writing {what}, {path.name} holds {got!r}, expected {want!r}")
            if _leftovers(folder, path.name):
                return failed(f"after writing {what}, the folder also holds {_leftovers(folder, path.name)}: "
                              f"rename the temporary file onto the path (os.replace), don't copy it")
        for what, old in (("an existing file", "{\"step\": 40}"), ("a new file", None)):
            target = path if old is not None else folder / "new.json"
            raised = None
            try:
                write_atomically(target, _chunks_then_crash(["{\"step\": ", "60}"]))
            except _Crash as err:
                raised = err
            except Exception as err:  # noqa: BLE001
                return failed(f"when the chunks fail halfway it raised {type(err).__name__}: {err} instead of "
                              f"letting the original error through")
            if raised is None:
                return failed("when the chunks fail halfway it returned normally: the error was swallowed; re-raise "
                              "it, so that the caller knows nothing was written")
            if old is None and target.exists():
                return failed(f"a crash while writing {what} left {target.name} holding {target.read_text()!r}: "
                              f"write into a temporary file and rename it onto the path only after the last chunk")
            if old is not None and target.read_text() != old:
                return failed(f"a crash while replacing {what} left {target.read_text()!r} in it instead of the old "
                              f"{old!r}: write into a temporary file in the same folder and rename it onto the path "
                              f"(os.replace) only after the last chunk")
            extra = _leftovers(folder, path.name)
            if extra:
                return failed(f"a crash while writing {what} left {extra} in the folder: delete the temporary file "
                              f"when writing fails")
    return passed("writes, replaces, and survives a crash halfway with the old file intact and nothing left behind")


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2: a reader for one folder per class
# ----------------------------------------------------------------------------------------------------------------
def class_folder_truth(root) -> tuple[list[tuple[str, int]], list[str]]:
    """The expected answer for :data:`CLASS_FOLDER_TREE` under ``root``: ``([(relative path, label)], names)``."""
    return ([("Jump/clip.avi", 0), ("Walk/v_walk_1.mp4", 1), ("Walk/v_walk_2.mp4", 1), ("Walk/v_walk_10.mp4", 1),
             ("Wave/frames.MP4", 2)], ["Jump", "Walk", "Wave"])


def _as_pairs(items, root: Path):
    pairs = []
    for it in items:
        path, label = (it.path, it.label) if isinstance(it, VideoItem) else it
        path = Path(path)
        pairs.append((path.relative_to(root).as_posix() if path.is_absolute() else path.as_posix(), int(label)))
    return pairs


def check_class_folder_reader(class_folder_items) -> Result:
    """``class_folder_items(root)`` must return ``(items, class_names)``: the class names are the folder names,
    sorted; the items are the video files (suffix in :data:`~ardiff_edu.data.layouts.VIDEO_EXTS`, any case) as
    ``VideoItem(path, label)`` (or ``(path, label)`` pairs), label = the class's index, ordered by class and then
    naturally by name (``v_2`` before ``v_10``)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "actions"
        for rel in CLASS_FOLDER_TREE:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(b"")
        out, err = call(class_folder_items, root)
        if err is not None:
            return err
        if not (isinstance(out, tuple) and len(out) == 2):
            return failed(f"it returned {type(out).__name__}, expected a pair (items, class_names)")
        want_items, want_names = class_folder_truth(root)
        items, names = out
        if list(names) != want_names:
            return failed(f"class names {list(names)}, expected {want_names}: the folder names, sorted (files at the "
                          f"root such as README.md are not classes)")
        try:
            got = _as_pairs(items, root)
        except (TypeError, ValueError) as err:
            return failed(f"the items must be VideoItem(path, label) or (path, label) pairs: {err}")
        if sorted(got) != sorted(want_items):
            extra = sorted(set(got) - set(want_items))
            missing = sorted(set(want_items) - set(got))
            hint = ""
            if any(p.endswith((".txt", ".part")) for p, _ in extra):
                hint = f" Keep only video files: suffixes {VIDEO_EXTS}, compared in lower case."
            elif any(p.endswith(".MP4") for p, _ in missing):
                hint = " Compare suffixes in lower case: frames.MP4 is a video."
            return failed(f"wrong items: unexpected {extra}, missing {missing}.{hint}")
        if got != want_items:
            return failed(f"the items are right but in the order {[p for p, _ in got]}; expected class by class, then "
                          f"naturally by name: {[p for p, _ in want_items]}")
    return passed("reads one folder per class: sorted class names, video files only, natural order")
