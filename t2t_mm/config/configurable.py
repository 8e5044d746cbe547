"""Registered classes as gin configurables, with their hparams arguments denied.

    cls = make_configurable(WmtEndeMini, name="wmt_ende_mini", module="problems")
    # gin: problems.wmt_ende_mini.num_train_examples = 2000

A setting that changes what a checkpoint computes is an hparam (hparams.json), never a gin
binding, so every HParams field and an `hparams` argument are on gin's denylist.
"""

import inspect

import gin

from t2t_mm.config import hparams as hparams_lib
from t2t_mm.config import typed

HPARAM_FIELDS = frozenset(typed.field_types(hparams_lib.HParams))


def make_configurable(cls, name: str, module: str):
  """Registers class `cls` with gin as `module.name`, its hparams arguments denied."""
  params = inspect.signature(cls.__init__).parameters
  denied = [p for p in params if p in HPARAM_FIELDS or p == "hparams"]
  if any(base.__module__.startswith("keras") for base in cls.__mro__):
    # Keras inspects the argspec of cls.__init__ in Layer.__new__, which gin's in-place
    # __init__ wrapper hides; a gin subclass that returns an instance of `cls` keeps it intact.
    return gin.external_configurable(cls, name, module=module, denylist=denied or None)
  return gin.configurable(name, module=module, denylist=denied or None)(cls)
