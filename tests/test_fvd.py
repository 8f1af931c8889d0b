"""ardiff_edu.fvd: the Fréchet distance against closed forms, the I3D plumbing with a stand-in network of the same
interface, and the toy video network (ardiff_edu.videonet) that gives bouncing balls a distribution-level score."""

import dataclasses

import numpy as np
import pytest
import scipy.linalg
import torch

from ardiff_edu.data import bouncing_balls
from ardiff_edu.fvd import (I3D_SIZE, fd_bootstrap, fd_from_features, feature_stats, frechet_distance, i3d_features,
                            i3d_inputs, load_i3d)
from ardiff_edu.metrics import frozen_first_frame, shuffle_frames, uniform_noise
from ardiff_edu.quality import bootstrap_indices
from ardiff_edu import videonet as vn

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")      # torch.jit.script: the I3D file format


def random_cov(rng, d, rank=None):
    a = rng.normal(size=(d, rank or d))
    return a @ a.T


def scipy_fd(mu1, s1, mu2, s2):
    """The textbook formula with scipy's sqrtm (fine for well-conditioned covariances)."""
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root.real))


def test_identical_distributions_are_at_distance_zero():
    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=6), random_cov(rng, 6)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0, abs=1e-9)
    singular = random_cov(rng, 6, rank=2)                       # fewer samples than dimensions
    assert frechet_distance(mu, singular, mu, singular) == pytest.approx(0, abs=1e-9)


def test_a_translation_costs_the_squared_shift():
    rng = np.random.default_rng(1)
    mu, sigma, shift = rng.normal(size=5), random_cov(rng, 5), rng.normal(size=5)
    assert frechet_distance(mu, sigma, mu + shift, sigma) == pytest.approx((shift ** 2).sum(), rel=1e-9)


def test_commuting_covariances_have_the_closed_form():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0.1, 3, 7), rng.uniform(0.1, 3, 7)
    mu1, mu2 = rng.normal(size=7), rng.normal(size=7)
    closed = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(closed, rel=1e-10)
    q, _ = np.linalg.qr(rng.normal(size=(7, 7)))                # same eigenvectors: they commute
    assert frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T) == pytest.approx(closed, rel=1e-9)
    # one dimension: |mu1 - mu2|^2 + (sigma1 - sigma2)^2 with standard deviations
    assert frechet_distance([0.0], [[4.0]], [3.0], [[1.0]]) == pytest.approx(9 + (2 - 1) ** 2)


def test_agrees_with_the_sqrtm_formula_when_that_one_is_reliable():
    rng = np.random.default_rng(3)
    for _ in range(5):
        m1, m2, s1, s2 = rng.normal(size=8), rng.normal(size=8), random_cov(rng, 8), random_cov(rng, 8)
        assert frechet_distance(m1, s1, m2, s2) == pytest.approx(scipy_fd(m1, s1, m2, s2), rel=1e-7)


def test_singular_covariances_stay_real_and_exact():
    # rank-deficient diagonal covariances: the closed form still holds; sqrtm of the singular product is what
    # implementations patch with real parts and eps * I
    a = np.array([2.0, 0.0, 1.0, 0.0])
    b = np.array([0.5, 3.0, 0.0, 0.0])
    closed = ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    got = frechet_distance(np.zeros(4), np.diag(a), np.zeros(4), np.diag(b))
    assert isinstance(got, float) and got == pytest.approx(closed, rel=1e-12)
    # features from fewer videos than dimensions, rounding included: finite, non-negative, symmetric
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(5, 32)), rng.normal(size=(6, 32)) + 0.3
    d_xy, d_yx = fd_from_features(x, y), fd_from_features(y, x)
    assert np.isfinite(d_xy) and d_xy > 0 and d_xy == pytest.approx(d_yx, rel=1e-9)


def test_bad_covariances_are_refused():
    eye = np.eye(3)
    with pytest.raises(ValueError, match="same length"):
        frechet_distance(np.zeros(3), eye, np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="symmetric"):
        frechet_distance(np.zeros(3), np.triu(np.ones((3, 3))), np.zeros(3), eye)
    with pytest.raises(ValueError, match="positive semi-definite"):
        frechet_distance(np.zeros(3), -eye, np.zeros(3), eye)
    with pytest.raises(ValueError, match="finite"):
        frechet_distance(np.full(3, np.nan), eye, np.zeros(3), eye)
    with pytest.raises(ValueError, match="N >= 2"):
        feature_stats(np.zeros((1, 3)))


def test_bootstrap_resamples_videos_and_their_windows():
    rng = np.random.default_rng(5)
    ref, feats = rng.normal(size=(40, 4)), rng.normal(size=(20, 3, 4)) + 1.0
    idx = bootstrap_indices(20, 50, seed=1)
    boots = fd_bootstrap(ref, feats, idx)
    assert boots.shape == (50,) and np.all(boots > 0)
    assert boots[0] == pytest.approx(fd_from_features(ref, feats[idx[0]].reshape(-1, 4)))
    assert np.median(boots) == pytest.approx(fd_from_features(ref, feats.reshape(-1, 4)), rel=0.5)


# ----------------------------------------------------------------------------------------------------------------
# I3D plumbing with a stand-in network: the same TorchScript interface, tiny
# ----------------------------------------------------------------------------------------------------------------
class StandInI3D(torch.nn.Module):
    """Refuses anything but FVD's call; returns (mean, min, max, height, frames) per video."""

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        if rescale or resize or not return_features:
            raise RuntimeError("expected rescale=False, resize=False, return_features=True")
        n = x.shape[0]
        flat = x.reshape(n, -1)
        shape = torch.tensor([float(x.shape[1]), float(x.shape[3]), float(x.shape[2])]).expand(n, 3)
        return torch.cat([flat.mean(1, keepdim=True), flat.amin(1, keepdim=True), flat.amax(1, keepdim=True),
                          shape], dim=1)


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    path = tmp_path_factory.mktemp("i3d") / "i3d_torchscript.pt"
    torch.jit.script(StandInI3D()).save(str(path))
    return path


def test_i3d_inputs_are_224_pixels_in_minus_one_to_one():
    clips = bouncing_balls(2, num_frames=5, seed=0)
    x = i3d_inputs(clips)
    assert x.shape == (2, 3, 5, I3D_SIZE, I3D_SIZE) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and x.min() == -1           # black background -> -1
    white = i3d_inputs(np.full((1, 2, 8, 8, 3), 255, np.uint8))
    assert torch.allclose(white, torch.ones_like(white))
    with pytest.raises(ValueError, match="uint8"):
        i3d_inputs(clips.astype(np.float32))


def test_i3d_features_through_a_torchscript_file(stand_in):
    detector = load_i3d(stand_in)
    clips = bouncing_balls(5, num_frames=6, seed=1)
    feats = i3d_features(clips, detector, batch_size=2)
    assert feats.shape == (5, 6) and feats.dtype == np.float64
    assert np.all(feats[:, 3] == 3) and np.all(feats[:, 4] == I3D_SIZE) and np.all(feats[:, 5] == 6)
    assert np.all(feats[:, 1] >= -1) and np.all(feats[:, 2] <= 1)
    # the batch size does not change the features
    assert np.allclose(feats, i3d_features(clips, detector, batch_size=5))


def test_missing_i3d_weights_say_where_to_get_them(tmp_path):
    with pytest.raises(ValueError, match="docs/fvd.md"):
        load_i3d(tmp_path / "i3d_torchscript.pt")


def test_a_network_that_returns_the_wrong_shape_is_refused(tmp_path):
    class Bad(torch.nn.Module):
        def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                    return_features: bool = False) -> torch.Tensor:
            return x.mean((2, 3, 4))[:1]

    path = tmp_path / "bad.pt"
    torch.jit.script(Bad()).save(str(path))
    with pytest.raises(ValueError, match=r"features \(N, D\)"):
        i3d_features(bouncing_balls(2, num_frames=4, seed=0), load_i3d(path))


# ----------------------------------------------------------------------------------------------------------------
# the toy video network
# ----------------------------------------------------------------------------------------------------------------
def test_videonet_trains_saves_and_loads(tmp_path):
    cfg = dataclasses.replace(vn.VideoNetConfig(), steps=3, batch_size=4, width=4, feature_dim=6)
    net, metrics = vn.train_videonet(cfg, progress=False)
    path = vn.save_videonet(net, tmp_path / "v.pt", metrics, "test")
    again = vn.load_videonet(path)
    clips = bouncing_balls(3, num_frames=16, seed=2)
    a, b = vn.videonet_features(clips, net), vn.videonet_features(clips, again)
    assert a.shape == (3, 6) and np.allclose(a, b, atol=5e-2)          # the file holds fp16 weights
    assert set(metrics) >= {"loss", "colour_acc", "speed_err_px"}
    with pytest.raises(ValueError, match="uint8 clips"):
        vn.videonet_features(bouncing_balls(2, num_frames=8, seed=0), net)
    with pytest.raises(ValueError, match="does not exist"):
        vn.load_videonet(tmp_path / "nope.pt")


def test_targets_read_the_simulator():
    _, state = bouncing_balls(4, num_frames=16, seed=3, return_state=True)
    t = vn.targets(state, 32).numpy()
    assert t.shape == (4, 14)
    assert np.array_equal(t[:, :8] > 0, np.array([[c in state["colour_index"][n] for c in range(8)]
                                                   for n in range(4)]))
    assert np.allclose(t[:, 8] * 3, state["present"].sum(1))


@pytest.mark.skipif(not vn.DEFAULT_VIDEONET.is_file(), reason="the shipped videonet.pt is not there yet")
def test_the_shipped_network_separates_real_clips_from_broken_ones():
    net = vn.load_videonet()
    ref, real = bouncing_balls(256, num_frames=16, seed=21), bouncing_balls(64, num_frames=16, seed=22)
    fr = vn.videonet_features(ref, net)
    fd = {name: fd_from_features(fr, vn.videonet_features(v, net)) for name, v in
          {"real": real, "shuffled": shuffle_frames(real), "noise": uniform_noise(real.shape),
           "frozen": frozen_first_frame(real)}.items()}
    assert fd["real"] < 0.6 and fd["shuffled"] > 2 * fd["real"] and fd["frozen"] > 4 * fd["real"]
    assert fd["noise"] > 50 * fd["real"]
