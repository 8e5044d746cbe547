"""Decode every line of a file: batches sorted by length, output in the input's order.

    decode_file(session, "in.txt", "out.txt")
Each input line is text, image=PATH or audio=PATH for the session's problem (commands are not
read in files). Output line i answers input line i: the best hypothesis, or with
return_beams=true every hypothesis as `text<TAB>score`, hypotheses separated by tabs. A bad
line yields `ERROR: <message>` on its output line (and a warning), so lines stay aligned. The
output file is written atomically.
"""

import os
import sys
from typing import List, Optional, Union

import tqdm

from t2t_mm import errors
from t2t_mm.decoding import inputs as inputs_lib
from t2t_mm.decoding.session import DecodeSession
from t2t_mm.utils import atomic, fs


def _format(hyps, return_beams: bool) -> str:
  clean = lambda text: text.replace("\t", " ").replace("\n", " ")
  if return_beams:
    return "\t".join(f"{clean(h.text)}\t{h.score:.4f}" for h in hyps)
  return clean(hyps[0].text)


def decode_lines(session: DecodeSession, lines: List[Union[bytes, errors.DataError]],
                 show_progress: bool = True, warn=None) -> List[str]:
  """Raw lines -> one output string per line, in the input's order; a DataError in place of a
  line (one refused while it was read) becomes that line's ERROR."""
  warn = warn or (lambda msg: print(msg, file=sys.stderr))
  results: List[Optional[str]] = [None] * len(lines)
  encoded = []
  for i, line in enumerate(lines):
    try:
      if isinstance(line, errors.DataError):
        raise line
      request = session.parse(line)
      if request.kind == "command":
        raise errors.DataError(f"'{request.key}=' is a command; in files set it with "
                               "--decode_hparams or --problem.")
      encoded.append((i, session.encode(request)))
    except errors.T2TMMError as e:
      results[i] = f"ERROR: {e}"
      warn(f"line {i + 1}: {e}")
  # Longest first: similar lengths share a batch (little padding), and the slowest batch
  # shows up early in the progress bar's estimate.
  encoded.sort(key=lambda item: -inputs_lib.input_length(item[1]))
  size = session.dhp.batch_size
  batches = [encoded[i:i + size] for i in range(0, len(encoded), size)]
  for batch in tqdm.tqdm(batches, desc="decoding", unit="batch", disable=not show_progress,
                         file=sys.stderr):
    hyps = session.decode_batch([x for _, x in batch])
    for (i, _), h in zip(batch, hyps):
      results[i] = _format(h, session.dhp.return_beams)
  return results


def check_paths(in_path: str, out_path: str, in_flag: str = "--decode_from_file") -> None:
  """Fails before any decoding if `in_path` cannot be read or `out_path` cannot be written."""
  if not fs.isfile(in_path) or fs.is_local(in_path) and not os.access(in_path, os.R_OK):
    raise errors.ConfigError(f"{in_flag}={in_path} is not a readable file.")
  if fs.isdir(out_path):
    raise errors.ConfigError(f"--decode_to_file={out_path} is a folder; give a file path.")
  if not fs.is_local(out_path):
    return  # No permissions to ask an object store about: its first write says.
  parent = os.path.dirname(os.path.abspath(out_path))
  while not fs.exists(parent):
    parent = os.path.dirname(parent)
  if not fs.isdir(parent) or not os.access(parent, os.W_OK):
    raise errors.ConfigError(f"--decode_to_file={out_path}: cannot write in {parent}.")


def read_lines(in_path: str, flag: str, max_chars: int) -> List[Union[bytes, errors.DataError]]:
  """Every line of `in_path` (without its newline), each read with the interactive loop's
  bound (inputs.read_line): a line over it is its DataError, so output lines stay aligned."""
  lines: List[Union[bytes, errors.DataError]] = []
  try:
    with fs.open(in_path, "rb") as f:
      while True:
        try:
          line = inputs_lib.read_line(f, max_chars)
        except inputs_lib.StreamError as e:
          raise inputs_lib.StreamError(f"{flag}={in_path}: {e}") from e
        except errors.DataError as e:
          line = e
        if not line:
          break
        lines.append(line if isinstance(line, errors.DataError) else line.rstrip(b"\r\n"))
  except errors.T2TMMError:  # An OSError too (DataError is an IOError): ours, as it is.
    raise
  except OSError as e:
    raise errors.DataError(f"{flag}={in_path}: cannot read it ({e.strerror}).") from e
  return lines


def decode_file(session: DecodeSession, in_path: str, out_path: str,
                show_progress: bool = True) -> int:
  """Decodes `in_path` into `out_path`; returns the number of lines."""
  check_paths(in_path, out_path)
  lines = read_lines(in_path, "--decode_from_file", session.input_limits.max_input_chars)
  results = decode_lines(session, lines, show_progress)
  atomic.atomic_write_text(out_path, "".join(r + "\n" for r in results))
  return len(results)
