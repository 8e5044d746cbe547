"""Hparams sets of the MultiModel.

Sources: the paper (Kaiser et al. 2017, arXiv 1706.05137, sections 2-3) for the block layout, the
MoE sizes (240 experts when trained jointly, k = 4) and the balancing-loss weight; the
Tensor2Tensor reference `multimodel_base` for widths (512 / 2048), heads (8), dropout (0.1) and
the optimizer (Adam 0.85 / 0.997 / 1e-6, clip norm 2.0, label smoothing 0.1).
"""

from t2t_mm import registry
from t2t_mm.config.hparams import HParams


@registry.register_hparams
def multimodel_base() -> HParams:
  """Paper scale: joint training of the eight tasks on accelerators."""
  return HParams()


@registry.register_hparams
def multimodel_tiny() -> HParams:
  """Trains the all8_mini suite on a 2-core CPU in minutes."""
  return multimodel_base().replace(
      hidden_size=128,
      filter_size=256,
      num_heads=4,
      num_encoder_blocks=2,
      num_decoder_blocks=2,
      moe_num_experts=16,
      moe_k=2,
      batch_size=32,
      max_input_length=64,
      max_target_length=64,
      learning_rate=0.2,
      learning_rate_warmup_steps=400,
  )
