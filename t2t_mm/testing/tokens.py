"""Token-id helpers for tests of the search."""

import numpy as np

from t2t_mm.data.spec import EOS_ID, PAD_ID


def trim(ids) -> list:
  """One hypothesis' ids up to (excluding) its end token (EOS or PAD), as a Python list."""
  out = []
  for i in np.asarray(ids).tolist():
    if i in (PAD_ID, EOS_ID):
      break
    out.append(int(i))
  return out
