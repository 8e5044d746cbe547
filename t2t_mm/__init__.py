"""t2t_mm: train one MultiModel (Kaiser et al. 2017) on many problems across modalities.

The installed package holds the library (`t2t_mm.*`) plus three packages that live at the top
of the source tree: `problems/` -> `t2t_mm.problems`, `hparams/` -> `t2t_mm.hparams` and
`bin/` -> `t2t_mm.bin` (see setup.py's package_dir).
"""

import os as _os

__version__ = "0.1.0"

# In a source checkout that was not installed, problems/, hparams/ and bin/ sit beside this
# package rather than inside it; adding the checkout's root to __path__ lets the same
# `t2t_mm.problems` imports work there. Installed copies (plain or editable) never need this.
_here = _os.path.dirname(_os.path.abspath(__file__))
_root = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "problems")) and _os.path.isfile(
    _os.path.join(_root, "problems", "__init__.py")
):
  __path__.append(_root)  # type: ignore[name-defined]  # noqa: F821
