"""A tiny seq2seq model that follows the Model contract (docs/DESIGN.md), for trainer tests.

    inputs -> embedding -> masked mean -> context [B, d]
    [command token, targets[:-1]] -> embedding + position -> + context -> dense -> logits
It adds a small auxiliary loss, like the MoE balancing loss, to test that it is counted once.
"""

import keras
import numpy as np
import tensorflow as tf
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
    # Not tracked: traced functions are no part of the model's state or checkpoints.
    object.__setattr__(self, "_decode_steps", {})
    # Every variable exists once the model is made, as the MultiModel's do: the decoder
    # restores a checkpoint before the first call.
    for layer in [*self.input_nets.values(), *self.target_embeddings.values(), self.command,
                  self.position]:
      layer.build(None)
    for layer in [*self.output_nets.values(), self.hidden, self.router]:
      layer.build((None, None, d))

  def call(self, features, problem=None, training=False):
    s = self.specs[problem]
    in_key, out_key = "_".join(map(str, s.input_key)), "_".join(s.target_key)
    inputs = features["inputs"]
    mask = ops.cast(ops.not_equal(inputs, spec_lib.PAD_ID), "float32")[..., None]
    x = self.input_nets[in_key](inputs) * mask
    context = ops.sum(x, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
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

  def greedy_decode(self, features, problem=None, max_length=10):
    """Greedy ids int32 [B, <= max_length], PAD after a row's EOS.

    Logits at position t depend only on targets[:, t - 1], so every step calls the model on one
    fixed [B, max_length] buffer: one traced function per problem and shape, instead of an eager
    call per position (256 of them per batch at the default max_target_length). It stops when
    every row has ended, as a real decoder does.
    """
    batch = int(ops.shape(features["inputs"])[0])
    if self.specs[problem].one_token_targets:
      logits = self(dict(features, targets=np.zeros((batch, 1), np.int32)), problem=problem)
      return ops.cast(ops.argmax(logits[:, 0, :], axis=-1), "int32")[:, None]
    step = self._decode_steps.get(problem)
    if step is None:
      step = self._decode_steps[problem] = tf.function(
          lambda f, ids, t: ops.cast(ops.argmax(self(dict(f, targets=ids), problem=problem)[:, t],
                                                axis=-1), "int32"), reduce_retracing=True)
    ids = np.zeros((batch, max_length), np.int32)
    ended = np.zeros(batch, bool)
    for t in range(max_length):
      ids[:, t] = np.where(ended, spec_lib.PAD_ID, step(features, ids, tf.constant(t)).numpy())
      ended |= ids[:, t] == spec_lib.EOS_ID
      if ended.all():
        return ops.convert_to_tensor(ids[:, :t + 1])
    return ops.convert_to_tensor(ids)
