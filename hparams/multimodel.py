"""Hparams sets of the MultiModel.

Sources, by figure:
  * Paper (Kaiser et al. 2017, arXiv 1706.05137): block layout (Sec. 2.4: 6 encoder conv blocks
    with an MoE in the middle; mixer = attention block + conv block; decoder = 4 blocks of
    conv + attention with an MoE in the middle), MoE sizes (Sec. 2.4 / 3: 240 experts when
    trained jointly, 60 single-task, k = 4), audio = 8 ConvRes blocks (Sec. 2.3), and the
    ablations without MoE and without attention (Sec. 3, Table 4).
  * Shazeer et al. 2017 (sparsely-gated MoE): balancing-loss weight 0.01.
  * Tensor2Tensor reference `multimodel_base` / `conv_res_step`: widths 512 / 2048, 8 heads,
    dropout 0.1, conv-block kernels (3, 3, 15, 15) with dilations (1, 1, 1, 4), and the
    optimizer (Adam 0.85 / 0.997 / 1e-6, clip norm 2.0, label smoothing 0.1). Where the paper
    gives no figure (kernels, dilations, widths) the reference's is used.
"""

from t2t_mm import registry
from t2t_mm.config.hparams import HParams


@registry.register_hparams
def multimodel_base() -> HParams:
  """Paper scale: joint training of the eight tasks on accelerators."""
  return HParams(
      hidden_size=512,
      filter_size=2048,
      num_heads=8,
      num_encoder_blocks=6,
      moe_encoder_layers=[3],
      num_mixer_blocks=1,
      num_decoder_blocks=4,
      moe_decoder_layers=[2],
      moe_num_experts=240,
      moe_k=4,
      moe_loss_coef=0.01,
  )


@registry.register_hparams
def multimodel_tiny() -> HParams:
  """Trains the all8_mini suite on a 2-core CPU in minutes (measured: bench/model.py).

  Sequences of 10-40 tokens need no 15-wide dilated kernels; 16 experts with k = 2 keep the
  MoE's routing visible at this scale. Audio: 8 waveform blocks (256x fewer positions: 1.5 s
  at 16 kHz -> 94) and 2 spectral blocks (40 ms per position -> 38) with 40 mel bins.
  """
  return multimodel_base().replace(
      hidden_size=96,
      filter_size=192,
      num_heads=4,
      conv_kernel_sizes=[3, 3, 5, 5],
      conv_dilations=[1, 1, 1, 2],
      num_encoder_blocks=2,
      moe_encoder_layers=[1],
      num_mixer_blocks=1,
      num_decoder_blocks=2,
      moe_decoder_layers=[1],
      moe_num_experts=16,
      moe_k=2,
      audio_waveform_blocks=8,
      audio_spectral_blocks=2,
      audio_num_mel_bins=40,
      dropout=0.1,
      batch_size=32,
      max_input_length=64,
      # all8_mini's linearized trees reach 116 tokens (p95 82): 64 cut 14.5% of them.
      max_target_length=128,
      learning_rate=3e-3,
      learning_rate_warmup_steps=200,
      mixture="uniform",  # Every problem gets its share, the 2,000-clip speech set too.
  )


@registry.register_hparams
def multimodel_no_moe() -> HParams:
  """Paper ablation (Table 4): the base model without MoE layers."""
  return multimodel_base().replace(moe_encoder_layers=[], moe_decoder_layers=[])


@registry.register_hparams
def multimodel_no_attention() -> HParams:
  """Paper ablation (Table 4): no attention blocks in mixer and decoder."""
  return multimodel_base().replace(use_attention=False)


@registry.register_hparams
def multimodel_tiny_no_moe() -> HParams:
  """multimodel_tiny without MoE layers (the Table 4 ablation at mm-experiment's scale).

  The MoE layers between conv blocks are left out; everything else, optimizer and schedule
  included, is multimodel_tiny's, so the two differ only in the MoE.
  """
  return multimodel_tiny().replace(moe_encoder_layers=[], moe_decoder_layers=[])


@registry.register_hparams
def multimodel_tiny_no_attention() -> HParams:
  """multimodel_tiny without attention blocks in mixer and decoder (Table 4 ablation, tiny).

  The mixer then sees the encoding as its masked mean (one vector for all positions) and the
  decoder is conv blocks only; everything else is multimodel_tiny's.
  """
  return multimodel_tiny().replace(use_attention=False)
