"""moe_step: the MoE at inference by gathering each token's k experts equals the layer."""

import numpy as np

from t2t_mm.layers.moe import MixtureOfExperts
from t2t_mm.layers.moe_step import moe_step


def test_moe_step_equals_the_layer_at_inference():
  moe = MixtureOfExperts(8, 12, num_experts=5, k=2)
  moe.build((None, None, 8))
  rng = np.random.default_rng(0)
  moe.w_gate.assign(rng.standard_normal((8, 5)).astype("float32"))  # Distinct routes.
  moe.b1.assign(rng.standard_normal((5, 12)).astype("float32"))
  x = rng.standard_normal((6, 1, 8)).astype("float32")
  np.testing.assert_allclose(np.asarray(moe_step(moe, x)),
                             np.asarray(moe(x, training=False)), atol=1e-5)
  assert len(set(np.asarray(moe.last_gates).argmax(-1).tolist())) > 1  # Several experts used.
