"""SymbolModality: embedding in with PAD mask, logits out, tied weights."""

import numpy as np

from t2t_mm import registry
from t2t_mm.modalities.symbol import SymbolModality


def test_bottom_and_top_shapes_and_mask():
  net = SymbolModality(vocab_size=11, hidden_size=8)
  net.build()
  ids = np.array([[5, 3, 1, 0, 0]], "int32")
  x, mask = net.bottom(ids)
  assert tuple(x.shape) == (1, 5, 8)
  np.testing.assert_array_equal(np.asarray(mask), [[1, 1, 1, 0, 0]])
  assert np.all(np.asarray(x)[:, 3:] == 0)
  logits = net.top(x)
  assert tuple(logits.shape) == (1, 5, 11) and logits.dtype == "float32"


def test_tied_embeddings_share_the_matrix():
  net = SymbolModality(vocab_size=11, hidden_size=8, tie_embeddings=True)
  net.build()
  assert len(net.weights) == 1
  x = np.eye(8, dtype="float32")[None, :2]
  np.testing.assert_allclose(np.asarray(net.top(x))[0], net.embedding.embeddings.numpy().T[:2],
                             atol=1e-6)


def test_registered_and_round_trips():
  assert registry.modality("symbol")(vocab_size=4, hidden_size=2).vocab_size == 4
  net = SymbolModality(vocab_size=11, hidden_size=8)
  assert SymbolModality.from_config(net.get_config()).get_config() == net.get_config()
