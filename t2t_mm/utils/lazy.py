"""Modules imported on first use, so that registering problems does not start TensorFlow.

    from t2t_mm.utils.lazy import tf     # `tf.data...` imports tensorflow on first access

Looking up names (`mm-trainer --registry_help`, mm-datagen's name checks) stays fast; the
~3 s TensorFlow import happens only when data is read or written.
"""

import importlib
import types


class LazyModule(types.ModuleType):
  """A stand-in for module `name` that imports it on the first attribute access."""

  def __init__(self, name: str):
    super().__init__(name)
    self.__dict__["_lazy_name"] = name
    self.__dict__["_lazy_module"] = None

  def __getattr__(self, attr: str):
    module = self.__dict__["_lazy_module"]
    if module is None:
      module = importlib.import_module(self.__dict__["_lazy_name"])
      self.__dict__["_lazy_module"] = module
    return getattr(module, attr)


tf = LazyModule("tensorflow")
