"""Export a trained model's decoding as a SavedModel: one serving signature per problem.

    export_run(run, export_dir, DecodeHParams(beam_size=4))
    loaded = tf.saved_model.load(export_dir)
    out = loaded.signatures["ende"](inputs=ids)   # {"ids": [B, N, L] int32, "scores": [B, N]}

Inputs per problem's input modality: symbol ids int32 [B, L] (EOS-terminated, 0-padded),
images float32 [B, H, W, 3] in [0, 1], waveforms float32 [B, N] at the problem's rate. The whole
cached search (the while_loop) is in the graph; no Python is needed to serve.

Not yet: string in -> string out signatures (text, encoded image bytes, wav bytes), which need
the problems' in-graph tokenizers and decoders from the data path (issue #3).
"""

import os
import shutil

import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.decoding.loading import LoadedRun
from t2t_mm.decoding.runner import decode_features


def _input_spec(spec, problem):
  if spec.input_modality == "symbol":
    return tf.TensorSpec([None, None], tf.int32, name="inputs")
  if spec.input_modality == "image":
    size = getattr(problem, "image_size", None) or (None, None)
    return tf.TensorSpec([None, size[0], size[1], 3], tf.float32, name="inputs")
  return tf.TensorSpec([None, None], tf.float32, name="inputs")


class _Exported(tf.Module):
  """Holds the model's variables (tracked explicitly: see loading.py) and the signatures."""

  def __init__(self, model):
    super().__init__()
    self.model_variables = list(model.variables)


def export_run(run: LoadedRun, export_dir: str, dhp: DecodeHParams = DecodeHParams()) -> str:
  """Writes the SavedModel; returns export_dir. Refuses to overwrite a non-empty folder."""
  if os.path.isdir(export_dir) and os.listdir(export_dir):
    raise errors.ConfigError(f"Export folder {export_dir} is not empty; choose a new one.")
  module = _Exported(run.model)
  signatures = {}
  for name, spec in run.specs.items():
    space = int(spec.target_space)

    def serve(inputs, name=name, space=space):
      b = tf.shape(inputs)[0]
      features = {"inputs": inputs, "target_space": tf.fill([b], space)}
      ids, scores = decode_features(run.model, features, name, dhp, dhp.seed)
      return {"ids": ids, "scores": scores}

    fn = tf.function(serve, input_signature=[_input_spec(spec, run.problems.get(name))])
    setattr(module, f"decode_{name}", fn)
    signatures[name] = fn.get_concrete_function()
  # Atomic: written beside, then renamed into place.
  tmp = export_dir.rstrip("/") + ".tmp"
  if os.path.exists(tmp):
    shutil.rmtree(tmp)
  tf.saved_model.save(module, tmp, signatures=signatures)
  if os.path.isdir(export_dir):
    os.rmdir(export_dir)  # Empty (checked above).
  os.replace(tmp, export_dir)
  return export_dir
