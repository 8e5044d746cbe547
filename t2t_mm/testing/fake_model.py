"""A tiny seq2seq model that follows the Model contract (docs/DESIGN.md), for trainer tests.

    inputs -> embedding -> masked mean -> context [B, d]
    [command token, targets[:-1]] -> embedding + position -> + context -> dense -> logits
It adds a small auxiliary loss, like the MoE balancing loss, to test that it is counted once.
Logits at position t depend only on targets[:, t - 1], so its incremental decoding
(start_decoding / decode_step, the contract's pair) needs no cache: a step is one position.
"""

import keras
from keras import ops

from t2t_mm import registry
from t2t_mm.data import spec as spec_lib


@registry.register_model(name="fake_seq2seq")
class FakeSeq2Seq(keras.Model):
  """Shares an input net per input_key and an output net per target_key, like the MultiModel."""

  def __init__(self, hparams, specs, **kwargs):
    # Explicit names everywhere: checkpoints match variables by path, and Keras's automatic
    # names (dense_7) count up across the models built in one process.
    kwargs.setdefault("name", "fake_seq2seq")
    super().__init__(**kwargs)
    self.specs = {s.name: s for s in specs}
    d = hparams.hidden_size
    self.input_nets = {}
    self.target_embeddings, self.output_nets = {}, {}
    for s in specs:
      in_key, out_key = "_".join(map(str, s.input_key)), "_".join(s.target_key)
      if in_key not in self.input_nets:
        self.input_nets[in_key] = keras.layers.Embedding(s.input_vocab_size, d,
                                                         name=f"input_{in_key}")
      if out_key not in self.output_nets:
        self.target_embeddings[out_key] = keras.layers.Embedding(s.target_vocab_size, d,
                                                                 name=f"target_{out_key}")
        self.output_nets[out_key] = keras.layers.Dense(s.target_vocab_size,
                                                       name=f"output_{out_key}")
    self.command = keras.layers.Embedding(len(spec_lib.TargetSpace), d, name="command")
    self.position = keras.layers.Embedding(512, d, name="position")
    self.hidden = keras.layers.Dense(d, activation="relu", name="hidden")
    self.router = keras.layers.Dense(2, name="router")
    # Every variable exists once the model is made, as the MultiModel's do: the decoder
    # restores a checkpoint before the first call.
    for layer in [*self.input_nets.values(), *self.target_embeddings.values(), self.command,
                  self.position]:
      layer.build(None)
    for layer in [*self.output_nets.values(), self.hidden, self.router]:
      layer.build((None, None, d))

  def _keys(self, problem):
    s = self.specs[problem]
    return "_".join(map(str, s.input_key)), "_".join(s.target_key)

  def _context(self, inputs, in_key):
    mask = ops.cast(ops.not_equal(inputs, spec_lib.PAD_ID), "float32")[..., None]
    x = self.input_nets[in_key](inputs) * mask
    return ops.sum(x, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)

  def call(self, features, problem=None, training=False):
    in_key, out_key = self._keys(problem)
    context = self._context(features["inputs"], in_key)
    targets = features["targets"]
    command = self.command(features["target_space"][:, None])
    previous = ops.concatenate(
        [command, self.target_embeddings[out_key](targets[:, :-1])], axis=1)
    length = ops.shape(targets)[1]
    h = previous + self.position(ops.arange(length))[None] + context[:, None, :]
    h = self.hidden(h)
    gates = ops.softmax(self.router(h), axis=-1)
    self.add_loss(0.01 * ops.mean(ops.square(ops.mean(gates, axis=(0, 1)) - 0.5)))
    return self.output_nets[out_key](h)

  def start_decoding(self, features, problem, max_length):
    """{"t", "fixed": {"command", "context"}, "cache": {}} (max_length unused: no buffers)."""
    del max_length
    in_key, _ = self._keys(problem)
    fixed = {"command": self.command(features["target_space"][:, None]),
             "context": self._context(features["inputs"], in_key)[:, None, :]}
    return {"t": ops.convert_to_tensor(0, "int32"), "fixed": fixed, "cache": {}}

  def decode_step(self, prev_ids, state, problem, return_attention=False):
    """(logits float32 [B, V] of position state["t"], state): call's numbers, one position."""
    if return_attention:
      raise ValueError("fake_seq2seq has no attention to return.")
    _, out_key = self._keys(problem)
    t, fixed = state["t"], state["fixed"]
    prev = self.target_embeddings[out_key](ops.reshape(ops.cast(prev_ids, "int32"), (-1, 1)))
    x = ops.where(ops.equal(t, 0), fixed["command"], prev)
    h = self.hidden(x + self.position(ops.reshape(t, (1,)))[None] + fixed["context"])
    return self.output_nets[out_key](h)[:, 0], dict(state, t=t + 1)
