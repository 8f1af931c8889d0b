import os
import stat

import pytest
import torch

from ardiff_edu.utils import atomic_torch_save, atomic_write_bytes, check_choice, check_int


def test_check_int_names_value_and_range():
    assert check_int("s", 3, 0, 5) == 3
    with pytest.raises(ValueError, match=r"s must be in \[0, 5\], got 7"):
        check_int("s", 7, 0, 5)
    with pytest.raises(ValueError, match=r"num_frames must be an integer >= 1, got 2.5"):
        check_int("num_frames", 2.5, 1)
    with pytest.raises(ValueError, match="got True"):
        check_int("window", True, 1)


def test_check_choice_lists_choices():
    with pytest.raises(ValueError, match=r"kind must be one of \['a', 'b'\], got 'c'"):
        check_choice("kind", "c", ("a", "b"))


def test_atomic_writes_leave_no_temp_files_and_normal_permissions(tmp_path):
    atomic_write_bytes(tmp_path / "a.bin", b"123")
    atomic_torch_save({"x": torch.ones(2)}, tmp_path / "sub" / "b.pt")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.bin", "b.pt"]
    assert torch.load(tmp_path / "sub" / "b.pt")["x"].sum() == 2
    mode = stat.S_IMODE(os.stat(tmp_path / "a.bin").st_mode)
    assert mode & 0o044, f"file is private (mode {oct(mode)})"


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "c.pt"
    atomic_torch_save({"v": 1}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_torch_save({"v": Unpicklable()}, path)
    assert torch.load(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_check_float_names_value_and_range():
    from ardiff_edu.utils import check_float

    assert check_float("cfg_scale", 2, 0.0) == 2.0
    with pytest.raises(ValueError, match=r"cfg_scale must be >= 0.0, got -1"):
        check_float("cfg_scale", -1, 0.0)
    with pytest.raises(ValueError, match=r"beta must be in \(0, 1\), got 1"):
        check_float("beta", 1, 0, 1, low_open=True, high_open=True)
    with pytest.raises(ValueError, match=r"u must be a number in \[0.0, 5.0\], got nan"):
        check_float("u", float("nan"), 0.0, 5.0)
    with pytest.raises(ValueError, match="got True"):
        check_float("u", True, 0.0, 5.0)
