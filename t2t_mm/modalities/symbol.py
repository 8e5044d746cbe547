"""Symbol modality: token ids in (embedding), logits out (linear; optionally tied weights)."""

import keras
from keras import ops

from t2t_mm import registry
from t2t_mm.layers import ops as mm_ops
from t2t_mm.layers.dense import Dense


@registry.register_modality(name="symbol")
@keras.saving.register_keras_serializable(package="t2t_mm")
class SymbolModality(keras.layers.Layer):
  """ids [B, L] (PAD = 0) -> embedding * sqrt(d) [B, L, d], mask ids != 0; top: x -> [B, T, V].

  The top is a linear layer whose softmax (in the loss) gives token probabilities (paper
  Sec. 2.3); with tie_embeddings it reuses the embedding matrix transposed.

  Args:
    vocab_size: V.
    hidden_size: d.
    tie_embeddings: share the input embedding with the output projection.

  Example:
    >>> net = SymbolModality(vocab_size=10, hidden_size=8)
    >>> x, mask = net.bottom(keras.ops.convert_to_tensor([[5, 3, 1, 0]]))  # [1, 4, 8], [1, 4]
    >>> logits = net.top(x, mask)  # [1, 4, 10]
  """

  def __init__(self, vocab_size, hidden_size, tie_embeddings=False, **kwargs):
    super().__init__(**kwargs)
    self.vocab_size, self.hidden_size, self.tie_embeddings = vocab_size, hidden_size, tie_embeddings

  @classmethod
  def from_hparams(cls, hparams, spec, role, **kwargs):
    size = spec.input_vocab_size if role == "input" else spec.target_vocab_size
    return cls(vocab_size=size, hidden_size=hparams.hidden_size,
               tie_embeddings=hparams.tie_embeddings, **kwargs)

  def build(self, input_shape=None):
    self.embedding = keras.layers.Embedding(self.vocab_size, self.hidden_size, name="embedding",
                                            dtype=self.dtype_policy)
    self.embedding.build((None, None))
    if not self.tie_embeddings:
      self.softmax = Dense(self.vocab_size, name="softmax", dtype=self.dtype_policy)
      self.softmax.build((None, None, self.hidden_size))

  def bottom(self, ids, training=None):
    del training
    mask = mm_ops.sequence_mask_from_ids(ids)
    x = self.embedding(ids) * ops.cast(self.hidden_size ** 0.5, self.compute_dtype)
    return mm_ops.apply_mask(x, mask), mask

  def targets_bottom(self, targets):
    return self.bottom(targets)

  def top(self, x, mask=None, training=None):
    del mask, training
    if self.tie_embeddings:
      logits = mm_ops.dense(x, ops.transpose(ops.cast(self.embedding.embeddings, x.dtype)))
    else:
      logits = self.softmax(x)
    return ops.cast(logits, "float32")

  def call(self, ids, training=None):
    return self.bottom(ids, training)

  def get_config(self):
    return {**super().get_config(), "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size, "tie_embeddings": self.tie_embeddings}
