"""Command-line tools (installed as t2t_mm.bin): flags in, library calls out.

Importing this package puts the TensorFlow runtime defaults the tools run with into the
environment. TensorFlow reads them once, when its runtime starts, so they must be set before
the first op; every tool (and bench/) imports this package before TensorFlow. A value already
in the environment wins, so a user can turn each one off. Then it imports TensorFlow, hiding
the start-up lines the log level hides (tf_startup.py).
"""

import os

RUNTIME_ENV_DEFAULTS = {
    # TensorFlow's default CPU allocator hands large freed buffers back to the OS, so every
    # training step page-faults its big gradients in again. The BFC allocator keeps them for
    # reuse (growing up to TF_CPU_BFC_MEM_LIMIT_IN_MB, 64 GiB by default): faster steps in
    # bench/model.py and bench/train.py (docs/STACK.md).
    "TF_CPU_ALLOCATOR_USE_BFC": "true",
    # TensorFlow's C++ INFO and WARNING lines (start-up banners, per-op notes) are not for
    # users of the tools; ERRORs still show. 0 brings everything back (tf_startup.py).
    "TF_CPP_MIN_LOG_LEVEL": "2",
}

for _name, _value in RUNTIME_ENV_DEFAULTS.items():
  os.environ.setdefault(_name, _value)

# TensorFlow logs its start-up before it applies TF_CPP_MIN_LOG_LEVEL; this applies it.
from t2t_mm.bin import tf_startup  # noqa: E402

tf_startup.start_tensorflow()
