"""ardiff_edu.data.layouts and ardiff_edu.data.cache: layout readers, the prepare command, the uint8 cache, errors.

Every tree is built in tmp_path with REAL encoded files (.avi/.mp4 through write_video, .jpg/.png through imageio).
"""

import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from ardiff_edu.__main__ import main as cli_main
from ardiff_edu.data import (
    CachedClips,
    DataError,
    VideoItem,
    clip_starts,
    faces_items,
    find_items,
    load_item,
    make_example_tree,
    prepare,
    read_frames_folder,
    resize_center_crop,
    sky_items,
    taichi_items,
    ucf101_items,
    video_clips,
)
from ardiff_edu.data.cache import main
from ardiff_edu.video import write_video

FRAMES = 12  # frames per example video


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("trees")
    return {d: make_example_tree(d, base / d, videos_per_split=2, num_frames=FRAMES, size=24)
            for d in ("ucf101", "sky", "taichi", "faces")}


def leftovers(folder):
    return [p.name for p in folder.iterdir() if ".tmp." in p.name or ".old." in p.name]


# ---------------------------------------------------------------------------------------------------------------
# readers


def test_ucf101_reader(trees):
    root = trees["ucf101"]
    train, names = ucf101_items(root, "train", fold=1)
    test, _ = ucf101_items(root, "test", fold=2)
    assert names == ["Walk", "Jump", "Wave", "JumpingJack", "Squat", "Punch"]
    assert len(train) == 12 and len(test) == 6
    assert all(p.path.suffix == ".avi" and p.path.parent.name == names[p.label] for p in train + test)
    assert {p.path for p in train}.isdisjoint({p.path for p in test})
    assert all("_g01_" in p.path.name for p in test)
    assert sorted({p.label for p in test}) == list(range(6))
    every, _ = ucf101_items(root, "all")
    assert len(every) == 18
    assert (root.parent / "ucfTrainTestlist").is_dir()  # lists found beside the video folder


def test_ucf101_lists_inside_root_and_case_mismatch(tmp_path):
    # the official lists spell some files differently from the folders (HandStandPushups vs HandstandPushups)
    clip = np.zeros((4, 8, 8, 3), np.uint8)
    write_video(tmp_path / "HandstandPushups" / "v_HandstandPushups_g01_c01.avi", clip)
    write_video(tmp_path / "HandstandPushups" / "v_HandstandPushups_g02_c01.avi", clip)
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 HandstandPushups\n")
    (lists / "trainlist01.txt").write_text("HandstandPushups/v_HandStandPushups_g02_c01.avi 1\n")
    (lists / "testlist01.txt").write_text("HandstandPushups/v_HandStandPushups_g01_c01.avi\n")
    items, names = ucf101_items(tmp_path, "train")
    assert names == ["HandstandPushups"] and [p.path.name for p in items] == ["v_HandstandPushups_g02_c01.avi"]
    (lists / "testlist01.txt").write_text("HandstandPushups/v_HandstandPushups_g07_c01.avi\n")
    with pytest.raises(DataError, match=r"1 videos listed in .*testlist01.txt.* are missing.*g07"):
        ucf101_items(tmp_path, "test")


def test_ucf101_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ucf101_items(tmp_path / "nope")
    (tmp_path / "Empty").mkdir()
    with pytest.raises(DataError, match=r"expected UCF-101 layout <root>/<Class>/v_<Class>_gXX_cYY.avi"):
        ucf101_items(tmp_path)
    write_video(tmp_path / "Walk" / "v_Walk_g01_c01.avi", np.zeros((4, 8, 8, 3), np.uint8))
    with pytest.raises(DataError, match="ucfTrainTestlist/classInd.txt"):
        ucf101_items(tmp_path, "train")
    items, names = ucf101_items(tmp_path, "all")  # without lists: classes in alphabetical order
    assert names == ["Walk"] and items[0].label == 0
    with pytest.raises(ValueError, match="fold"):
        ucf101_items(tmp_path, "all", fold=4)


def test_sky_reader_handles_extra_nesting(trees):
    root = trees["sky"]
    train, _ = sky_items(root, "train")
    test, _ = sky_items(root, "test")
    assert len(train) == len(test) == 2
    assert all(p.is_frames for p in train + test)
    assert train[0].path.relative_to(root).parts == ("sky_train", "video000", "video000_1")  # two levels
    assert test[0].path.relative_to(root).parts == ("sky_test", "video000")  # one level
    video = load_item(train[0])
    assert video.shape == (FRAMES, 24, 24, 3) and video.dtype == np.uint8
    assert len(sky_items(root, "all")[0]) == 4


def test_sky_errors(tmp_path):
    with pytest.raises(DataError, match=r"sky_train/ not found"):
        sky_items(tmp_path)
    (tmp_path / "sky_train" / "v1").mkdir(parents=True)
    (tmp_path / "sky_train" / "v1" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=r"no frame folders .* in .*sky_train"):
        sky_items(tmp_path)


def test_taichi_reader_videos_and_frame_folders(trees):
    root = trees["taichi"]
    train, _ = taichi_items(root, "train")
    test, _ = taichi_items(root, "test")
    assert [p.path.suffix for p in train] == [".mp4", ".mp4"]
    assert all(p.is_frames for p in test)
    for item in (train[0], test[0]):
        assert load_item(item).shape == (FRAMES, 24, 24, 3)


def test_taichi_errors(tmp_path):
    with pytest.raises(DataError, match=r"Taichi-HD layout .*train/ not found"):
        taichi_items(tmp_path)
    (tmp_path / "train").mkdir()
    with pytest.raises(DataError, match=r"no videos or frame folders in .*train"):
        taichi_items(tmp_path)


def test_faces_reader_split_and_flat(trees, tmp_path):
    root = trees["faces"]
    assert len(faces_items(root, "train")[0]) == 2 and len(faces_items(root, "test")[0]) == 2
    write_video(tmp_path / "a.mp4", np.zeros((4, 8, 8, 3), np.uint8))
    write_video(tmp_path / "b.mp4", np.zeros((4, 8, 8, 3), np.uint8))
    flat, _ = faces_items(tmp_path, "train")
    assert [p.path.name for p in flat] == ["a.mp4", "b.mp4"]
    with pytest.raises(DataError, match="flat layout"):
        faces_items(tmp_path, "test")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"no videos in .*empty.*FaceForensics layout"):
        faces_items(empty)


def test_find_items_checks_dataset(trees):
    with pytest.raises(ValueError, match="dataset"):
        find_items("kinetics", trees["faces"])
    assert len(find_items("faces", trees["faces"], "all")[0]) == 4


def test_read_frames_folder(tmp_path):
    # natural order (2 before 10), grey and RGBA frames become RGB
    for i in (10, 2, 1):
        grey = np.full((6, 8), i * 10, np.uint8)
        iio.imwrite(tmp_path / f"frame_{i}.png", grey)
    video = read_frames_folder(tmp_path)
    assert video.shape == (3, 6, 8, 3) and video[:, 0, 0, 0].tolist() == [10, 20, 100]
    iio.imwrite(tmp_path / "frame_11.png", np.zeros((6, 8, 4), np.uint8))
    assert read_frames_folder(tmp_path).shape == (4, 6, 8, 3)
    iio.imwrite(tmp_path / "frame_12.png", np.zeros((5, 8, 3), np.uint8))
    with pytest.raises(DataError, match="frame_12.png"):
        read_frames_folder(tmp_path)
    (tmp_path / "frame_12.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot decode image .*frame_12.png"):
        read_frames_folder(tmp_path)


# ---------------------------------------------------------------------------------------------------------------
# preprocessing


def test_clip_starts_and_video_clips():
    assert clip_starts(40, 16, 16) == [0, 16]
    assert clip_starts(16, 16, 4) == [0]
    assert clip_starts(15, 16, 1) == []
    video = np.random.default_rng(0).integers(0, 256, (40, 20, 30, 3), dtype=np.uint8)
    starts, clips = video_clips(video, 10, 16, 8)
    assert starts == [0, 8, 16, 24] and clips.shape == (4, 16, 10, 10, 3)
    full = resize_center_crop(video, 10)
    for s, c in zip(starts, clips):
        assert np.array_equal(c, full[s:s + 16])  # resizing only the used frames changes nothing


@pytest.mark.parametrize("num_frames,stride", [(4, 16), (16, 4), (5, 5), (1, 3)])
def test_stream_clips_keeps_only_used_frames(num_frames, stride):
    from ardiff_edu.data.cache import stream_clips

    video = np.random.default_rng(1).integers(0, 256, (41, 12, 18, 3), dtype=np.uint8)
    seen = []

    def decoder():  # a stream, as prepare() gets it from the video decoder
        for j, frame in enumerate(video):
            seen.append(j)
            yield frame

    starts, clips, length = stream_clips(decoder(), 6, num_frames, stride, chunk=5)
    assert length == 41 and seen == list(range(41))
    assert starts == clip_starts(41, num_frames, stride)
    full = resize_center_crop(video, 6)
    assert clips.shape == (len(starts), num_frames, 6, 6, 3)
    for s, c in zip(starts, clips):
        assert np.array_equal(c, full[s:s + num_frames])
    assert video_clips(video, 6, num_frames, stride)[1].tobytes() == clips.tobytes()
    with pytest.raises(DataError, match="frame 1 has shape"):
        stream_clips(iter([video[0], video[1, :5]]), 6, 2, 1)


def test_resize_center_crop():
    land = np.zeros((2, 20, 40, 3), np.uint8)
    land[:, :, 10:30] = 200  # the centre square is bright, the sides dark
    out = resize_center_crop(land, 10)
    assert out.shape == (2, 10, 10, 3) and out[:, :, 1:-1].min() >= 195
    # the resize happens before the crop, so the dark sides bleed into the outermost columns a little
    assert 150 < out[:, :, [0, -1]].min() < 195
    port = np.full((1, 30, 12, 3), 77, np.uint8)
    assert np.array_equal(resize_center_crop(port, 6), np.full((1, 6, 6, 3), 77, np.uint8))
    with pytest.raises(ValueError, match="frames"):
        resize_center_crop(np.zeros((2, 4, 4)), 2)


# ---------------------------------------------------------------------------------------------------------------
# the prepare command and the cache


@pytest.mark.parametrize("dataset", ["ucf101", "sky", "taichi", "faces"])
def test_prepare_end_to_end(trees, tmp_path, capsys, dataset):
    out = tmp_path / "cache"
    rc = main(["--dataset", dataset, "--root", str(trees[dataset]), "--out", str(out), "--size", "16",
               "--num-frames", "4", "--stride", "4", "--split", "train"])
    assert rc == 0
    assert "wrote" in capsys.readouterr().out
    info = json.loads((out / "index.json").read_text())
    videos = 12 if dataset == "ucf101" else 2
    assert info["num_clips"] == videos * 3 and len(info["videos"]) == videos  # 12 frames -> starts 0, 4, 8
    assert info["skipped"] == [] and info["size"] == 16
    ds = CachedClips(out)
    assert len(ds) == info["num_clips"]
    item = ds[0]
    clip = item[0] if dataset == "ucf101" else item
    assert clip.shape == (4, 3, 16, 16) and clip.dtype == torch.float32 and -1 <= clip.min() <= clip.max() <= 1
    # the cached clip is exactly the preprocessed source video
    source = load_item(VideoItem(trees[dataset] / info["videos"][0]))
    assert np.array_equal(ds.uint8(1), resize_center_crop(source, 16)[4:8])
    if dataset == "ucf101":
        assert info["class_names"][0] == "Walk" and ds.labels.shape == (36,)
        assert int(ds[5][1]) == info["labels"][5]
    else:
        assert ds.labels is None and info["labels"] is None
    assert leftovers(tmp_path) == []


def test_prepare_shards_mmap_and_pool(trees, tmp_path):
    out = prepare("faces", trees["faces"], tmp_path / "c", size=8, num_frames=3, stride=1, split="all",
                  shard_size=7, progress=False)
    info = json.loads((out / "index.json").read_text())
    assert info["num_clips"] == 4 * 10
    assert [s["num_clips"] for s in info["shards"]] == [7, 7, 7, 7, 7, 5]
    ds = CachedClips(out)
    assert all(isinstance(a, np.memmap) for a in ds.shards)
    everything = ds.load_all()
    assert everything.shape == (40, 3, 8, 8, 3)
    for i in (0, 6, 7, 39, -1):
        assert np.array_equal(ds.uint8(i), everything[i])
    assert info["clip_start"][:10] == list(range(10)) and info["clip_video"][:11] == [0] * 10 + [1]
    with pytest.raises(IndexError):
        ds.uint8(40)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=5)))
    assert batch.shape == (5, 3, 3, 8, 8)


def test_prepare_skip_vs_fail_on_corrupt_file(trees, tmp_path, capsys):
    import shutil

    root = tmp_path / "faces"
    shutil.copytree(trees["faces"], root)
    (root / "train" / "zz_corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 20)
    args = ["--dataset", "faces", "--root", str(root), "--size", "8", "--num-frames", "4", "--no-progress"]
    rc = main(args + ["--out", str(tmp_path / "skip"), "--on-error", "skip"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "zz_corrupt.mp4" in err
    info = json.loads((tmp_path / "skip" / "index.json").read_text())
    assert [s["path"] for s in info["skipped"]] == ["train/zz_corrupt.mp4"] and len(info["videos"]) == 2
    rc = main(args + ["--out", str(tmp_path / "fail"), "--on-error", "fail"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "zz_corrupt.mp4" in err and "on_error='fail'" in err
    assert not (tmp_path / "fail").exists()
    assert leftovers(tmp_path) == []


def test_interrupted_prepare_leaves_nothing(trees, tmp_path, monkeypatch):
    import ardiff_edu.data.cache as bm

    real = bm.stream_clips
    calls = []

    def interrupted(*args, **kwargs):  # Ctrl-C while the second video is being decoded
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(bm, "stream_clips", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prepare("faces", trees["faces"], tmp_path / "c", size=8, num_frames=4, shard_size=1, progress=False)
    assert list(tmp_path.iterdir()) == []  # no output folder, no temporary folder
    # an existing cache survives an interrupted --overwrite untouched
    monkeypatch.setattr(bm, "stream_clips", real)
    out = prepare("faces", trees["faces"], tmp_path / "c", size=8, num_frames=4, progress=False)
    before = sorted((p.name, p.read_bytes()) for p in out.iterdir())
    calls.clear()
    monkeypatch.setattr(bm, "stream_clips", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prepare("faces", trees["faces"], out, size=8, num_frames=2, overwrite=True, progress=False)
    assert sorted((p.name, p.read_bytes()) for p in out.iterdir()) == before
    assert leftovers(tmp_path) == []


def test_prepare_too_short_and_no_clips(trees, tmp_path):
    out = prepare("taichi", trees["taichi"], tmp_path / "c", size=8, num_frames=FRAMES, stride=4, progress=False)
    assert json.loads((out / "index.json").read_text())["num_clips"] == 2
    with pytest.raises(DataError, match=r"no clips of 13 frames .* 2 too short"):
        prepare("taichi", trees["taichi"], tmp_path / "d", size=8, num_frames=FRAMES + 1, progress=False)
    assert not (tmp_path / "d").exists() and leftovers(tmp_path) == []


def test_prepare_output_folder_rules(trees, tmp_path, capsys):
    out = tmp_path / "c"
    args = ["--dataset", "sky", "--root", str(trees["sky"]), "--out", str(out), "--size", "8", "--num-frames",
            "4", "--no-progress"]
    assert main(args) == 0
    first = (out / "index.json").read_text()
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err
    assert (out / "index.json").read_text() == first
    assert main(args + ["--stride", "2", "--overwrite"]) == 0
    assert json.loads((out / "index.json").read_text())["stride"] == 2
    assert leftovers(tmp_path) == []
    empty = tmp_path / "empty_out"
    empty.mkdir()
    assert main(args[:4] + ["--out", str(empty)] + args[6:]) == 0  # an existing empty folder is fine


def test_prepare_errors_name_the_path(tmp_path, capsys):
    rc = main(["--dataset", "sky", "--root", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert rc == 1 and "missing" in capsys.readouterr().err
    rc = main(["--dataset", "taichi", "--root", str(tmp_path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and "Taichi-HD layout" in err and str(tmp_path) in err
    with pytest.raises(ValueError, match="size"):
        prepare("sky", tmp_path, tmp_path / "o", size=2)
    with pytest.raises(ValueError, match="on_error"):
        prepare("sky", tmp_path, tmp_path / "o", on_error="ignore")
    with pytest.raises(SystemExit):
        main(["--dataset", "kinetics", "--root", ".", "--out", "x"])
    assert not (tmp_path / "o").exists()


def test_cli_dispatch(trees, tmp_path):
    out = tmp_path / "c"
    rc = cli_main(["prepare", "--dataset", "faces", "--root", str(trees["faces"]), "--out", str(out),
                   "--size", "8", "--num-frames", "4", "--stride", "8", "--split", "test", "--no-progress"])
    assert rc == 0 and len(CachedClips(out)) == 4


def test_python_dash_m_prepare(trees, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "c"
    res = subprocess.run([sys.executable, "-m", "ardiff_edu", "prepare", "--dataset", "ucf101", "--root",
                          str(trees["ucf101"]), "--out", str(out), "--size", "8", "--num-frames", "8", "--stride",
                          "8", "--split", "test"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "wrote 6 clips of 8x8x8 from 6 videos" in res.stdout, res.stderr     # a skipped video says why there
    assert "prepare ucf101/test" in res.stderr and "100%" in res.stderr  # the tqdm bar
    ds = CachedClips(out)
    assert sorted(int(ds[i][1]) for i in range(len(ds))) == list(range(6))


def test_cached_clips_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="index.json"):
        CachedClips(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(DataError, match="not an ardiff-edu-clips"):
        CachedClips(tmp_path)
    info = {"format": "ardiff-edu-clips", "version": 1, "num_frames": 4, "size": 8, "num_clips": 2,
            "shards": [{"file": "clips_00000.npy", "num_clips": 2}], "labels": None}
    (tmp_path / "index.json").write_text(json.dumps(info))
    np.save(tmp_path / "clips_00000.npy", np.zeros((2, 4, 8, 9, 3), np.uint8))
    with pytest.raises(DataError, match=r"clips_00000.npy.*shape \(2, 4, 8, 9, 3\)"):
        CachedClips(tmp_path)


def test_prepare_defaults_are_64_pixels_and_stride_16_not_the_papers():
    """Paper vs code (notebook A1): the official data sets are cut at 256×256 with a stride of 1 (Sky), 16 (Faces),
    64 (Taichi) or 128 (UCF-101) frames; ``prepare`` defaults to 64×64, 16 frames per clip and a stride of 16, and
    ``--size`` / ``--stride`` set the official values."""
    import inspect

    from ardiff_edu.data.cache import build_parser, prepare

    args = build_parser().parse_args(["--dataset", "sky", "--root", "r", "--out", "o"])
    assert (args.size, args.num_frames, args.stride) == (64, 16, 16)
    defaults = {k: p.default for k, p in inspect.signature(prepare).parameters.items()}
    assert (defaults["size"], defaults["num_frames"], defaults["stride"]) == (64, 16, 16)
    args = build_parser().parse_args(["--dataset", "ucf101", "--root", "r", "--out", "o", "--size", "256",
                                      "--stride", "128"])
    assert (args.size, args.stride) == (256, 128)
