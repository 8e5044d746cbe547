"""The one incremental-decoding protocol of every cached layer (docs/DESIGN.md, "Decoding").

    state = layer.init_state(batch_size, max_length, context)   # before position 0
    y_t, state = layer.step(x_t, t, state)                      # x_t [B, 1, d] at position t

`state` is a dict {"fixed": ..., "cache": ...} of tensors with the batch first:
  - "fixed": what the context gives once (the source's K/V and mask, a pooled encoding); a step
    never changes it, and beam search tiles it once and never reorders it;
  - "cache": what past positions leave behind (a causal conv's last (k-1)*d inputs, the K/V
    buffers of self-attention, sized by max_length so every step has the same shapes and cost);
    beam search reorders it with the beams.
`context` is (source [B, S, d], source_mask [B, S]) for layers that attend to a source and None
for those that do not. `t` is an int32 scalar (a tensor inside a loop). Layers that attend to a
source also take `return_weights=True` in step and then return (y_t, state, weights [B, 1, S]).
Step by step, the outputs equal the layer's causal full-sequence call on real positions.

The model's own pair (MultiModel.start_decoding / decode_step) composes these states into
{"t", "fixed", "cache"}; t2t_mm.testing.reference_decode holds the uncached reference.
"""

from typing import Any, Dict, Optional, Protocol, Tuple, runtime_checkable

State = Dict[str, Any]


def make_state(fixed: Any = None, cache: Any = None) -> State:
  """{"fixed": fixed, "cache": cache}, an empty dict for a part the layer does not have."""
  return {"fixed": {} if fixed is None else fixed, "cache": {} if cache is None else cache}


@runtime_checkable
class DecodingLayer(Protocol):
  """A layer that decodes one position at a time (see the module docstring)."""

  def init_state(self, batch_size, max_length: int, context: Optional[Tuple] = None) -> State:
    ...

  def step(self, x_t, t, state: State) -> Tuple[Any, State]:
    ...
