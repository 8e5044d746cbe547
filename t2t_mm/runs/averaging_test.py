import os

import numpy as np
import pytest

from t2t_mm import errors
from t2t_mm.runs import averaging
from t2t_mm.runs import checkpoints
from t2t_mm.runs.checkpoints_test import build


def test_the_average_of_two_checkpoints_is_the_mean_of_their_variables(tmp_path):
  directory = str(tmp_path / checkpoints.CHECKPOINT_DIR)
  first, second = build(1), build(2)
  # Two checkpoints of one run: steps 10 and 20 (saved into one folder).
  a = averaging.save_model(first, directory, 10)
  b = averaging.save_model(second, directory, 20)
  assert {os.path.basename(a), os.path.basename(b)} == {"ckpt-10", "ckpt-20"}
  assert averaging.last_checkpoints(str(tmp_path), 2) == [b, a]
  model = build(3)
  averaging.average_into(model, [b, a])
  named = [checkpoints.variables_by_name(m.variables) for m in (model, first, second)]
  floats = [k for k, v in named[0].items() if averaging.is_float(v)]
  assert len(floats) > 50
  for key in floats:
    np.testing.assert_allclose(named[0][key].numpy(),
                               (named[1][key].numpy() + named[2][key].numpy()) / 2,
                               rtol=1e-6, atol=1e-7, err_msg=key)


def test_averaging_more_checkpoints_than_the_run_has_is_an_error(tmp_path):
  averaging.save_model(build(1), str(tmp_path / checkpoints.CHECKPOINT_DIR), 5)
  with pytest.raises(errors.DataError, match="holds 1 complete checkpoints, fewer than the 3"):
    averaging.last_checkpoints(str(tmp_path), 3)
  with pytest.raises(errors.ConfigError, match=">= 1"):
    averaging.last_checkpoints(str(tmp_path), 0)
