"""ardiff_edu: the notebook-first teaching edition of AR-Diffusion (Sun et al., CVPR 2025).

One module per concept; the notebooks in ``notebooks/`` import from here and never keep a second copy.

Vocabulary used everywhere (code, notebooks, docs):
    T       number of training diffusion timesteps (1000 in the paper)
    S       number of sampling (DDIM) steps (50 in the paper)
    F       number of frames in a clip
    s       AR step: the timestep difference, in sampling steps, between neighbouring frames (0 = synchronous)
    window  frames fed to the network per call (16 in the paper, the training length)
"""

__version__ = "0.1.0"
