"""Checkers of appendix A1's exercises: a right answer passes, typical wrong answers are refused with a message that
says what is wrong."""

import os
import re
import tempfile
from pathlib import Path

from ardiff_edu.data.layouts import VIDEO_EXTS, VideoItem
from ardiff_edu.exercises.nbA1 import check_atomic_writer, check_class_folder_reader


def right_writer(path, chunks):
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            for c in chunks:
                f.write(c)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def test_atomic_writer_checker_accepts_a_temporary_file_renamed_into_place():
    assert check_atomic_writer(right_writer)


def test_atomic_writer_checker_names_the_mistake():
    def in_place(path, chunks):
        with open(path, "w") as f:
            for c in chunks:
                f.write(c)

    def leaves_tmp(path, chunks):
        tmp = Path(str(path) + ".tmp")
        with open(tmp, "w") as f:
            for c in chunks:
                f.write(c)
        os.replace(tmp, path)

    def swallows(path, chunks):
        try:
            right_writer(path, chunks)
        except Exception:
            pass

    def todo(path, chunks):
        raise NotImplementedError

    result = check_atomic_writer(in_place)
    assert not result and "instead of the old" in result.message
    result = check_atomic_writer(leaves_tmp)
    assert not result and "record.json.tmp" in result.message and "delete the temporary file" in result.message
    result = check_atomic_writer(swallows)
    assert not result and "swallowed" in result.message
    assert "NotImplementedError" in check_atomic_writer(todo).message


def _natural(p):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def right_reader(root):
    names = sorted(p.name for p in Path(root).iterdir() if p.is_dir())
    items = [VideoItem(p, label) for label, name in enumerate(names)
             for p in sorted((Path(root) / name).iterdir(), key=_natural) if p.suffix.lower() in VIDEO_EXTS]
    return items, names


def test_class_folder_checker_accepts_video_items_and_pairs():
    assert check_class_folder_reader(right_reader)
    assert check_class_folder_reader(lambda root: ([(it.path, it.label) for it in right_reader(root)[0]],
                                                   right_reader(root)[1]))


def test_class_folder_checker_names_the_mistake():
    def every_file(root):
        names = sorted(p.name for p in Path(root).iterdir() if p.is_dir())
        return [(p, i) for i, n in enumerate(names) for p in sorted((Path(root) / n).iterdir(), key=_natural)], names

    def case_sensitive(root):
        items, names = right_reader(root)
        return [it for it in items if it.path.suffix in VIDEO_EXTS], names

    def plain_sort(root):
        items, names = right_reader(root)
        return sorted(items, key=lambda it: (it.label, it.path.name)), names

    def root_files_too(root):
        items, _ = right_reader(root)
        return items, sorted(p.name for p in Path(root).iterdir())

    result = check_class_folder_reader(every_file)
    assert not result and "Keep only video files" in result.message
    result = check_class_folder_reader(case_sensitive)
    assert not result and "lower case" in result.message
    result = check_class_folder_reader(plain_sort)
    assert not result and "naturally" in result.message
    result = check_class_folder_reader(root_files_too)
    assert not result and "README.md" in result.message
    assert "pair" in check_class_folder_reader(lambda root: None).message
