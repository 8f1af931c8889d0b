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
    torch.testing.assert_close(official.blocks[0](ctx, x, c, None)[1], torch.nn.functional.layer_norm(ln, (32,), eps=1e-6))


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


def test_tokenizer_bad_args():
    with pytest.raises(ValueError, match="image_size / grid must be a power of two"):
        FrameTokenizer(image_size=24)
    with pytest.raises(ValueError, match=r"token_dim must be in \[1, 1024\], got 0"):
        FrameTokenizer(token_dim=0)
    with pytest.raises(ValueError, match="l2_normalize must be a bool"):
        FrameTokenizer(l2_normalize=1)
    with pytest.raises(ValueError, match=r"frames must be a tensor of shape .*got \(2, 3, 16, 16\)"):
        FrameTokenizer(width=4).encode(torch.zeros(2, 3, 16, 16))
