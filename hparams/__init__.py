"""Registered hparams sets (installed as t2t_mm.hparams). Importing registers them."""

from t2t_mm.hparams import multimodel  # noqa: F401
