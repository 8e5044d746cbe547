"""Modules imported on first use, so that registering problems does not start TensorFlow.

    from t2t_mm.utils.lazy import tf     # `tf.data...` imports tensorflow on first access

What stays lazy is the data modules' own use of TensorFlow: importing t2t_mm.registry, the data
modules or a plugin that registers problems does not import it (~3 s). Other paths do: the
first registry lookup loads the built-in models and modalities (Keras layers), and every
command-line tool starts TensorFlow first thing (t2t_mm/bin/__init__.py sets its runtime
defaults before it).
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
