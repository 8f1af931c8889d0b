"""Tests for ardiff_edu.models: the frame tokenizer and the temporal-causal DiT."""

import pytest
import torch

from ardiff_edu.models import DiT, FrameTokenizer, attention_mask, sincos_positions, timestep_embedding

torch.set_num_threads(2)
B, Fr, L, C = 2, 4, 16, 8


def small_dit(**kw):
    torch.manual_seed(0)
    args = dict(token_dim=C, num_tokens=L, max_frames=8, width=32, depth=2, heads=2)
    args.update(kw)
    return DiT(**args)


def randomize(model):
    """Give the zero-initialised layers random weights so that every path carries signal."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return model


def inputs(frames=Fr, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, frames, L, C, generator=g), torch.randint(0, 1000, (B, frames), generator=g)


def test_dit_shapes_and_zero_init():
    m = small_dit()
    x, t = inputs()
    y = m(x, t)
    assert y.shape == (B, Fr, L, C)
    assert torch.equal(y, torch.zeros_like(y))                     # adaLN-Zero + zero output layer
    assert m.prediction == "x0" and small_dit(prediction="v").prediction == "v"
    assert m(x[:, :1], t[:, :1]).shape == (B, 1, L, C)            # any window up to max_frames


@pytest.mark.parametrize("mask", ["causal", "leaky", "full"])
def test_causality(mask):
    """Perturbing frames >= k leaves frames < k unchanged iff the mask is strictly causal."""
    m = randomize(small_dit(mask=mask, num_classes=3)).eval()
    x, t = inputs()
    labels = torch.tensor([0, 2])
    k = 2
    x2, t2 = x.clone(), t.clone()
    x2[:, k:] += torch.randn_like(x2[:, k:])
    t2[:, k:] = (t2[:, k:] + 123) % 1000
    y, y2 = m(x, t, labels), m(x2, t2, labels)
    past_same = torch.allclose(y[:, :k], y2[:, :k], atol=1e-6, rtol=0)
    assert past_same == (mask == "causal")
    assert not torch.allclose(y[:, k:], y2[:, k:])                # the future does change


def test_causal_unconditional_exact():
    m = randomize(small_dit()).eval()
    x, t = inputs()
    x2 = x.clone()
    x2[:, 3] = 5.0
    assert torch.equal(m(x, t)[:, :3], m(x2, t)[:, :3])


def test_block_is_clean_pre_norm():
    """Paper vs code: with zero gates our block is the identity on the video (pre-norm residual); the official block
    (``official_residual=True``) returns LN(x), because it overwrites its residual stream with the normalised input."""
    m = small_dit()
    x = torch.randn(B, Fr, L, 32) * 3 + 1
    c = torch.randn(B, Fr, 32)
    ctx = torch.zeros(B, 0, 32)
    assert torch.equal(m.blocks[0](ctx, x, c, None)[1], x)
    official = DiT(4, L, max_frames=Fr, width=32, depth=1, heads=4, official_residual=True)
    ln = torch.nn.functional.layer_norm(x, (32,), eps=1e-6)
    torch.testing.assert_close(official.blocks[0](ctx, x, c, None)[1],
                               torch.nn.functional.layer_norm(ln, (32,), eps=1e-6))


def test_attention_mask_definition():
    m = attention_mask("causal", 3, 2, num_context_tokens=1)
    assert m.shape == (7, 7) and m.dtype == torch.bool
    frame = [-1, 0, 0, 1, 1, 2, 2]
    for q in range(7):
        for k in range(7):
            expect = frame[k] == -1 if frame[q] == -1 else frame[k] <= frame[q]
            assert bool(m[q, k]) == expect
    leaky = attention_mask("leaky", 3, 2, num_context_tokens=1)
    assert leaky[0].all() and torch.equal(leaky[1:], m[1:])
    assert attention_mask("full", 3, 2, 1).all()
    assert torch.equal(attention_mask("leaky", 3, 2), attention_mask("causal", 3, 2))   # no context: identical ...
    with pytest.raises(ValueError, match=r"mask='leaky' needs num_context_tokens >= 1"):  # ... so a DiT refuses it
        DiT(4, L, mask="leaky")
    assert attention_mask("causal", 2, 3)[:3, :3].all()                                 # full inside a frame


def test_positions_and_timestep_embedding():
    p = sincos_positions(4, 16, 32)
    assert p.shape == (4, 16, 32)
    assert torch.equal(p[0, :, :16], p[0, :1, :16].expand(16, -1))      # first half: frame only
    assert torch.equal(p[:, 0, 16:], p[:1, 0, 16:].expand(4, -1))       # second half: token only
    e = timestep_embedding(torch.tensor([[0, 5]]))
    assert e.shape == (1, 2, 256) and torch.allclose(e[0, 0, :128], torch.ones(128))


def test_per_frame_timestep_only_affects_its_frame_and_later():
    m = randomize(small_dit()).eval()
    x, t = inputs()
    t2 = t.clone()
    t2[:, 1] = (t2[:, 1] + 500) % 1000
    y, y2 = m(x, t), m(x, t2)
    assert torch.equal(y[:, 0], y2[:, 0]) and not torch.allclose(y[:, 1], y2[:, 1])


def test_null_label():
    m = randomize(small_dit(num_classes=3)).eval()
    assert m.null_label == 3 and m.class_embed.num_embeddings == 4
    x, t = inputs()
    null = m(x, t, torch.tensor([3, 3]))
    assert torch.equal(m(x, t), null)                                  # labels=None means the null label
    assert not torch.allclose(m(x, t, torch.tensor([0, 0])), null)     # class 0 is not the null label
    with pytest.raises(ValueError, match=r"labels must be an integer tensor of shape \(2,\) in \[0, 3\]"):
        m(x, t, torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="unconditional"):
        small_dit()(x, t, torch.tensor([0, 0]))


def test_dit_bad_args():
    with pytest.raises(ValueError, match="mask must be one of .* got 'strict'"):
        small_dit(mask="strict")
    with pytest.raises(ValueError, match="prediction must be one of .* got 'score'"):
        small_dit(prediction="score")
    with pytest.raises(ValueError, match=r"depth must be >= 1, got 0"):
        small_dit(depth=0)
    with pytest.raises(ValueError, match="width must be a multiple"):
        small_dit(width=30, heads=4)
    with pytest.raises(ValueError, match="num_classes must be >= 1, got 0"):
        small_dit(num_classes=0)
    with pytest.raises(ValueError, match="kind must be one of"):
        attention_mask("diagonal", 2, 2)
    m, (x, t) = small_dit(), inputs()
    with pytest.raises(ValueError, match=r"num_frames \(x.shape\[1\]\) must be in \[1, 8\], got 9"):
        m(*inputs(frames=9))
    with pytest.raises(ValueError, match="t must be an integer tensor"):
        m(x, t.float())
    with pytest.raises(ValueError, match="x must have shape"):
        m(x[..., :4], t)


def test_tokenizer_shapes_and_normalisation():
    torch.manual_seed(0)
    tok = FrameTokenizer(width=8)
    frames = torch.rand(3, 3, 32, 32) * 2 - 1
    z = tok.encode(frames)
    assert z.shape == (3, 16, 8) and tok.num_tokens == 16
    assert tok.decode(z).shape == (3, 3, 32, 32)
    video = torch.rand(2, 5, 3, 32, 32) * 2 - 1
    zv = tok.encode_video(video)
    assert zv.shape == (2, 5, 16, 8)
    assert torch.allclose(zv[1, 2], tok.encode(video[1, 2:3])[0], atol=1e-6)
    assert tok.decode_video(zv).shape == video.shape
    assert tok.l2_normalize is False                                       # our documented default
    l2 = FrameTokenizer(width=8, token_dim=4, l2_normalize=True)
    zn = l2.encode(frames)
    # fixed-length tokens as in the paper (§4.3), scaled to length √C so each channel has RMS 1
    assert torch.allclose(zn.norm(dim=-1), torch.full((3, 16), 2.0), atol=1e-5)
    assert torch.allclose(l2.decode(zn * 3), l2.decode(zn), atol=1e-5)      # the decoder re-normalises
    assert FrameTokenizer(image_size=64, width=4).encode(torch.zeros(1, 3, 64, 64)).shape == (1, 16, 8)


def test_subgrid_tokens_are_blocks_of_a_finer_map():
    """``subgrid = k``: the encoder's map is k times finer and each token is a k × k block of it, cells side by side;
    the decoder reads the same blocks back."""
    torch.manual_seed(0)
    tok = FrameTokenizer(width=8, token_dim=16, subgrid=2)
    frames = torch.rand(3, 3, 32, 32) * 2 - 1
    z = tok.encode(frames)
    assert z.shape == (3, 16, 16) and tok.num_tokens == 16
    cells = tok.encoder(frames)                                    # (3, 4, 8, 8): 4 channels per 4 x 4-pixel cell
    assert cells.shape == (3, 4, 8, 8)
    # token (row 1, column 2), its channel 4c + 2i + j is cell (2 + i, 4 + j) of channel c
    for c, i, j in [(0, 0, 0), (3, 1, 0), (2, 1, 1)]:
        assert torch.equal(z[:, 1 * 4 + 2, 4 * c + 2 * i + j], cells[:, c, 2 + i, 4 + j])
    assert torch.equal(tok.decode(z), tok.decoder(cells))
    plain = FrameTokenizer(width=8)                               # subgrid 1 is the tokenizer as it was
    assert plain.subgrid == 1 and [n for n, _ in plain.named_parameters()] == [
        n for n, _ in FrameTokenizer(width=8, subgrid=1).named_parameters()]


@pytest.mark.parametrize("kind", ["conv", "titok"])
def test_encoder_state_dict_is_exactly_the_weights_the_latents_depend_on(kind):
    """A parameter is in ``encoder_state_dict`` iff nudging it changes ``encode``'s output (what autoguidance's
    same-latents check compares; a decoder fine-tuned alone leaves the latents as they were)."""
    from ardiff_edu.models.titok import TiTokTokenizer

    torch.manual_seed(0)
    tok = FrameTokenizer(width=8) if kind == "conv" else TiTokTokenizer(image_size=32, token_dim=4, num_tokens=8,
                                                                          width=32, depth=1, heads=2, patch=8)
    frames = torch.rand(2, 3, 32, 32) * 2 - 1
    before, encoding = tok.encode(frames), tok.encoder_state_dict()
    assert encoding and len(encoding) < len(tok.state_dict())
    for name, p in tok.named_parameters():
        kept = p.detach().clone()
        with torch.no_grad():
            p.add_(0.1)
            moved = not torch.equal(tok.encode(frames), before)
            p.copy_(kept)
        assert moved == (name in encoding), name


def test_tokenizer_bad_args():
    with pytest.raises(ValueError, match=r"image_size / \(grid \* subgrid\) must be a power of two"):
        FrameTokenizer(image_size=24)
    with pytest.raises(ValueError, match=r"token_dim must be a multiple of subgrid² = 4, got token_dim=6, subgrid=2"):
        FrameTokenizer(token_dim=6, subgrid=2)
    with pytest.raises(ValueError, match=r"subgrid must be in \[1, 4\], got 5"):
        FrameTokenizer(subgrid=5)
    with pytest.raises(ValueError, match=r"image_size / \(grid \* subgrid\) must be in \[2, 64\], got 128"):
        FrameTokenizer(image_size=256, grid=1, subgrid=2)
    with pytest.raises(ValueError, match=r"token_dim must be in \[1, 1024\], got 0"):
        FrameTokenizer(token_dim=0)
    with pytest.raises(ValueError, match="l2_normalize must be a bool"):
        FrameTokenizer(l2_normalize=1)
    with pytest.raises(ValueError, match=r"frames must be a tensor of shape .*got \(2, 3, 16, 16\)"):
        FrameTokenizer(width=4).encode(torch.zeros(2, 3, 16, 16))


def _flat_sincos(n: int, dim: int) -> torch.Tensor:
    """The official 1-D code of positions 0..n-1: ``[sin(p ω_i) ‖ cos(p ω_i)]``, ``ω_i = 10000^(-i / (dim/2))``."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
    angles = torch.arange(n, dtype=torch.float64)[:, None] * omega[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def test_positions_are_two_dimensional():
    """Paper vs code: our positions code the frame in the first half of the dimensions and the token in the second;
    the official DiT adds one 1-D sin-cos code of the flat index f·L + l."""
    F_, L_, D_ = 5, 3, 32
    ours = sincos_positions(F_, L_, D_)
    frame_half = _flat_sincos(F_, D_ // 2).float()[:, None].expand(-1, L_, -1)
    token_half = _flat_sincos(L_, D_ // 2).float()[None].expand(F_, -1, -1)
    assert torch.equal(ours, torch.cat([frame_half, token_half], dim=-1))
    official = _flat_sincos(F_ * L_, D_).float().view(F_, L_, D_)
    assert not torch.allclose(ours, official, atol=1e-2)


def test_final_layer_is_per_frame_adaln():
    """Paper vs code: our final layer is ``Linear(LN(h)·(1 + scale_f) + shift_f)`` with a per-frame shift and scale
    from ``ada_out``; the official one is ``Linear(LN(h))``, which ours becomes when ``ada_out`` is zero (as at
    initialisation)."""
    m = randomize(small_dit()).eval()
    g = torch.Generator().manual_seed(3)
    h, c = torch.randn(B, Fr, L, 32, generator=g), torch.randn(B, Fr, 32, generator=g)
    shift, scale = m.ada_out(c).chunk(2, dim=-1)
    ln = torch.nn.functional.layer_norm(h, (32,), eps=1e-6)
    with torch.no_grad():
        torch.testing.assert_close(m.head(h, c), m.out(ln * (1 + scale[:, :, None]) + shift[:, :, None]))
        c2 = c.clone()
        c2[:, 1] += 1.0                                           # another conditioning vector for frame 1 only
        moved = (m.head(h, c2) - m.head(h, c)).abs().amax(dim=(0, 2, 3))
        assert moved[1] > 1e-3 and (moved[[0, 2, 3]] == 0).all()
        torch.nn.init.zeros_(m.ada_out[-1].weight)
        torch.nn.init.zeros_(m.ada_out[-1].bias)
        torch.testing.assert_close(m.head(h, c), m.out(ln))


@pytest.mark.parametrize("kw", [{}, {"num_classes": 3}, {"num_context_tokens": 2}])
def test_forward_frames_with_cached_keys_equals_the_full_forward(kw):
    """The KV-cache property the sampler relies on: the later frames' prediction from the earlier frames' cached keys
    and values equals the full forward pass, for every split; the leaky mask refuses a cache."""
    m = randomize(small_dit(**kw)).eval()
    x, t = inputs()
    labels = torch.tensor([0, 3]) if kw.get("num_classes") else None
    with torch.no_grad():
        full = m(x, t, labels)
        for k in range(1, Fr):
            head_out, past = m.forward_frames(x[:, :k], t[:, :k], labels)
            tail_out, _ = m.forward_frames(x[:, k:], t[:, k:], labels, past=past, first_frame=k)
            torch.testing.assert_close(head_out, full[:, :k], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(tail_out, full[:, k:], atol=1e-5, rtol=1e-5)
    leaky = small_dit(mask="leaky", num_context_tokens=1)
    with pytest.raises(ValueError, match="mask='leaky' cannot use cached keys and values"):
        leaky.forward_frames(x[:, 2:], t[:, 2:], past=leaky.forward_frames(x[:, :2], t[:, :2])[1], first_frame=2)


@pytest.mark.parametrize("kw", [{"num_context_tokens": 2, "mask": "leaky"}, {"num_classes": 3}])
def test_context_and_class_embeddings_are_parameters_of_the_dit_and_get_gradients(kw):
    """Paper vs code: the official optimizer is built from the diffusion network's parameters only, and its context
    and class embeddings live outside that network, so they never leave their random initialisation. Ours are
    parameters of the DiT, so the optimizer (built from ``model.parameters()``) trains them."""
    m = randomize(small_dit(**kw))
    x, t = inputs()
    labels = torch.tensor([0, 2]) if "num_classes" in kw else None
    m(x, t, labels).square().mean().backward()
    emb = m.context if m.class_embed is None else m.class_embed.weight
    assert any(p is emb for p in m.parameters())
    assert emb.grad is not None and emb.grad.abs().sum() > 0
