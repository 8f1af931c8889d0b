"""A small video network trained here on bouncing balls, for an FVD-style distance on the toy data (notebook 09).

    python -m ardiff_edu.videonet --out data/checkpoints/videonet.pt      # 3000 steps, ~5 minutes on 2 CPU cores

FVD needs a network whose features describe videos. I3D learned its features by classifying Kinetics actions; our
stand-in learns them by **reading the state of the simulation**: from a 16-frame clip of 32 × 32 bouncing balls it
predicts, for each of the 8 palette colours, the area of that colour's ball (0 when absent), and the number of
balls, their mean speed and their mean position in the first and in the last frame (:func:`targets`). Those targets
come free with the simulator (``bouncing_balls(..., return_state=True)``); the speed and the last position cannot be
read off the first frame, they need the motion.

The network: four 3D convolutions (kernel 3, stride 2 in space and, from the second on, in time; GELU), the last
stage flattened (where things are) beside the earlier stages averaged over space and time (how much of each colour
and pattern there is; without that path the colours were learned far more slowly), then a linear layer to a
``feature_dim``-dimensional **feature vector** (32 by default) and a linear head for the targets. The Fréchet
distance is taken on the feature vectors (:func:`ardiff_edu.fvd.fd_from_features`).

**This is not FVD** and is comparable to nothing outside this project: the network, its training data and the clip
format are ours. It is meant for relative comparisons on bouncing balls under one fixed protocol (same network file,
same number of videos), with the sanity rows of :mod:`ardiff_edu.protocol` beside every score.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ardiff_edu.data import PALETTE, bouncing_balls
from ardiff_edu.utils import DATA_DIR, atomic_torch_save, check_int
from ardiff_edu.video import to_float

__all__ = ["DEFAULT_VIDEONET", "FORMAT", "VideoNetConfig", "VideoNet", "targets", "videonet_loss", "train_videonet",
           "load_videonet", "videonet_features", "main"]

#: The shipped network.
DEFAULT_VIDEONET = DATA_DIR / "checkpoints" / "videonet.pt"
FORMAT = "ardiff-edu-videonet-v1"
#: Training clips come from seeds ``TRAIN_SEED + step`` (never the DiT's training seed 0 or the held-out 10 000+).
TRAIN_SEED = 1_000_000


@dataclass(frozen=True)
class VideoNetConfig:
    num_frames: int = 16
    image_size: int = 32
    width: int = 16
    feature_dim: int = 32
    steps: int = 3000
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0


class VideoNet(nn.Module):
    """``(B, 3, F, H, W)`` in [-1, 1] → features ``(B, feature_dim)`` (:meth:`features`) → targets (:meth:`forward`)."""

    def __init__(self, cfg: VideoNetConfig = VideoNetConfig()):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        chans = [3, w, 2 * w, 4 * w, 4 * w]
        strides = [(1, 2, 2), (2, 2, 2), (2, 2, 2), (2, 2, 2)]
        self.convs = nn.ModuleList(nn.Conv3d(cin, cout, 3, stride=stride, padding=1)
                                   for cin, cout, stride in zip(chans[:-1], chans[1:], strides))
        with torch.no_grad():
            flat = self._pooled(torch.zeros(1, 3, cfg.num_frames, cfg.image_size, cfg.image_size)).shape[1]
        self.to_features = nn.Linear(flat, cfg.feature_dim)
        self.head = nn.Linear(cfg.feature_dim, len(PALETTE) + 6)

    def _pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage flattened (where things are), and every earlier stage averaged over space and time (how
        much of each colour and pattern there is)."""
        pooled = []
        for conv in self.convs:
            x = nn.functional.gelu(conv(x))
            pooled.append(x.mean((2, 3, 4)))
        return torch.cat([x.flatten(1)] + pooled[:-1], dim=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_features(self._pooled(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The predicted :func:`targets` ``(B, 14)``."""
        return self.head(nn.functional.gelu(self.features(x)))


def _inputs(videos, cfg: VideoNetConfig) -> torch.Tensor:
    v = np.asarray(videos)
    want = (cfg.num_frames, cfg.image_size, cfg.image_size, 3)
    if v.dtype != np.uint8 or v.ndim != 5 or v.shape[1:] != want:
        raise ValueError(f"videonet takes uint8 clips (N, {', '.join(map(str, want))}), got {v.dtype} {v.shape}; "
                         f"score longer videos window by window")
    return to_float(np.ascontiguousarray(v)).permute(0, 2, 1, 3, 4).contiguous()     # (N, 3, F, H, W)


def targets(state: dict, size: int) -> torch.Tensor:
    """The simulator's answer, ``(N, 14)``: for each of the 8 palette colours the area of its ball as a fraction of
    the frame ×10 (0 when absent), then the number of balls / 3, their mean speed / 2, and the mean ball position in
    the first and in the last frame divided by the frame size."""
    present, radii = state["present"], state["radii"]
    N = len(present)
    area = np.zeros((N, len(PALETTE)), np.float32)
    for n, b in zip(*np.nonzero(present)):
        area[n, state["colour_index"][n, b]] = 10 * np.pi * radii[n, b] ** 2 / size ** 2
    count = present.sum(1)
    speed = np.nansum(np.linalg.norm(state["velocities"][:, 0], axis=-1), axis=1) / count
    first = np.nanmean(state["positions"][:, 0], axis=1) / size
    last = np.nanmean(state["positions"][:, -1], axis=1) / size
    rest = np.concatenate([count[:, None] / 3, speed[:, None] / 2, first, last], axis=1)
    return torch.from_numpy(np.concatenate([area, rest], axis=1).astype(np.float32))


def videonet_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error summed over the targets, averaged over clips."""
    return ((out - target) ** 2).sum(-1).mean()


def _batch(cfg: VideoNetConfig, n: int, seed: int):
    clips, state = bouncing_balls(n, num_frames=cfg.num_frames, size=cfg.image_size, seed=seed, return_state=True)
    return _inputs(clips, cfg), targets(state, cfg.image_size)


@torch.no_grad()
def _evaluate(net: VideoNet, cfg: VideoNetConfig, n: int = 256) -> dict:
    x, target = _batch(cfg, n, TRAIN_SEED - 1)                    # one fixed batch no training step sees
    err = (net(x) - target).abs()
    present = target[:, :len(PALETTE)] > 0
    return {"loss": round(float(videonet_loss(net(x), target)), 4),
            "colour_acc": round(float(((net(x)[:, :len(PALETTE)] > 0.14) == present).float().mean()), 4),
            "count_err": round(float(err[:, len(PALETTE)].mean() * 3), 3),
            "speed_err_px": round(float(err[:, len(PALETTE) + 1].mean() * 2), 3),
            "position_err_px": round(float(err[:, len(PALETTE) + 2:].mean() * cfg.image_size), 3)}


def train_videonet(cfg: VideoNetConfig = VideoNetConfig(), progress: bool = True, log_every: int = 100):
    """Train from ``cfg.seed`` (weights) and the data seeds ``TRAIN_SEED + step``; returns ``(net, metrics)``."""
    for name in ("num_frames", "image_size", "width", "feature_dim", "steps", "batch_size"):
        check_int(name, getattr(cfg, name), 1)
    torch.manual_seed(check_int("seed", cfg.seed, 0))
    net = VideoNet(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    steps = range(cfg.steps)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="videonet", unit="step")
    for step in steps:
        lr = cfg.lr * 0.5 * (1 + np.cos(np.pi * step / cfg.steps))                 # cosine decay to 0
        for group in opt.param_groups:
            group["lr"] = lr
        x, target = _batch(cfg, cfg.batch_size, TRAIN_SEED + step)
        loss = videonet_loss(net(x), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if progress and step % log_every == 0:
            steps.set_postfix(loss=f"{loss.item():.4f}")
    return net.eval(), _evaluate(net.eval(), cfg)


def save_videonet(net: VideoNet, path, metrics: dict, command: str = "") -> Path:
    sd = {k: v.half() for k, v in net.state_dict().items()}                        # fp16: half the file
    return atomic_torch_save({"format": FORMAT, "config": dataclasses.asdict(net.cfg), "state_dict": sd,
                              "meta": {"metrics": metrics, "command": command, "torch_threads": torch.get_num_threads(),
                                       "saved_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}}, path)


def load_videonet(path=DEFAULT_VIDEONET) -> VideoNet:
    """Load a saved network (float32, eval mode)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"videonet file {str(path)!r} does not exist; train one with "
                         f"`python -m ardiff_edu.videonet --out {path}`")
    ck = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ck, dict) or ck.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a videonet file (format {FORMAT!r})")
    net = VideoNet(VideoNetConfig(**ck["config"]))
    net.load_state_dict({k: v.float() for k, v in ck["state_dict"].items()})
    net.meta = ck.get("meta", {})
    return net.eval()


@torch.no_grad()
def videonet_features(videos, net: VideoNet, batch_size: int = 64) -> np.ndarray:
    """Feature vectors ``(N, feature_dim)`` (float64) of uint8 clips ``(N, F, H, W, 3)`` of the network's format."""
    v = np.asarray(videos)
    _inputs(v[:1], net.cfg)                                                          # check the format once
    bs = check_int("batch_size", batch_size, 1)
    return np.concatenate([net.features(_inputs(v[i:i + bs], net.cfg)).double().numpy()
                           for i in range(0, len(v), bs)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ardiff_edu.videonet",
                                description="Train the small video network whose features give the toy "
                                            "Fréchet distance on bouncing balls (not FVD).",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    d = VideoNetConfig()
    p.add_argument("--out", type=Path, default=DEFAULT_VIDEONET, help="where to write the network")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--feature-dim", type=int, default=d.feature_dim)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    cfg = dataclasses.replace(d, steps=args.steps, batch_size=args.batch_size, feature_dim=args.feature_dim,
                              seed=args.seed)
    start = time.time()
    net, metrics = train_videonet(cfg, progress=not args.no_progress)
    command = "python -m ardiff_edu.videonet " + shlex.join(sys.argv[1:] if argv is None else argv)
    save_videonet(net, args.out, metrics, command)
    print(f"held-out batch: {metrics}")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB) in {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
