"""A decoding session over a loaded run: the interactive loop and the per-line logic.

    session = DecodeSession(load_for_decoding(output_dir), DecodeHParams(beam_size=4))
    session.handle("Das Haus ist klein.")    # -> "the house is small   (41 ms)"
    session.handle("problem=image_scenes_mini"); session.handle("image=/tmp/a.png")
    interactive_loop(session, sys.stdin.buffer, sys.stdout)

A bad line (missing or unreadable file, not an image, unreadable audio, a file or image over
its size limit, empty, too long, bytes that are not UTF-8, an unknown problem or setting) gets
a one-line message starting with "error:" and the session goes on. Bugs are not caught.
"""

import dataclasses
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from t2t_mm import errors
from t2t_mm.config import typed
from t2t_mm.config import input_limits as input_limits_lib
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.data import spec as spec_lib
from t2t_mm.decoding import inputs as inputs_lib
from t2t_mm.data.spec import EOS_ID
from t2t_mm.data.spec import PAD_ID
from t2t_mm.decoding.loading import LoadedRun
from t2t_mm.search.compiled import CompiledSearch

# What a `KEY=VALUE` line may set.
COMMAND_KEYS = (("problem",) + tuple(f.name for f in dataclasses.fields(DecodeHParams))
                + input_limits_lib.NAMES)


@dataclasses.dataclass
class Attention:
  """Where the decoder looked, for one hypothesis (decode_batch(..., attention=True)).

  weights float32 [len(layers), len(outputs), S]: for each source-attention block of the model
  ("mixer", "decoder0", ...) and each output token (through the end token), its weights over
  the S real encoded input positions, averaged over heads (each row sums to 1). `inputs` says
  what the positions are: {"kind": "text", "tokens": [S pieces]}, {"kind": "image",
  "grid": [rows, columns] (rows * columns = S, row-major over the image), "size": [height,
  width] of the image the model read}, or {"kind": "audio", "frames": S, "seconds": the
  duration the S frames cover}.
  """
  layers: List[str]
  outputs: List[str]
  weights: np.ndarray
  inputs: Dict[str, object]


@dataclasses.dataclass
class Hypothesis:
  text: str
  score: float
  attention: Optional[Attention] = None  # The best hypothesis's, when asked for.


END_TOKEN = "</s>"


def image_grid(positions: int, height: int, width: int) -> Tuple[int, int]:
  """(rows, columns) of an image's `positions` encoded positions: the factorization closest to
  the image's aspect (the image modality flattens its feature map row by row)."""
  pairs = [(r, positions // r) for r in range(1, positions + 1) if positions % r == 0]
  aspect = np.log(max(height, 1) / max(width, 1))
  return min(pairs, key=lambda p: abs(np.log(p[0] / p[1]) - aspect))


class DecodeSession:
  """See the module docstring. `problem` defaults to the first problem of the run; `dhp` are
  the search settings, `input_limits` bound what users give (both settable by a line)."""

  def __init__(self, run: LoadedRun, dhp: Optional[DecodeHParams] = None,
               problem: Optional[str] = None, input_limits: Optional[InputLimits] = None):
    self.run, self.dhp = run, dhp or DecodeHParams()
    self.input_limits = input_limits or InputLimits()
    self.search = CompiledSearch(run.model)
    self._vocabs: Dict[Tuple[str, str], object] = {}
    self.problem = self.run.check_problem(problem or next(iter(run.specs)))
    # Loaded now: a missing or damaged vocabulary stops the session at its start with the
    # file named, not every line with the same error.
    for name in run.specs:
      self._vocab(name, "target")
      self._vocab(name, "input")  # None for inputs without one (images, audio).

  # --- Settings ---

  def command(self, key: str, value: str) -> str:
    if key == "problem":
      self.problem = self.run.check_problem(value)
      spec = self.run.specs[value]
      return f"problem={value} ({spec.input_modality} -> {spec.target_modality})"
    if key in input_limits_lib.NAMES:
      self.input_limits = self.input_limits.replace(
          **typed.parse_overrides(f"{key}={value}", InputLimits))
      return f"{key}={getattr(self.input_limits, key)}"
    self.dhp = self.dhp.with_overrides(f"{key}={value}")
    return f"{key}={getattr(self.dhp, key)}"

  def _vocab(self, problem: str, side: str):
    if (problem, side) not in self._vocabs:
      p = self.run.problems[problem]
      vocab = (p.input_vocab if side == "input" else p.target_vocab)(self.run.vocab_dir)
      self._vocabs[(problem, side)] = vocab
    return self._vocabs[(problem, side)]

  def target_vocab(self, problem: Optional[str] = None):
    """The target vocabulary of `problem` (default: the session's): text <-> ids."""
    return self._vocab(problem or self.problem, "target")

  # --- Decoding ---

  def parse(self, line: Union[str, bytes]) -> inputs_lib.Request:
    if isinstance(line, bytes):
      try:
        line = line.decode("utf-8")
      except UnicodeDecodeError as e:
        raise errors.DataError(f"The line is not UTF-8 text (byte {e.start}: "
                               f"{line[e.start:e.start + 1]!r}); write text as UTF-8.") from e
    return inputs_lib.parse_line(line, COMMAND_KEYS,
                                 self.input_limits.max_input_chars)

  def encode(self, request: inputs_lib.Request, problem: Optional[str] = None) -> np.ndarray:
    problem = problem or self.problem
    spec = self.run.specs[problem]
    vocab = self._vocab(problem, "input")
    return inputs_lib.encode_input(self.run.problems[problem], spec, self.run.vocab_dir,
                                   self.run.hparams, request, vocab,
                                   self.input_limits)

  def decode_batch(self, examples: Sequence[np.ndarray], problem: Optional[str] = None,
                   dhp: Optional[DecodeHParams] = None,
                   attention: bool = False) -> List[List[Hypothesis]]:
    """Encoded examples of one problem -> per example, its hypotheses best first; `dhp`: search
    settings of this call only (default: the session's). attention=True (greedy or sampling,
    or class labels) gives each best hypothesis its Attention, from the cached decode."""
    problem = problem or self.problem
    spec = self.run.specs[problem]
    result = self.search.decode(inputs_lib.make_batch(list(examples), spec), problem,
                                dhp or self.dhp, attention=attention)
    vocab = self._vocab(problem, "target")
    out = [[Hypothesis(spec_lib.output_text(vocab, spec, ids), float(score))
            for ids, score in zip(result.ids[b], result.scores[b])]
           for b in range(len(examples))]
    if attention:
      for b, example in enumerate(examples):
        out[b][0].attention = self._attention(problem, example, result.ids[b, 0],
                                              result.attention[b], result.source_mask[b])
    return out

  def _attention(self, problem: str, example: np.ndarray, ids: np.ndarray, weights: np.ndarray,
                 source_mask: np.ndarray) -> Attention:
    """One hypothesis's Attention from the search's [L_out, layers, S_bucket] weights."""
    spec = self.run.specs[problem]
    vocab = self._vocab(problem, "target")
    if spec.one_token_targets:
      outputs = [vocab.decode([int(ids[0])])]
    else:
      outputs = []
      for i in np.asarray(ids).tolist():
        if i in (PAD_ID, EOS_ID):
          outputs.append(END_TOKEN)
          break
        outputs.append(vocab.decode([int(i)]) or f"<{i}>")
    # The real input positions are a prefix (padding is at the end of an input).
    positions = int(np.sum(source_mask > 0))
    inputs: Dict[str, object]
    if np.issubdtype(np.asarray(example).dtype, np.integer):  # Token ids.
      in_vocab = self._vocab(problem, "input")
      tokens = [END_TOKEN if i == EOS_ID else (in_vocab.decode([int(i)]) or f"<{i}>")
                for i in np.asarray(example).tolist()[:positions]]
      inputs = {"kind": "text", "tokens": tokens}
    elif example.ndim == 3:
      height, width = int(example.shape[0]), int(example.shape[1])
      inputs = {"kind": "image", "grid": list(image_grid(positions, height, width)),
                "size": [height, width]}
    else:
      seconds = len(example) / spec.sample_rate if spec.sample_rate else None
      inputs = {"kind": "audio", "frames": positions, "seconds": seconds}
    layers = list(self.run.model.attention_layers())
    w = np.asarray(weights, np.float32)[:len(outputs), :, :positions].transpose(1, 0, 2)
    return Attention(layers, outputs, np.ascontiguousarray(w), inputs)

  def handle(self, line: Union[str, bytes]) -> str:
    """One interactive line -> the text to print (never raises for bad input)."""
    try:
      request = self.parse(line)
      if request.kind == "command":
        return self.command(request.key, request.value)
      start = time.perf_counter()
      hyps = self.decode_batch([self.encode(request)])[0]
      ms = (time.perf_counter() - start) * 1000
    except errors.T2TMMError as e:
      return f"error: {e}"
    if self.dhp.return_beams:
      lines = [f"{h.text}\t{h.score:.4f}" for h in hyps]
      return "\n".join(lines) + f"\n({ms:.0f} ms)"
    return f"{hyps[0].text}\t({ms:.0f} ms)"


def interactive_loop(session: DecodeSession, stream, out, prompt: str = "> ") -> int:
  """Answers every line of `stream` (bytes or str lines) on `out`; returns lines answered.
  Lines are read with a bound (inputs.read_line); inputs.StreamError if the stream is not lines
  (/dev/zero)."""
  spec = session.run.specs[session.problem]
  print(f"{inputs_lib.HELP}\nproblem={session.problem} ({spec.input_modality} -> "
        f"{spec.target_modality})", file=out)
  count = 0
  while True:
    print(prompt, end="", file=out, flush=True)
    try:
      line = inputs_lib.read_line(stream, session.input_limits.max_input_chars)
    except inputs_lib.StreamError:
      print(file=out)
      raise
    except errors.DataError as e:  # An over-long line, skipped.
      print(f"error: {e}", file=out, flush=True)
      count += 1
      continue
    if not line:
      print(file=out)
      return count
    print(session.handle(line), file=out, flush=True)
    count += 1
