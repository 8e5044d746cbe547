"""Export a trained model's decoding as a SavedModel: two serving signatures per problem.

    export_run(run, export_dir, DecodeHParams(beam_size=4))
    import tensorflow_text  # registers the SentencePiece ops the text signatures use
    loaded = tf.saved_model.load(export_dir)
    loaded.signatures["ende_strings"](text=tf.constant(["the cat sleeps"]))
        # {"outputs": string [B, N], "scores": float32 [B, N]}   (N = beam_size)
    loaded.signatures["caption_strings"](image_bytes=tf.constant([png_bytes]))
    loaded.signatures["speech_strings"](wav_bytes=tf.constant([wav_bytes]))
    loaded.signatures["ende"](inputs=ids)     # {"ids": int32 [B, N, L], "scores": [B, N]}

`NAME_strings`: raw strings in (UTF-8 text, encoded PNG/JPEG/GIF/BMP bytes, or 16-bit PCM WAV
bytes at any rate), text or class names out; tokenization, image and wav decoding, resampling
and detokenization run in the graph (t2t_mm/decoding/serving.py), so serving needs neither
Python nor the vocabulary files. Inputs over the InputLimits max_input_chars,
max_image_bytes, max_image_pixels (read from the image header, before decoding) or
max_audio_bytes fail the call with InvalidArgumentError naming the limit. `NAME`: the model's
own tensors: symbol ids int32 [B, L] (EOS-terminated, 0-padded), images float32 [B, H, W, 3] in
[0, 1], waveforms float32 [B, N] at the problem's rate. Either way the whole cached search (the
while_loop) is in the graph.
"""

import os
import shutil
import tempfile
from typing import Optional, Sequence

from absl import logging
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.decoding.loading import LoadedRun
from t2t_mm.search.compiled import decode_features
from t2t_mm.decoding import inputs as inputs_lib
from t2t_mm.decoding.serving import InputEncoder
from t2t_mm.decoding.serving import OutputDecoder
from t2t_mm.utils import fs


def _input_spec(preprocessor) -> tf.TensorSpec:
  """The batched "inputs" of the ids-level signature: the preprocessor's per-example output
  with a batch axis (ragged axes padded)."""
  try:
    inner = preprocessor.serving_spec()
  except errors.ConfigError:  # E.g. images of no fixed size: any height and width.
    return tf.TensorSpec([None, None, None, 3], tf.float32, name="inputs")
  return tf.TensorSpec([None, *inner.shape], inner.dtype, name="inputs")


class _Exported(tf.Module):
  """Holds the model's variables (tracked explicitly: see loading.py), the tokenizers' resources
  and the signatures."""

  def __init__(self, model):
    super().__init__()
    self.model_variables = list(model.variables)
    self.converters = []


def _strings_fn(serve, encode: InputEncoder, decode: OutputDecoder):
  """strings [B] -> {"outputs": strings [B, N], "scores": [B, N]} around an ids-level `serve`.
  (A closure, not default arguments: a signature may take only the one input.)"""

  def serve_strings(strings):
    out = serve(encode(strings))
    return {"outputs": decode(out["ids"]), "scores": out["scores"]}

  return serve_strings


def _converters(run: LoadedRun, name: str, input_limits: InputLimits, allow_ids_only: bool):
  """(InputEncoder, OutputDecoder) of the `name`_strings signature, or None where the problem
  has no in-graph conversion and `allow_ids_only`; otherwise a ConfigError naming why."""
  problem, spec = run.problems[name], run.specs[name]
  try:
    return (InputEncoder.for_problem(problem, spec, run.vocab_dir, run.hparams,
                                      input_limits),
            OutputDecoder.for_problem(problem, spec, run.vocab_dir))
  except errors.ConfigError as e:
    if not allow_ids_only:
      raise errors.ConfigError(
          f"Cannot export a {name}_strings signature: {e} Pass --allow_ids_only (api: "
          f"allow_ids_only=True) to export only its ids signature, or leave it out with "
          "--problems.") from e
    logging.warning("No %s_strings signature (the ids signature is exported): %s", name, e)
    return None


def export_run(run: LoadedRun, export_dir: str, dhp: DecodeHParams = DecodeHParams(),
               problems: Optional[Sequence[str]] = None, allow_ids_only: bool = False,
               input_limits: InputLimits = InputLimits()) -> str:
  """Writes the SavedModel with the signatures of `problems` (default: every trained problem),
  searching by `dhp` and refusing inputs over `input_limits`; returns export_dir. Refuses to
  overwrite a non-empty folder. A problem without in-graph string conversions (a vocabulary
  with no in-graph form) is a ConfigError, raised before any tracing, unless `allow_ids_only`
  (then it gets its ids signature only, with a warning)."""
  names = [run.check_problem(n) for n in problems] if problems else list(run.specs)
  check_export_dir(export_dir)
  converters = {name: _converters(run, name, input_limits, allow_ids_only) for name in names}
  module = _Exported(run.model)
  signatures = {}
  for name in names:
    spec = run.specs[name]
    space = int(spec.target_space)

    def serve(inputs, name=name, space=space):
      b = tf.shape(inputs)[0]
      features = {"inputs": inputs, "target_space": tf.fill([b], space)}
      # The plain graph: a SavedModel should not need an XLA JIT where it is served.
      ids, scores = decode_features(run.model, features, name, dhp.replace(jit_compile=False),
                                    dhp.seed)
      return {"ids": ids, "scores": scores}

    problem = run.problems[name]
    pre = inputs_lib.preprocessor(problem, spec, run.vocab_dir, run.hparams)
    fn = tf.function(serve, input_signature=[_input_spec(pre)])
    setattr(module, f"decode_{name}", fn)
    signatures[name] = fn.get_concrete_function()

    if converters[name] is None:
      continue
    encode, decode = converters[name]
    module.converters += [encode, decode]

    fn = tf.function(_strings_fn(serve, encode, decode), input_signature=[
        tf.TensorSpec([None], tf.string, name=encode.input_name)])
    setattr(module, f"decode_{name}_strings", fn)
    signatures[f"{name}_strings"] = fn.get_concrete_function()
  if not fs.is_local(export_dir):
    return _save_in_place(module, export_dir.rstrip("/"), signatures)
  # Atomic: written to a fresh folder of our own beside the target, then renamed into place.
  # A folder we did not make (say a user's X.tmp) is never touched; ours are named with the
  # pid, so one a killed export left behind is recognised and removed by the next.
  target = os.path.abspath(export_dir.rstrip("/"))
  os.makedirs(os.path.dirname(target), exist_ok=True)
  _remove_stale_temps(target)
  tmp = tempfile.mkdtemp(prefix=f"{os.path.basename(target)}.tmp-{os.getpid()}-",
                         dir=os.path.dirname(target))
  umask = os.umask(0)
  os.umask(umask)
  os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; an export is a normal folder.
  try:
    tf.saved_model.save(module, tmp, signatures=signatures)
    if os.path.isdir(target):
      os.rmdir(target)  # Empty (checked above).
    os.replace(tmp, target)
  except (OSError, tf.errors.OpError) as e:
    shutil.rmtree(tmp, ignore_errors=True)  # Ours alone: made by mkdtemp above.
    raise errors.storage_error(target, e, "nothing was written there.") from e
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return export_dir


def _save_in_place(module, target: str, signatures) -> str:
  """Off the local disk a folder cannot be renamed into place at once (object stores copy each
  file): the SavedModel is written into the new, empty `target`, and removed if that fails. A
  reader can tell it is complete by its saved_model.pb, which TensorFlow writes last."""
  try:
    tf.saved_model.save(module, target, signatures=signatures)
  except (OSError, tf.errors.OpError) as e:
    fs.rmtree(target, ignore_errors=True)  # New or empty before (check_export_dir).
    raise errors.storage_error(target, e, "nothing was kept there.") from e
  except BaseException:
    fs.rmtree(target, ignore_errors=True)
    raise
  return target


def check_export_dir(export_dir: str) -> None:
  """ConfigError unless `export_dir` is a new or empty folder whose parent can be written."""
  if fs.exists(export_dir) and not fs.isdir(export_dir):
    raise errors.ConfigError(f"--export_dir={export_dir} is a file; give a new folder.")
  if fs.isdir(export_dir) and fs.listdir(export_dir):
    raise errors.ConfigError(f"Export folder {export_dir} is not empty; choose a new one.")
  if not fs.is_local(export_dir):
    return  # No permissions to ask an object store about: its first write says.
  parent = os.path.dirname(os.path.abspath(export_dir.rstrip("/")))
  while not os.path.exists(parent):
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
    raise errors.ConfigError(f"--export_dir={export_dir}: cannot write in {parent}.")


def _remove_stale_temps(target: str) -> None:
  """Removes `<target>.tmp-<pid>-*` folders of exports whose process is gone."""
  prefix = os.path.basename(target) + ".tmp-"
  folder = os.path.dirname(target)
  for name in os.listdir(folder):
    pid = name[len(prefix):].split("-", 1)[0] if name.startswith(prefix) else ""
    if not pid.isdigit() or int(pid) == os.getpid():
      continue
    try:
      os.kill(int(pid), 0)
      continue  # Alive: another export at work.
    except ProcessLookupError:
      pass
    except PermissionError:
      continue
    logging.warning("Removing %s, left by an export that was killed.", name)
    shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
