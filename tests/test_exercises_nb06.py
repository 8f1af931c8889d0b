"""The checkers of notebook 06's exercises accept the right answers and refuse wrong ones, naming what is wrong."""

import torch

from ardiff_edu.exercises.nb06 import check_causality_detector, check_frame_modulation, check_leaky_from_causal
from ardiff_edu.models import attention_mask


def test_leaky_from_causal_checker():
    def leaky(mask, K):
        out = mask.clone()
        out[:K] = True
        return out

    assert check_leaky_from_causal(leaky)
    columns = check_leaky_from_causal(lambda m, K: leaky(m.T, K).T.contiguous())     # context columns, not rows
    assert not columns and "F=3, L=2, K=1: entry (query 0 = context, key 1 = frame 0) is False" in columns.message

    def in_place(mask, K):
        mask[:K] = True
        return mask

    changed = check_leaky_from_causal(in_place)
    assert not changed and "the causal mask passed in was changed" in changed.message
    full = check_leaky_from_causal(lambda m, K: torch.ones_like(m))
    assert not full and "(query 1 = frame 0, key 3 = frame 1) is True, expected False" in full.message
    assert "expected a bool tensor" in check_leaky_from_causal(lambda m, K: leaky(m, K).int()).message
    assert "raises NotImplementedError: write it first" in check_leaky_from_causal(lambda m, K: (_ for _ in ()).throw(
        NotImplementedError())).message
    assert torch.equal(leaky(attention_mask("causal", 2, 2, 1), 1), attention_mask("leaky", 2, 2, 1))


def _sees_the_future(model, x, t, splits=None):
    with torch.no_grad():
        y = model(x, t)
        for k in splits or range(1, x.shape[1]):
            x2, t2 = x.clone(), t.clone()
            x2[:, k:] += 1.0
            t2[:, k:] = (t2[:, k:] + 500) % 1000
            if (model(x2, t2)[:, :k] - y[:, :k]).abs().max() > 1e-6:
                return True
    return False


def test_causality_detector_checker():
    assert check_causality_detector(_sees_the_future)
    always = check_causality_detector(lambda model, x, t: True)
    assert not always and "mask='causal'" in always.message and "returned True, expected False" in always.message
    never = check_causality_detector(lambda model, x, t: False)
    assert not never and "mask='full'" in never.message and "returned False, expected True" in never.message

    def later_frames_only(model, x, t):         # compares the *later* frames, which move under every mask
        with torch.no_grad():
            x2 = x.clone()
            x2[:, 1:] += 1.0
            return bool((model(x2, t)[:, 1:] - model(x, t)[:, 1:]).abs().max() > 1e-6)

    wrong = check_causality_detector(later_frames_only)
    assert not wrong and "mask='causal'" in wrong.message
    assert "expected True or False" in check_causality_detector(lambda model, x, t: "no").message


def test_frame_modulation_checker():
    def modulate_frame(block, h, c):
        shift, scale = block.ada(c).chunk(6, dim=-1)[:2]
        return block.norm1(h) * (1 + scale) + shift

    assert check_frame_modulation(modulate_frame)

    def no_one(block, h, c):                    # forgot the 1 + (adaLN-Zero starts as the identity)
        shift, scale = block.ada(c).chunk(6, dim=-1)[:2]
        return block.norm1(h) * scale + shift

    assert "D=16, frame 0: token 0, dimension 0" in check_frame_modulation(no_one).message

    def mlp_chunks(block, h, c):                # the MLP branch's shift and scale
        shift, scale = block.ada(c).chunk(6, dim=-1)[3:5]
        return block.norm1(h) * (1 + scale) + shift

    assert not check_frame_modulation(mlp_chunks)
    no_norm = check_frame_modulation(lambda block, h, c: modulate_frame(block, h * 2 + 1, c) * 0 + h)
    assert not no_norm
    whole = check_frame_modulation(lambda block, h, c: modulate_frame(block, h, c)[None])
    assert not whole and "expected a tensor of shape (L, D) = (4, 16)" in whole.message
