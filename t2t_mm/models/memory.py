"""A lower bound on the memory a MultiModel needs, from its hparams and problem specs alone.

    memory.check_fits(model_class, hparams, specs.values(), training=True, what="--hparams")

A model class opts in with a `memory_estimate(hparams, specs)` classmethod (MultiModel does);
other models (a plugin's) are not checked.

Checked before the model is built, so that settings no machine can hold (hidden_size=10**8,
100,000 experts, a vocabulary of 10**9) are one clear line rather than a ResourceExhausted
traceback after minutes of work. The bound counts only terms every MultiModel has, so it never
refuses a model that fits:

  parameters >= MoE experts    (MoE layers) * E * 2 * hidden * filter
              + embeddings      hidden * size, once per distinct vocabulary (as if tied)
              + conv blocks     (encoder + mixer + decoder blocks) * 4 ConvSteps * hidden**2
  training   = 16 bytes per parameter (float32 weights, gradients, Adam's two slots)
               + the logits of one batch (tokens * largest target vocabulary * 4 bytes, twice)
  decoding   = 4 bytes per parameter
"""

import dataclasses
import os
from typing import Iterable, Optional

from t2t_mm import errors

_GIB = float(1 << 30)


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
  """Lower bounds: `parameters` of the model, `activation_bytes` of one training batch."""

  parameters: int
  activation_bytes: int

  def bytes_needed(self, training: bool) -> int:
    if training:
      return 16 * self.parameters + self.activation_bytes
    return 4 * self.parameters


def estimate(hparams, specs: Iterable) -> MemoryEstimate:
  """The lower bound of the module docstring for `hparams` and the problems' `specs`."""
  specs = list(specs)
  h, f = hparams.hidden_size, hparams.filter_size
  moe_layers = len(hparams.moe_encoder_layers) + len(hparams.moe_decoder_layers)
  vocabularies = set()
  for spec in specs:
    if spec.input_vocab_size:
      vocabularies.add((spec.input_vocab, spec.input_vocab_size))
    vocabularies.add((spec.target_vocab, spec.target_vocab_size))
  blocks = hparams.num_encoder_blocks + hparams.num_mixer_blocks + hparams.num_decoder_blocks
  parameters = (moe_layers * hparams.moe_num_experts * 2 * h * f
                + h * sum(size for _, size in vocabularies) + blocks * 4 * h * h)
  tokens = hparams.batch_tokens or hparams.batch_size * hparams.max_target_length
  largest_target = max((s.target_vocab_size for s in specs), default=0)
  return MemoryEstimate(parameters, 2 * 4 * tokens * largest_target)


def machine_bytes() -> Optional[int]:
  """This machine's physical memory, or None where it cannot be read."""
  try:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
  except (ValueError, OSError, AttributeError):
    return None


def check_fits(model_class, hparams, specs: Iterable, training: bool, what: str,
               available: Optional[int] = None) -> Optional[MemoryEstimate]:
  """Raises errors.ConfigError, naming `what` gave the hparams, if the lower bound of
  `model_class` exceeds `available` bytes (default: this machine's memory); returns the
  estimate, or None for a model class without one."""
  if not hasattr(model_class, "memory_estimate"):
    return None
  found = model_class.memory_estimate(hparams, list(specs))
  available = machine_bytes() if available is None else available
  needed = found.bytes_needed(training)
  if available is not None and needed > available:
    use = ("training: weights, gradients and Adam's two slots at 4 bytes each, plus "
           f"{found.activation_bytes / _GIB:.1f} GiB of logits" if training else
           "decoding: 4 bytes each")
    raise errors.ConfigError(
        f"{what}: the model needs at least {needed / _GIB:,.1f} GiB ({found.parameters / 1e9:,.2f}"
        f" B parameters; {use}), more than this machine's {available / _GIB:.1f} GiB. Lower "
        "hidden_size, filter_size, moe_num_experts, the batch or the vocabulary sizes.")
  return found
