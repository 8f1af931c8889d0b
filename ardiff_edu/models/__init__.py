"""Networks: the per-frame tokenizer (notebook 05) and the temporal-causal DiT (notebook 06)."""

from ardiff_edu.models.dit import MASKS, DiT, DiTBlock, attention_mask, sincos_positions, timestep_embedding
from ardiff_edu.models.tokenizer import FrameTokenizer

__all__ = ["FrameTokenizer", "DiT", "DiTBlock", "attention_mask", "MASKS", "sincos_positions", "timestep_embedding"]
