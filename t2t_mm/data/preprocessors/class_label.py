"""ClassLabelPreprocessor: a class index -> int32 [1]."""

from typing import Dict

from t2t_mm import registry
from t2t_mm.data.preprocessors.base import Preprocessor
from t2t_mm.utils.lazy import tf


@registry.register_preprocessor(name="class_label")
class ClassLabelPreprocessor(Preprocessor):
  """A stored int64 label -> int32 [1] (targets only: users do not type labels in).

  Args:
    config: a SideConfig.

  Example:
    >>> ClassLabelPreprocessor(SideConfig("p", 1)).from_stored({"raw": tf.constant(3, tf.int64)})
  """

  stored_dtype = "int64"
  fixed_shape = True
  one_token = True

  @classmethod
  def to_feature(cls, raw) -> "tf.train.Feature":
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(raw)]))

  def from_stored(self, parts: Dict[str, "tf.Tensor"]) -> "tf.Tensor":
    return tf.reshape(tf.cast(parts["raw"], tf.int32), [1])
