"""Scoring given targets: the model's log-probability of each (T2T's --score_file).

    score_file(session, "pairs.tsv", "pairs.tsv.scores")

Each input line is `input<TAB>target`: the input as a decoder line gives it (text, image=PATH,
audio=PATH) for the session's problem, the target as text (or a class name). Output line i is
`log_prob<TAB>per_token` for input line i: the natural-log probability of the whole target
(EOS included for text) teacher-forced, and that divided by the target's tokens; or
`ERROR: <message>` for a bad line, so lines stay aligned. The output is written atomically.
"""

import sys
from typing import List, Union

import numpy as np
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.data.spec import EOS_ID, PAD_ID
from t2t_mm.decoding import file_decode
from t2t_mm.decoding import inputs as inputs_lib
from t2t_mm.decoding.session import DecodeSession
from t2t_mm.utils import atomic


def target_ids(session: DecodeSession, text: str) -> np.ndarray:
  """The ids the model is scored on: the target's tokens and EOS (one id for a class)."""
  spec = session.run.specs[session.problem]
  ids = list(session.target_vocab().encode(text))
  return np.asarray(ids if spec.one_token_targets else ids + [EOS_ID], np.int32)


def log_probs(session: DecodeSession, examples, targets) -> List[float]:
  """Per example, the sum of the log-probabilities of its target ids."""
  spec = session.run.specs[session.problem]
  features = inputs_lib.make_batch(list(examples), spec)
  width = max(len(t) for t in targets)
  padded = np.stack([np.pad(t, (0, width - len(t)), constant_values=PAD_ID) for t in targets])
  features["targets"] = padded
  logits = session.run.model(features, problem=session.problem, training=False)
  logp = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
  token_logp = tf.gather(logp, padded, axis=-1, batch_dims=2).numpy()
  mask = np.ones_like(padded, bool) if spec.one_token_targets else padded != PAD_ID
  return [float(row[m].sum()) for row, m in zip(token_logp, mask)]


def score_lines(session: DecodeSession, lines: List[Union[bytes, errors.DataError]],
                warn=None) -> List[str]:
  """Raw `input<TAB>target` lines (or the DataError of a line that could not be read) -> one
  output line each, in the input's order."""
  warn = warn or (lambda msg: print(msg, file=sys.stderr))
  results: List[str] = [""] * len(lines)
  parsed = []
  for i, line in enumerate(lines):
    try:
      if isinstance(line, errors.DataError):
        raise line
      if b"\t" not in line:
        raise errors.DataError("expected `input<TAB>target`, got no tab.")
      source, target = line.split(b"\t", 1)
      request = session.parse(source)
      if request.kind == "command":
        raise errors.DataError(f"'{request.key}=' is a command, not an input.")
      parsed.append((i, session.encode(request), target_ids(session, target.decode("utf-8"))))
    except (errors.T2TMMError, UnicodeDecodeError) as e:
      results[i] = f"ERROR: {e}"
      warn(f"line {i + 1}: {e}")
  size = session.dhp.batch_size
  for start in range(0, len(parsed), size):
    batch = parsed[start:start + size]
    for (i, _, ids), total in zip(batch, log_probs(session, [x for _, x, _ in batch],
                                                   [t for _, _, t in batch])):
      results[i] = f"{total:.6f}\t{total / len(ids):.6f}"
  return results


def score_file(session: DecodeSession, in_path: str, out_path: str) -> int:
  """Scores every line of `in_path` into `out_path`; returns the number of lines."""
  # Each line bounded as the decoder's are (a pair may hold twice max_input_chars).
  lines = file_decode.read_lines(in_path, "--score_file",
                                 2 * session.input_limits.max_input_chars + 1)
  results = score_lines(session, lines)
  atomic.atomic_write_text(out_path, "".join(r + "\n" for r in results))
  return len(lines)
