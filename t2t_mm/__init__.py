"""t2t_mm: train one MultiModel (Kaiser et al. 2017) on many problems across modalities.

The installed package holds the library (`t2t_mm.*`) plus three packages that live at the top
of the source tree: `problems/` -> `t2t_mm.problems`, `hparams/` -> `t2t_mm.hparams` and
`bin/` -> `t2t_mm.bin` (see setup.py's package_dir).
"""

__version__ = "0.1.0"
