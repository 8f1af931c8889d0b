"""Checkers for the exercises of notebook 06 (the temporal-causal transformer).

* :func:`check_leaky_from_causal` — ``leaky(causal_mask, num_context_tokens)``: the official leaky mask built from
  the strictly causal one, compared with :func:`ardiff_edu.models.attention_mask`.
* :func:`check_causality_detector` — ``sees_the_future(model, x, t, labels)``: says whether the outputs of earlier
  frames change when later frames change; tried on strictly causal, leaky and full-attention DiTs.
* :func:`check_frame_modulation` — ``modulate_frame(block, h, c)``: the adaLN input of one frame's attention branch,
  compared with what :class:`ardiff_edu.models.DiTBlock` computes.
"""

from __future__ import annotations

import torch

from ardiff_edu.exercises import Result, call, failed, passed
from ardiff_edu.models import DiT, DiTBlock, attention_mask

__all__ = ["MASK_CASES", "perturbed", "check_leaky_from_causal", "check_causality_detector", "check_frame_modulation"]

#: ``(num_frames, num_tokens, num_context_tokens)`` the mask checker tries, in this order.
MASK_CASES = ((3, 2, 1), (4, 3, 2), (2, 5, 3), (5, 1, 1), (1, 4, 2), (6, 2, 4))


def perturbed(module: torch.nn.Module, seed: int, std: float = 0.1) -> torch.nn.Module:
    """``module`` with ``std``·N(0, 1) added to every parameter (so the zero-initialised adaLN and output layers carry
    signal), in eval mode. Deterministic for a given ``seed``."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * std)
    return module.eval()


def check_leaky_from_causal(leaky) -> Result:
    """``leaky(causal_mask, num_context_tokens)`` must return ``attention_mask("leaky", F, L, K)`` from
    ``attention_mask("causal", F, L, K)`` for every case of :data:`MASK_CASES`, without changing its input."""
    for F, L, K in MASK_CASES:
        causal = attention_mask("causal", F, L, K)
        given = causal.clone()
        got, err = call(leaky, given, K)
        if err is not None:
            return err
        expected = attention_mask("leaky", F, L, K)
        where = f"F={F}, L={L}, K={K}"
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape or got.dtype != torch.bool:
            desc = (tuple(got.shape), got.dtype) if isinstance(got, torch.Tensor) else type(got).__name__
            return failed(f"{where}: returned {desc}, expected a bool tensor of shape {tuple(expected.shape)}")
        if not torch.equal(given, causal):
            return failed(f"{where}: the causal mask passed in was changed; work on a copy (mask.clone())")
        if not torch.equal(got, expected):
            q, k = (int(i) for i in (got != expected).nonzero()[0])
            row = "context" if q < K else f"frame {(q - K) // L}"
            col = "context" if k < K else f"frame {(k - K) // L}"
            return failed(f"{where}: entry (query {q} = {row}, key {k} = {col}) is {bool(got[q, k])}, expected "
                          f"{bool(expected[q, k])}")
    return passed(f"leaky masks right for all {len(MASK_CASES)} (F, L, K) cases")


def _dit(mask: str, seed: int, F: int, L: int, width: int, K: int) -> DiT:
    torch.manual_seed(seed)
    return perturbed(DiT(token_dim=4, num_tokens=L, max_frames=F, width=width, depth=2, heads=2, mask=mask,
                         num_context_tokens=K), seed)


def check_causality_detector(sees_the_future) -> Result:
    """``sees_the_future(model, x, t)`` must return ``True`` exactly when some output of an earlier frame depends on a
    later frame's latents or timestep. Tried on strictly causal DiTs (``False``), leaky ones with context tokens and
    full-attention ones (``True``), over several seeds and sizes."""
    cases = [(mask, seed, F, L, width, K) for seed, (F, L, width, K) in enumerate([(4, 4, 16, 1), (6, 2, 32, 2),
                                                                                  (3, 5, 16, 1)])
             for mask in ("causal", "full", "leaky")]
    for mask, seed, F, L, width, K in cases:
        model = _dit(mask, seed, F, L, width, K)
        g = torch.Generator().manual_seed(1000 + seed)
        x, t = torch.randn(2, F, L, 4, generator=g), torch.randint(0, 1000, (2, F), generator=g)
        got, err = call(sees_the_future, model, x.clone(), t.clone())
        if err is not None:
            return err
        expected = mask != "causal"
        if not isinstance(got, (bool, torch.Tensor)) or (isinstance(got, torch.Tensor) and got.numel() != 1):
            return failed(f"returned {type(got).__name__}, expected True or False")
        if bool(got) != expected:
            return failed(f"mask={mask!r} (F={F}, L={L}, width={width}, K={K}, seed {seed}): returned {bool(got)}, "
                          f"expected {expected}: " + ("under the full or leaky mask an earlier frame's output moves "
                                                       "when a later frame changes" if expected else
                                                       "under the causal mask no earlier output moves when later "
                                                       "frames change (compare with a tolerance such as 1e-6)"))
    return passed(f"right on all {len(cases)} models: causal ones never see the future, leaky and full ones do")


def check_frame_modulation(modulate_frame) -> Result:
    """``modulate_frame(block, h, c)`` with one frame's tokens ``h (L, D)`` and conditioning ``c (D,)`` must return
    ``LN(h)·(1 + scale) + shift`` with that frame's attention shift and scale, as ``block`` computes them."""
    for seed, (F, L, D) in enumerate([(3, 4, 16), (2, 6, 32)]):
        torch.manual_seed(seed)
        block = perturbed(DiTBlock(D, heads=2), seed)
        g = torch.Generator().manual_seed(2000 + seed)
        h, c = torch.randn(1, F, L, D, generator=g) * 2 + 1, torch.randn(1, F, D, generator=g)
        shift, scale = block.ada(c).unsqueeze(2).chunk(6, dim=-1)[:2]
        with torch.no_grad():
            expected = block.norm1(h) * (1 + scale) + shift                    # (1, F, L, D)
        for f in range(F):
            with torch.no_grad():
                got, err = call(modulate_frame, block, h[0, f].clone(), c[0, f].clone())
            if err is not None:
                return err
            if not isinstance(got, torch.Tensor) or got.shape != (L, D):
                desc = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
                return failed(f"frame {f}: returned {desc}, expected a tensor of shape (L, D) = {(L, D)}")
            if not torch.allclose(got, expected[0, f], atol=1e-5):
                l, d = (int(i) for i in ((got - expected[0, f]).abs() > 1e-5).nonzero()[0])
                return failed(f"D={D}, frame {f}: token {l}, dimension {d} is {float(got[l, d]):.4f}, expected "
                              f"{float(expected[0, f, l, d]):.4f}")
    return passed("modulate_frame gives every frame's attention input, as the package's block computes it")
