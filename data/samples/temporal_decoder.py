"""Does a decoder that sees the frames before it draw straighter motion? A causal temporal decoder.

    python data/samples/temporal_decoder.py --sigma 0.6 --jitter 1 --frames 5 --after 0 2 4 --out runs/temporal10j5
    python data/samples/temporal_decoder.py --paired data/checkpoints/balls-independent.pt \
        runs/robust6/balls-independent.pt runs/temporal10j5/temporal_decoder.pt [--num-frames 64] [--autoguide FILE]
    python data/samples/temporal_decoder.py --response runs/robust6/balls.pt runs/temporal10j5/temporal_decoder.pt

The shipped tokenizer decodes every frame alone, as the official code's diffusion configs do. That code also holds a
temporal variant (``src/vae/titok_kl_wt.py`` and ``src/vae/blocks_kl_wt.py`` of ``iva-mzsun/AR-Diffusion`` at
commit ``7a37b94``, fine-tuned by ``shell_scripts/stage1_vae_scripts/sky_vae_train_ftwt.sh``): every decoder layer
gains zero-initialised attention blocks that look at the frames before the one being decoded, never after it, so that
a video can still be decoded as it is generated, and only those blocks are fine-tuned, on clips. This script builds
the same idea for the conv tokenizer: after decoder layers ``--after`` (0: the 4×4 grid; 2: the first 8×8 map; 4:
the 16×16 map) it inserts a *causal temporal block*

    h_t ← h_t + W_out · SiLU(W_mix ∗ [h_{t−k+1}, …, h_t]),      W_out = 0 at the start

(``W_mix`` a ``k × 3 × 3`` convolution over frames and space, the frames before the first one repeating it), so that
the new decoder starts as exactly the shipped one. It is fine-tuned with the recipe of ``robust_decoder.py`` on
clips instead of frames: the encoder frozen, every latent noised by ``σ ~ U(0, sigma)`` latent standard deviations
per frame, ``loss = MSE(decode(z + σ · latent_std · ε), x)`` weighted ``tok_fg_weight``× on non-black pixels, Adam
with a cosine decay, an EMA with the fixed decay ``tok_ema_decay`` over every trained weight. Unlike the official
stage, the decoder's own weights train too (as in ``robust_decoder.py``, whose per-frame decoder of the same recipe
is the control). With ``--jitter J`` the encoder sees the clip drawn again with every ball moved by ``δ ~ N(0, j²)``
per axis, ``j ~ U(0, J)`` pixels per frame, while the target stays the true clip: an error in the ball's place like
the DiT's, which the frames before it can reveal, since the balls move at constant velocity. A run writes
``OUT/temporal_decoder.jsonl`` (the loss every 50 steps) and ``OUT/temporal_decoder.pt`` (the EMA decoder, fp32, and
where it came from). Deterministic for a given thread count: the clips, the noise and the blocks' starting
``W_mix`` all come from ``--seed``.

``--paired A B C``: the same generated latents (A's DiT; ``s = 5``, ``S = 50``, seed 0, the tables' protocol)
decoded by B's per-frame decoder and by the temporal decoder C; the difference of the tracker's medians with a
paired bootstrap interval over videos. ``--response B C``: held-out real clips through both, their latents noised by
``σ`` (the tokenizer's own error at ``σ = 0``). Not in the paper's shipped models, nor in any of this project's.
"""

import argparse
import copy
import importlib.util
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ardiff_edu import checkpoint as ckpt
from ardiff_edu.config import PRESETS, build_tokenizer
from ardiff_edu.data.synthetic import bouncing_balls, render_discs
from ardiff_edu.losses import foreground_weight
from ardiff_edu.metrics import ball_stats
from ardiff_edu.pipeline import (add_guidance_arguments, check_same_latents, generate, load_autoguide, load_pipeline,
                                 real_clips)
from ardiff_edu.utils import atomic_torch_save, check_float, check_int
from ardiff_edu.video import to_float, to_uint8

_spec = importlib.util.spec_from_file_location("robust_decoder", Path(__file__).with_name("robust_decoder.py"))
robust_decoder = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(robust_decoder)
START = robust_decoder.START
AFTER = (0, 2)             # the decoder layers after which a temporal block sits: the 4×4 grid, the first 8×8 map
COLUMNS = robust_decoder.COLUMNS + ("speed_median",)
KEYS = COLUMNS + ("sharpness",)                     # the tracker's columns, then the decoder's sharpness
SIGMAS = (0.0, 0.3, 0.6)


class CausalTemporalBlock(nn.Module):
    """``h_t ← h_t + W_out · SiLU(W_mix ∗ [h_{t−k+1}, …, h_t])`` on ``(B, C, F, H, W)``; ``W_out = 0``: the
    identity at the start. The frames before the first one repeat it, so frame ``t`` sees frames ``≤ t`` only."""

    def __init__(self, channels: int, frames: int):
        super().__init__()
        self.frames = frames
        self.mix = nn.Conv3d(channels, channels, (frames, 3, 3), padding=(0, 1, 1))
        self.out = nn.Conv3d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        past = F.pad(h, (0, 0, 0, 0, self.frames - 1, 0), mode="replicate")      # causal: only frames before
        return h + self.out(F.silu(self.mix(past)))


class TemporalDecoder(nn.Module):
    """A frame decoder (``FrameTokenizer.decoder``) with a :class:`CausalTemporalBlock` after each layer of
    ``after``: tokens ``(B, F, L, C)`` (the tokenizer's, not normalised) → frames ``(B, F, 3, H, W)``."""

    def __init__(self, tokenizer, frames: int = 3, after=AFTER):
        super().__init__()
        if tokenizer.l2_normalize:
            raise ValueError("the temporal decoder is built for tokenizers without l2_normalize")
        self.frames = check_int("frames", frames, 1, 16)
        self.grid = tokenizer.grid
        self.decoder = copy.deepcopy(tokenizer.decoder)
        self.after = tuple(after)
        last = len(self.decoder) - 2                                 # not after the output layer
        for i in self.after:
            check_int("after", i, 0, last)
        convs = (nn.Conv2d, nn.ConvTranspose2d)                      # the width of the map after layer i
        width = {i: [m for m in self.decoder[:i + 1] if isinstance(m, convs)][-1].out_channels for i in self.after}
        self.blocks = nn.ModuleDict({str(i): CausalTemporalBlock(width[i], frames) for i in self.after})

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        B, Fr, L, C = tokens.shape
        h = tokens.flatten(0, 1).transpose(1, 2).reshape(B * Fr, C, self.grid, self.grid)
        for i, layer in enumerate(self.decoder):
            h = layer(h)
            if str(i) in self.blocks:
                v = h.unflatten(0, (B, Fr)).transpose(1, 2)                       # (B, C, F, H, W)
                h = self.blocks[str(i)](v).transpose(1, 2).flatten(0, 1)
        return h.unflatten(0, (B, Fr))


def load_temporal(path, pipe):
    """The temporal decoder saved at ``path`` for ``pipe``'s tokenizer (whose encoder it was trained with)."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if any(not torch.equal(saved["encoder"][k].float(), v.float())
           for k, v in pipe.tokenizer.encoder_state_dict().items()):
        raise ValueError(f"{path} was trained on another encoder's latents than this checkpoint's")
    dec = TemporalDecoder(pipe.tokenizer, saved["frames"], saved["after"])
    dec.load_state_dict(saved["decoder"])
    return dec.eval()


@torch.no_grad()
def decode_uint8(dec: TemporalDecoder, pipe, latents: torch.Tensor, chunk: int = 16) -> np.ndarray:
    """Normalised latents ``(M, N, L, C)`` of ``pipe`` → uint8 videos ``(M, N, H, W, 3)`` through ``dec``."""
    out = []
    for i in range(0, len(latents), chunk):
        z = latents[i:i + chunk].float() * pipe.latent_std + pipe.latent_mean
        out.append(np.asarray(to_uint8(dec(z).clamp(-1, 1))))
    return np.concatenate(out)


def per_frame(second, pipe) -> tuple:
    """B's own decoder as a labelled function of normalised latents."""
    return f"per-frame decoder of `{second}`", pipe.decode_uint8


def temporal(third, pipe) -> tuple:
    """The temporal decoder C, for B's pipeline ``pipe``, as a labelled function of normalised latents."""
    dec = load_temporal(third, pipe)
    return f"temporal decoder `{third}`", lambda z: decode_uint8(dec, pipe, z)


def generated_latents(first, second, third, num_videos: int, num_frames: int, seed: int, autoguide=None,
                      autoguide_scale=None, **sampler) -> tuple:
    """A's generated latents (``s = 5``, ``S = 50``; ``sampler``: the other options of ``generate``), the weight of
    the autoguidance, and the labelled decoders of B (per frame) and C (temporal), checked to read A's latents."""
    a, b = load_pipeline(first), load_pipeline(second)
    check_same_latents(a, b)
    guide, w = load_autoguide(autoguide, autoguide_scale)
    z = generate(a, num_videos, num_frames, s=5, num_steps=50, seed=seed, overflow="wait", autoguide=guide,
                 autoguide_scale=w, return_latents=True, **sampler)[1]
    return z, w, [per_frame(second, b), temporal(third, b)]


def sharpness(videos: np.ndarray) -> np.ndarray:
    """Per video: the root mean square of the steps between neighbouring pixels (grey levels 0-255, both
    directions). An edge of height ``h`` spread over ``w`` pixels adds ``h² / w`` to the sum of squares, so a decoder
    that blurs the balls' edges lowers it (the mean *absolute* step would not change). ``(N, F, H, W, 3)`` uint8 →
    ``(N,)``."""
    grey = videos.astype(np.float64).mean(-1)
    across = (np.diff(grey, axis=-1) ** 2).mean(axis=(1, 2, 3))
    down = (np.diff(grey, axis=-2) ** 2).mean(axis=(1, 2, 3))
    return np.sqrt((across + down) / 2)


@torch.no_grad()
def paired(first, second, third, num_videos: int = 64, num_frames: int = 16, seed: int = 0, autoguide=None,
           autoguide_scale=None, history_guidance: float = 1.0, history_guidance_max_t=None,
           temperature: float = 1.0) -> str:
    """A's generated latents (with the sampler options of ``sample``) through B's per-frame decoder and the temporal
    decoder C, paired."""
    z, w, [(la, da), (lc, dc)] = generated_latents(
        first, second, third, num_videos, num_frames, seed, autoguide, autoguide_scale,
        history_guidance=history_guidance, history_guidance_max_t=history_guidance_max_t, temperature=temperature)
    head = f"`{first}`: {num_videos} videos of {num_frames} frames, `s = 5`, `S = 50`, seed {seed}"
    if autoguide:
        head += f", frame 0 autoguided by `{autoguide}` (weight {w:g})"
    if history_guidance != 1:
        head += f", history guidance {history_guidance:g}"
        head += f" on `t < {history_guidance_max_t}`" if history_guidance_max_t is not None else ""
    if temperature != 1:
        head += f", temperature {temperature:g}"
    return robust_decoder.paired_table(head, [la, lc], [da(z), dc(z)], columns=COLUMNS, extra={"sharpness": sharpness},
                                       seed=seed)


@torch.no_grad()
def figure(first, second, third, out, video: int = 3, frames=(2, 7), autoguide=None, seed: int = 0) -> Path:
    """A PNG of frames ``frames[0]…frames[1]`` of video ``video`` of A's 4 videos of 16 frames (the noise of the
    README's GIFs, seed ``seed``): B's per-frame decoder above, the temporal decoder C below, their difference last."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    check_int("video", video, 0, 3)
    first_frame, last_frame = check_int("frames[0]", frames[0], 0, 15), check_int("frames[1]", frames[1], 0, 15)
    if last_frame < first_frame:
        raise ValueError(f"frames must be a range first <= last within [0, 15], got {list(frames)}")
    z, _, [(_, da), (_, dc)] = generated_latents(first, second, third, 4, 16, seed, autoguide)
    shown = range(first_frame, last_frame + 1)
    per_frame, temporal = da(z)[video], dc(z)[video]
    fig, axes = plt.subplots(3, len(shown), figsize=(1.6 * len(shown) + 1.2, 5.4), squeeze=False)
    for j, f in enumerate(shown):
        axes[0, j].imshow(per_frame[f], interpolation="nearest")
        axes[1, j].imshow(temporal[f], interpolation="nearest")
        diff = np.abs(per_frame[f].astype(int) - temporal[f].astype(int)).sum(-1)
        image = axes[2, j].imshow(diff, cmap="magma", vmin=0, vmax=255, interpolation="nearest")
        axes[0, j].set_title(f"frame {f}", fontsize=10)
        for ax in axes[:, j]:
            ax.set(xticks=[], yticks=[])
    for ax, name in zip(axes[:, 0], ("per-frame\ndecoder", "temporal\ndecoder", "|difference|")):
        ax.set_ylabel(name, fontsize=10)
    fig.subplots_adjust(right=0.86, wspace=0.08, hspace=0.12)
    box = axes[2, -1].get_position()
    bar = fig.colorbar(image, cax=fig.add_axes([0.88, box.y0, 0.015, box.height]))
    bar.set_label("|difference|, summed over\nR, G, B (shown up to 255)", fontsize=9)
    bar.ax.tick_params(labelsize=9)
    fig.suptitle(f"video {video} of 4 (seed {seed}): the same latents through both decoders", fontsize=10)
    out = Path(out)
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out


@torch.no_grad()
def response(second, *thirds, sigmas=SIGMAS, num_videos: int = 64, num_frames: int = 16, seed: int = 0) -> str:
    """Held-out real clips through B's per-frame decoder and the temporal decoders C…, latents noised by σ."""
    b = load_pipeline(second)
    rows = [per_frame(second, b)] + [temporal(third, b) for third in thirds]
    real = real_clips(b, num_videos, num_frames, seed)[0]
    z = torch.cat([b.encode_uint8(real[i:i + 16]) for i in range(0, len(real), 16)])

    def cells(videos) -> str:
        v = dict(ball_stats(videos)[0], sharpness=sharpness(videos).mean())
        return " | ".join(f"{v[k]:.3f}" for k in KEYS) + " |"

    lines = ["| decoder | σ (latent std) | " + " | ".join(KEYS) + " |", "|---|---|" + "---|" * len(KEYS),
             "| the real clips themselves | – | " + cells(real)]
    for sigma in sigmas:
        noisy = robust_decoder.noised_latents(z, check_float("sigma", sigma, 0.0, 10.0), torch.ones(()),
                                              torch.Generator().manual_seed(seed))
        lines += [f"| {label} | {sigma:g} | " + cells(dec(noisy)) for label, dec in rows]
    return "\n".join(lines)


def choose(generated: dict, clean: dict, colour_limit: float = 4.9, accel_limit: float = 0.15) -> str:
    """The rule that picks the temporal decoder, fixed after four arms had been scored and before the last two: among
    the decoders that draw real clips (clean latents) with a colour change of at most ``colour_limit`` (issue 14's
    tokenizer target) and an acceleration of at most ``accel_limit`` (its motion target), and that keep the
    generated balls within 10 % of the speed the per-frame decoder gives them, the one whose generated clips have
    the smallest median acceleration. ``generated``: ``{decoder: {column: (per-frame, temporal)}}`` of the seed-2
    paired tables; ``clean``: ``{decoder: {column: value}}`` of real clips through it."""
    ok = [d for d, v in generated.items() if clean[d]["colour_drift_median"] <= colour_limit
          and clean[d]["accel_median"] <= accel_limit
          and abs(v["speed_median"][1] - v["speed_median"][0]) <= 0.1 * v["speed_median"][0]]
    if not ok:
        raise ValueError(f"no temporal decoder passes the guards: {sorted(generated)}")
    return min(ok, key=lambda d: generated[d]["accel_median"][1])


def read_paired(text: str) -> dict:
    """``{temporal decoder path: {column: (per-frame value, temporal value)}}`` from ``--paired`` tables."""
    out, current = {}, None
    for line in text.splitlines():
        found = re.search(r"temporal decoder `([^`]+)`", line)
        if found:
            current = out.setdefault(found.group(1), {})
        cells = [c.strip() for c in line.strip("| ").split(" | ")]
        if current is not None and cells[0] in KEYS:
            current[cells[0]] = (float(cells[1]), float(cells[2]))
    return out


def read_response(text: str, sigma: str = "0") -> dict:
    """``{decoder label: {column: value}}`` of the rows of ``--response`` tables at noise ``sigma``."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("| ").split(" | ")]
        if len(cells) == len(KEYS) + 2 and cells[1] == sigma:
            out[re.search(r"`([^`]+)`", cells[0]).group(1)] = dict(zip(KEYS, map(float, cells[2:])))
    return out


def balls_clips(cfg):
    """The training clips of ``cfg`` (the ``balls`` data set) as uint8 ``(N, F, H, W, 3)``, and their balls."""
    if cfg.dataset != "balls":
        raise ValueError(f"the temporal decoder trains on the balls data set, got {cfg.dataset!r}")
    clips, state = bouncing_balls(cfg.num_clips, num_frames=cfg.num_frames, size=cfg.image_size, seed=cfg.data_seed,
                                  return_state=True)
    return torch.as_tensor(clips), state


def jittered(state: dict, pick: np.ndarray, jitter: float, gen: torch.Generator, size: int) -> np.ndarray:
    """Clips ``pick`` drawn again with every ball moved by ``δ ~ N(0, j²)`` per axis, ``j ~ U(0, jitter)`` pixels
    per frame: a position error of the size the DiT makes, for the decoder to undo from the frames before."""
    pos = np.nan_to_num(state["positions"][pick])                            # (n, F, B, 2); absent balls: 0
    j = jitter * torch.rand(pos.shape[0], pos.shape[1], 1, 1, generator=gen)
    pos = pos + (j * torch.randn(pos.shape, generator=gen)).numpy()
    return render_discs(pos, state["radii"][pick], state["colours"][pick], state["present"][pick], size)


def main(sigma: float, out, steps: int = 1000, lr: float = 3e-4, clips: int = 8, frames: int = 3, seed: int = 7,
         threads: int = 2, start: str = START, jitter: float = 0.0, after=AFTER) -> Path:
    check_float("sigma", sigma, 0.0, 10.0)
    check_float("jitter", jitter, 0.0, 4.0)
    check_int("steps", steps, 1, 10 ** 6)
    check_int("clips", clips, 1, 512)
    out = Path(out)
    for t in (out / "temporal_decoder.pt", out / "temporal_decoder.jsonl"):
        if t.exists():
            raise ValueError(f"{t} exists: pass another --out")
    first = ckpt.load_file(start)
    cfg = PRESETS["balls"]
    tok = build_tokenizer(cfg)
    tok.load_state_dict({k: v.float() for k, v in first["tokenizer"].items()})
    with torch.random.fork_rng():
        torch.manual_seed(seed)                            # W_mix starts random: seeded, so that a run repeats
        dec = TemporalDecoder(tok, frames, after)
    torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    tok.requires_grad_(False)
    std = first["latent_std"].float()
    data, state = balls_clips(cfg)                                   # (N, F, H, W, 3) uint8 and the balls
    gen = torch.Generator().manual_seed(seed)

    def batch_loss():
        pick = torch.randint(len(data), (clips,), generator=gen)
        x = to_float(data[pick])                                                       # (n, F, C, H, W)
        n, Fr = x.shape[:2]
        with torch.no_grad():
            seen = x if not jitter else to_float(jittered(state, pick.numpy(), jitter, gen, cfg.image_size))
            z = robust_decoder.noised_latents(tok.encode_video(seen).flatten(0, 1),
                                              sigma * torch.rand(n * Fr, generator=gen), std, gen).unflatten(0, (n, Fr))
        return (foreground_weight(x.flatten(0, 1), cfg.tok_fg_weight)
                * (dec(z).flatten(0, 1) - x.flatten(0, 1)) ** 2).mean()

    ema = robust_decoder.fit(dec, batch_loss, steps, lr, cfg.tok_ema_decay, out / "temporal_decoder.jsonl")
    target = out / "temporal_decoder.pt"
    atomic_torch_save({"decoder": ema.state_dict(), "frames": frames, "after": list(dec.after),
                       "encoder": tok.encoder_state_dict(), "start": str(start),
                       "made_by": f"temporal_decoder.py --sigma {sigma:g} --jitter {jitter:g} --steps {steps} "
                                  f"--frames {frames} --after {' '.join(map(str, dec.after))}"}, target)
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="fine-tune a causal temporal decoder on noised latents of clips")
    robust_decoder.add_training_arguments(parser, "clips")
    parser.add_argument("--frames", type=int, default=3, help="k: the frames each temporal block sees (itself too)")
    parser.add_argument("--after", type=int, nargs="+", default=list(AFTER),
                        help="the decoder layers after which a temporal block sits (0: the 4×4 grid)")
    parser.add_argument("--eval-seed", type=int, default=0, help="with --paired / --response: the noise and clips")
    parser.add_argument("--jitter", type=float, default=0.0,
                        help="the largest position error (pixels, per axis) of the balls the decoder sees")
    parser.add_argument("--paired", nargs=3, metavar=("A", "B", "C"),
                        help="instead: A's generated latents through B's per-frame decoder and temporal decoder C")
    parser.add_argument("--response", nargs="+", metavar="B C",
                        help="instead: noised latents of real clips through B's decoder and temporal decoders C…")
    parser.add_argument("--figure", metavar="PNG", help="with --paired A B C: draw one video's frames instead")
    parser.add_argument("--video", type=int, default=3, help="with --figure: which of the 4 videos")
    parser.add_argument("--show", type=int, nargs=2, default=[2, 7], help="with --figure: its first and last frame")
    parser.add_argument("--num-frames", type=int, default=16, help="with --paired (64: 32 videos, sliding window)")
    add_guidance_arguments(parser, "with --paired: ")
    a = parser.parse_args()
    if a.paired and a.figure:
        torch.set_num_threads(a.threads)
        figure(*a.paired, a.figure, video=a.video, frames=a.show, autoguide=a.autoguide, seed=a.eval_seed)
    elif a.paired:
        torch.set_num_threads(a.threads)
        print(paired(*a.paired, num_videos=64 if a.num_frames <= 16 else 32, num_frames=a.num_frames,
                     seed=a.eval_seed, autoguide=a.autoguide, autoguide_scale=a.autoguide_scale,
                     history_guidance=a.history_guidance, history_guidance_max_t=a.history_guidance_max_t,
                     temperature=a.temperature))
    elif a.response:
        if len(a.response) < 2:
            parser.error(f"--response needs a checkpoint and at least one temporal decoder, got {a.response}")
        torch.set_num_threads(a.threads)
        print(response(*a.response, seed=a.eval_seed))
    elif a.sigma is None or a.out is None:
        parser.error("--sigma and --out are required unless --paired or --response is given")
    else:
        main(a.sigma, a.out, steps=a.steps, lr=a.lr, frames=a.frames, seed=a.seed, threads=a.threads, start=a.start,
             jitter=a.jitter, after=a.after)
