"""Networks: the per-frame tokenizer (notebook 05) and the temporal-causal DiT (notebook 06)."""

from ardiff_edu.models.dit import MASKS, PREDICTIONS, DiT, attention_mask, sincos_positions, timestep_embedding
from ardiff_edu.models.tokenizer import FrameTokenizer

__all__ = ["FrameTokenizer", "DiT", "attention_mask", "MASKS", "PREDICTIONS", "sincos_positions",
           "timestep_embedding"]
