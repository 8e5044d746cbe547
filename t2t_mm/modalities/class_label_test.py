"""ClassLabelModality: exit flow to [B, 1, C] logits, masked pooling."""

import numpy as np

from t2t_mm.modalities.class_label import ClassLabelModality


def test_logits_shape_and_targets_bottom():
  net = ClassLabelModality(num_classes=5, hidden_size=8)
  net.build()
  x = np.random.default_rng(0).standard_normal((3, 1, 8)).astype("float32")
  logits = net.top(x, np.ones((3, 1), "float32"))
  assert tuple(logits.shape) == (3, 1, 5) and logits.dtype == "float32"
  emb, mask = net.targets_bottom(np.zeros((3, 1), "int32"))
  assert tuple(emb.shape) == (3, 1, 8) and tuple(mask.shape) == (3, 1)


def test_padded_positions_do_not_change_logits():
  net = ClassLabelModality(num_classes=5, hidden_size=8)
  net.build()
  x = np.random.default_rng(0).standard_normal((1, 3, 8)).astype("float32")
  short = np.asarray(net.top(x, np.ones((1, 3), "float32")))
  x_pad = np.concatenate([x, np.ones((1, 4, 8), "float32")], axis=1)
  long = np.asarray(net.top(x_pad, np.array([[1, 1, 1, 0, 0, 0, 0]], "float32")))
  np.testing.assert_allclose(short, long, atol=1e-5)
