"""HParams: the typed numbers that define a model and its training run.

Every field documents itself (`mm-trainer --hparams_help` prints them). Registered hparams sets
(hparams/) are functions returning an HParams, often by deriving from another set:

    @registry.register_hparams
    def multimodel_tiny():
      return multimodel_base().replace(hidden_size=128, moe_num_experts=16)

A typo in a set or an override is an error naming the closest field, and a value of the wrong
type is an error naming the expected type: `replace()` and `__post_init__` check both.
"""

import dataclasses
from typing import Dict, List, Literal

from t2t_mm import errors
from t2t_mm.config import data_config, input_limits, typed


_f = typed.field  # A field with a default and its help text.


@dataclasses.dataclass(frozen=True)
class HParams:
  """The hyperparameters of a model and its training; saved as output_dir/hparams.json."""

  # --- Model ---
  model: str = _f("multimodel", "Registered model name.")
  hidden_size: int = _f(512, "Width d of the shared representation and every block.")
  filter_size: int = _f(2048, "Hidden width of feed-forward layers and of each MoE expert.")
  num_heads: int = _f(8, "Attention heads.")
  kernel_size: int = _f(3, "Kernel width of the attention block's two causal conv steps.")
  conv_kernel_sizes: List[int] = _f(
      [3, 3, 15, 15], "Kernel widths of the four ConvSteps of every conv block.")
  conv_dilations: List[int] = _f([1, 1, 1, 4], "Dilations of the four ConvSteps of a conv block.")
  num_encoder_blocks: int = _f(2, "Conv blocks in the encoder (an MoE layer sits in the middle).")
  num_mixer_blocks: int = _f(1, "Causal conv blocks in the I/O mixer after its attention block.")
  num_decoder_blocks: int = _f(2, "Causal conv + attention blocks in the decoder.")
  use_attention: bool = _f(True, "Attention blocks in mixer and decoder (False: paper Table 4).")
  dropout: float = _f(0.1, "Dropout after each block (reference: 0.1).")
  attention_dropout: float = _f(0.1, "Dropout on attention weights.")
  moe_encoder_layers: List[int] = _f(
      [1], "Encoder positions of MoE layers: i puts one after the first i conv blocks "
      "(0 .. num_encoder_blocks; 1 of 2 blocks is the middle). [] for none.")
  moe_decoder_layers: List[int] = _f(
      [1], "Decoder positions of MoE layers: i puts one after the first i decoder blocks "
      "(0 .. num_decoder_blocks). [] for none.")
  moe_num_experts: int = _f(240, "Experts per MoE layer (paper: 240 joint, 60 single-task).")
  moe_k: int = _f(4, "Experts each token is routed to (paper: k = 4).")
  moe_loss_coef: float = _f(0.01, "Weight w of the importance + load balancing loss.")
  moe_dispatch: Literal["auto", "exact", "capacity"] = _f(
      "auto", "exact: dynamic shapes, nothing dropped unless moe_capacity_factor > 0; the fastest "
      "without XLA on CPU, but it cannot compile under XLA. capacity: static shapes (GShard): "
      "ceil(c * positions * k / E) rows per expert (c = moe_capacity_factor, 2.0 where 0), "
      "padding takes none, overflow assignments are dropped (share in the moe/*/dropped "
      "summaries); compiles under XLA. auto: capacity where XLA compiles the MoE (jit_compile), "
      "exact elsewhere. Checkpoints are the same under either.")
  moe_capacity_factor: float = _f(
      0.0, "Exact dispatch: 0 = no cap (buffer rows = the busiest expert's load, so a collapsed "
      "router can cost up to E/k times the balanced memory); c > 0 caps each expert at "
      "ceil(c * real tokens * k / E) assignments and drops the overflow (those tokens get a "
      "smaller MoE output, and a token's output then depends on earlier tokens). Capacity "
      "dispatch: its c (see moe_dispatch).")
  tie_embeddings: bool = _f(False, "Share the symbol modality's input and output embeddings.")
  audio_waveform_blocks: int = _f(8, "Strided ConvRes blocks of the audio_waveform modality "
                                  "(paper: 8); time shrinks by 2 per block.")
  audio_spectral_blocks: int = _f(2, "Strided ConvRes blocks of the audio_spectral modality over "
                                  "10 ms log-mel frames; time shrinks by 2 per block.")
  audio_num_mel_bins: int = _f(80, "Mel bins of the audio_spectral modality's log-mel features.")
  moe_noisy_gating: bool = _f(True, "Noisy top-k gating in training (paper). False: routing "
                              "without noise, so a step is deterministic (with dropout 0).")
  dtype_policy: Literal["float32", "mixed_bfloat16", "mixed_float16"] = _f(
      "float32", "Keras dtype policy: mixed_bfloat16 computes in bf16 (float32 variables, "
      "MoE router and logits); slower than float32 on the 2-core CPU (docs/STACK.md), meant "
      "for accelerators with fast bf16. mixed_float16 computes in float16 with dynamic loss "
      "scaling; updates whose gradients are not finite are skipped (GPUs; docs/scale.md).")

  # --- Data ---
  batch_size: int = _f(32, "Examples per batch (sequence batches are bucketed by length).")
  batch_tokens: int = _f(0, "> 0: sequence problems batch by tokens: each batch holds about this "
                         "many positions (its length bucket's longest input or target times "
                         "its examples). Image and label problems keep batch_size. 0: off.")
  length_bucket_step: float = _f(1.1, "Growth of the length buckets' boundaries (8, 9, ..., "
                                 "x * step, as in Tensor2Tensor): larger makes fewer batch "
                                 "shapes and more padding. Compiled steps use "
                                 "jit_length_bucket_step.")
  jit_length_bucket_step: float = _f(
      2.0, "Under jit_compile or on TPUs: the length buckets' growth (2.0: 8, 16, 32, ...), "
      "and each train batch is padded to its bucket's longest input and target (each side "
      "bucketed by its own length), so XLA compiles each problem's step at a few shapes: at "
      "most (input buckets) x (target buckets). Smaller: less padding, more compilations.")
  max_input_length: int = _f(256, "Longer inputs are truncated (tokens, frames or samples/hop).")
  max_target_length: int = _f(256, "Longer targets are truncated (tokens).")

  # --- Training ---
  optimizer: Literal["adam", "adafactor"] = _f(
      "adam", "adam: Adam with adam_beta1/2 and adam_epsilon (two full-size slots per "
      "variable). adafactor: Adafactor with factored second moments and no first moment "
      "(Shazeer & Stern 2018; optimizer state a few MB where Adam's is 8 bytes a parameter), "
      "the setting that fits multimodel_base in 16 GiB; it scales each update by the "
      "variable's RMS, so it wants a larger learning_rate than Adam (T2T used 0.01-0.05).")
  learning_rate: float = _f(7e-4, "Peak learning rate, reached at the end of warmup (the "
                            "Transformer base schedule peaks at 7e-4 for d = 512).")
  learning_rate_schedule: Literal["rsqrt_decay", "constant"] = _f(
      "rsqrt_decay", "Linear warmup, then decay as 1/sqrt(step) (reference), or constant.")
  learning_rate_warmup_steps: int = _f(4000, "Warmup steps.")
  adam_beta1: float = _f(0.85, "Adam beta1 (reference: 0.85).")
  adam_beta2: float = _f(0.997, "Adam beta2 (reference: 0.997).")
  adam_epsilon: float = _f(1e-6, "Adam epsilon (reference: 1e-6).")
  clip_grad_norm: float = _f(2.0, "Clip gradients to this global norm; 0 disables.")
  label_smoothing: float = _f(0.1, "Label smoothing of the cross-entropy.")
  accumulate_steps: int = _f(1, "Micro-batches (of one problem) whose gradients make one "
                             "update: the effective batch is accumulate_steps x batch.")
  steps_per_call: int = _f(
      1, "Training steps run in one tf.function call (T2T's iterations_per_loop, Keras's "
      "steps_per_execution): the host reads losses back once per call, so an accelerator does "
      "not wait for Python between steps. Each step's problem is still drawn from (seed, step), "
      "so a run equals its steps_per_call=1 twin; calls end at checkpoint and evaluation "
      "steps. Needs accumulate_steps=1.")
  seed: int = _f(1234, "Seed of initializers, shuffling and the mixture sampler.")
  jit_compile: bool = _f(
      False, "Compile each problem's training step (every modality, accumulation and loss "
      "scaling) with XLA, once per batch shape; the MoE layers then use the static-shape "
      "capacity dispatch (moe_dispatch=auto; the exact one cannot compile). Off: slower "
      "than TensorFlow's graph executor on the 2-core CPU (docs/STACK.md); for accelerators.")

  # --- Multi-problem mixture ---
  mixture: Literal["proportional", "uniform", "temperature"] = _f(
      "proportional", "How often each problem is sampled: by dataset size, equally, or by "
      "size^(1/T).")
  mixture_temperature: float = _f(2.0, "T of the temperature mixture.")
  problem_loss_weights: Dict[str, float] = _f({}, "Per-problem loss multipliers; default 1.")
  mixture_max_examples: Dict[str, int] = _f(
      {}, "Per-problem cap on the size the mixture counts (SeqIO's maximum): a problem "
      "counts as min(size, cap) examples.")
  mixture_schedule: Literal["constant", "linear", "pretrain"] = _f(
      "constant", "constant: the mixture's rates throughout. linear: mixture_start_rates until "
      "mixture_schedule_steps[0], moving linearly to the mixture's rates at "
      "mixture_schedule_steps[1]. pretrain: only mixture_pretrain_problem before "
      "mixture_schedule_steps[0], then the mixture (T2T's pretrain schedule).")
  mixture_schedule_steps: List[int] = _f(
      [], "Steps of the schedule: [a, b] for linear, [switch] for pretrain, [] for constant.")
  mixture_start_rates: Dict[str, float] = _f(
      {}, "linear schedule: the rates at its first step (normalized; unnamed problems 0).")
  mixture_pretrain_problem: str = _f("", "pretrain schedule: the problem trained alone first.")

  def __post_init__(self):
    typed.validate(self)
    typed.check_at_least(self, 1, "hidden_size", "filter_size", "num_heads", "kernel_size",
                         "moe_num_experts", "moe_k", "batch_size", "max_input_length",
                         "max_target_length", "audio_num_mel_bins", "accumulate_steps",
                         "steps_per_call")
    typed.check_at_least(self, 0, "num_encoder_blocks", "num_mixer_blocks", "num_decoder_blocks",
                         "audio_waveform_blocks", "audio_spectral_blocks",
                         "learning_rate_warmup_steps", "moe_loss_coef", "moe_capacity_factor",
                         "clip_grad_norm", "label_smoothing", "adam_epsilon", "batch_tokens")
    typed.check_positive(self, "learning_rate", "mixture_temperature")
    data_config.check_bucket_step(self.length_bucket_step, "hparam")
    data_config.check_bucket_step(self.jit_length_bucket_step, "hparam", "jit_length_bucket_step")
    if self.steps_per_call > 1 and self.accumulate_steps > 1:
      raise errors.ConfigError(
          f"steps_per_call={self.steps_per_call} needs accumulate_steps=1 (an accumulated "
          f"update reads its token count back to the host); got accumulate_steps="
          f"{self.accumulate_steps}.")
    for key in ("problem_loss_weights", "mixture_start_rates"):
      negative = {p: w for p, w in getattr(self, key).items() if w < 0}
      if negative:
        raise errors.ConfigError(f"hparam '{key}' must map problems to weights >= 0, got "
                                 f"{negative}.")
    for key in ("dropout", "attention_dropout", "label_smoothing", "adam_beta1", "adam_beta2"):
      if not 0.0 <= getattr(self, key) < 1.0:
        raise errors.ConfigError(f"hparam '{key}' must be in [0, 1), got {getattr(self, key)}.")
    for key in ("conv_kernel_sizes", "conv_dilations"):
      if len(getattr(self, key)) != 4 or min(getattr(self, key)) < 1:
        raise errors.ConfigError(f"hparam '{key}' must be 4 integers >= 1 (one per ConvStep), "
                                 f"got {getattr(self, key)}.")

    wanted = {"constant": 0, "linear": 2, "pretrain": 1}[self.mixture_schedule]
    if len(self.mixture_schedule_steps) != wanted:
      raise errors.ConfigError(
          f"mixture_schedule={self.mixture_schedule} needs mixture_schedule_steps of {wanted} "
          f"step(s), got {self.mixture_schedule_steps}.")
    if (self.mixture_schedule == "linear") != bool(self.mixture_start_rates):
      raise errors.ConfigError("mixture_start_rates is set by, and only by, "
                               "mixture_schedule=linear (got mixture_schedule="
                               f"{self.mixture_schedule}, mixture_start_rates="
                               f"{self.mixture_start_rates}).")
    if (self.mixture_schedule == "pretrain") != bool(self.mixture_pretrain_problem):
      raise errors.ConfigError("mixture_pretrain_problem is set by, and only by, "
                               "mixture_schedule=pretrain (got mixture_schedule="
                               f"{self.mixture_schedule}, mixture_pretrain_problem="
                               f"'{self.mixture_pretrain_problem}').")

  def replace(self, **changes) -> "HParams":
    """A copy with `changes`; unknown keys and wrong types raise errors.ConfigError."""
    return typed.from_dict(HParams, changes, base=self)

  def to_dict(self):
    return typed.to_dict(self)


@dataclasses.dataclass(frozen=True)
class DecodeHParams:
  """How mm-decoder searches: `--decode_hparams='beam_size=4,alpha=0.6'` (the size limits of
  inputs are InputLimits, config/input_limits.py)."""

  beam_size: int = _f(1, "1 is greedy search; more is beam search.")
  alpha: float = _f(0.6, "Length penalty ((5 + len) / 6) ** alpha of beam search.")
  max_decode_length: int = _f(100, "Stop after this many target tokens.")
  return_beams: bool = _f(False, "Write every beam with its score, not only the best.")
  sampling_temperature: float = _f(0.0, "0 picks the argmax; > 0 samples at this temperature.")
  top_k: int = _f(0, "When sampling, sample among the k most likely tokens (0: all).")
  batch_size: int = _f(32, "Inputs decoded together in file mode.")
  seed: int = _f(0, "Seed of sampling (sampling_temperature > 0); equal seeds, equal samples.")
  jit_compile: bool = _f(True, "Compile the search loop with XLA (the encoder is not): faster on "
                         "CPU at every batch size measured (docs/STACK.md); same tokens.")

  def __post_init__(self):
    typed.validate(self)
    typed.check_at_least(self, 1, "beam_size", "max_decode_length", "batch_size",
                         what="decode hparam")
    if self.sampling_temperature < 0 or self.top_k < 0 or self.alpha < 0:
      raise errors.ConfigError("decode hparams 'sampling_temperature', 'top_k' and 'alpha' must "
                               f"be >= 0, got {self.sampling_temperature}, {self.top_k}, "
                               f"{self.alpha}.")
    if self.beam_size > 1 and self.sampling_temperature > 0:
      raise errors.ConfigError("decode hparams: beam search (beam_size > 1) does not sample; "
                               "set sampling_temperature=0 or beam_size=1.")

  def replace(self, **changes) -> "DecodeHParams":
    input_limits.refuse_in_decode_hparams(changes)
    return typed.from_dict(DecodeHParams, changes, base=self)

  def with_overrides(self, overrides) -> "DecodeHParams":
    """A copy with `overrides` ('beam_size=4,...' or a dict); an input limit among them is a
    ConfigError that names --input_limits (before parsing would call it unknown)."""
    input_limits.refuse_in_decode_hparams(overrides)
    return self.replace(**typed.parse_overrides(overrides, DecodeHParams))
