"""ImageModality: Xception entry flow shapes and config round trip."""

import numpy as np
import pytest

from t2t_mm import registry
from t2t_mm.modalities.image import ImageModality


@pytest.mark.parametrize("size,positions", [(32, 4), (64, 16)])
def test_entry_flow_shapes(size, positions):
  net = ImageModality(hidden_size=16)
  net.build()
  x, mask = net.bottom(np.random.default_rng(0).random((2, size, size, 3)).astype("float32"))
  assert tuple(x.shape) == (2, positions, 16)
  assert np.all(np.asarray(mask) == 1)


def test_registered_and_config_round_trip():
  assert registry.modality("image") is not None
  net = ImageModality(hidden_size=16)
  net.build()
  img = np.random.default_rng(1).random((1, 32, 32, 3)).astype("float32")
  clone = ImageModality.from_config(net.get_config())
  clone.build()
  clone.set_weights(net.get_weights())
  np.testing.assert_allclose(np.asarray(clone.bottom(img)[0]), np.asarray(net.bottom(img)[0]),
                             atol=1e-5)
