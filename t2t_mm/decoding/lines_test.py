"""Lines are read with a bound: an over-long line is refused with one message and skipped in
chunks, the session going on; a stream without newlines (/dev/zero) ends with an error."""

import io
import types

import numpy as np
import pytest

from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.decoding import file_decode
from t2t_mm.decoding import inputs
from t2t_mm.decoding import session as session_lib


class Watched(io.BytesIO):
  """A stream that records the most bytes one readline call returned."""

  def __init__(self, data):
    super().__init__(data)
    self.most = 0

  def readline(self, size=-1):
    line = super().readline(size)
    self.most = max(self.most, len(line))
    return line


class Zeros:
  """/dev/zero, but an unbounded readline fails at once instead of filling the memory."""

  def readline(self, size=-1):
    if size is None or size < 0:
      raise MemoryError("readline() without a size on a stream without newlines")
    return b"\0" * size


def _session(max_chars):
  return types.SimpleNamespace(
      run=types.SimpleNamespace(specs={"p": types.SimpleNamespace(input_modality="symbol",
                                                                  target_modality="symbol")}),
      problem="p", dhp=DecodeHParams(), input_limits=InputLimits(max_input_chars=max_chars),
      handle=lambda line: f"got {len(line.rstrip())} bytes",
      parse=lambda line: inputs.parse_line(line.decode(), (), max_chars),
      encode=lambda request: np.array([len(request.value)]),
      decode_batch=lambda xs: [[session_lib.Hypothesis(f"len {int(x[0])}", 0.0)] for x in xs])


def test_an_over_long_line_is_refused_unread_and_the_session_goes_on():
  stream = Watched(b"abc\n" + b"x" * 5_000_000 + b"\n" + "é".encode() * 10 + b"\nde\n")
  out = io.StringIO()
  assert session_lib.interactive_loop(_session(10), stream, out) == 4
  answers = [a.strip() for a in out.getvalue().split("\n> ")[1:]]
  assert answers[0] == "got 3 bytes"
  assert answers[1] == ("error: Line of more than 42 bytes is longer than max_input_chars=10; "
                        "split it or raise the input limit.")
  assert answers[2:4] == ["got 20 bytes", "got 2 bytes"]  # 10 characters in 20 bytes.
  assert stream.most <= 1 << 16  # Never the 5 MB line at once.


def test_a_stream_without_newlines_ends_with_an_error_not_memory():
  with pytest.raises(inputs.StreamError, match="more than 1073741824 bytes without a newline"):
    session_lib.interactive_loop(_session(10), Zeros(), io.StringIO())
  with pytest.raises(inputs.StreamError):
    inputs.read_line(Zeros(), 10, max_skipped=1000)


def test_file_mode_reads_lines_with_the_bound_and_keeps_them_aligned(tmp_path, monkeypatch):
  src = tmp_path / "in.txt"
  src.write_bytes(b"ab\r\n" + b"y" * 3_000_000 + b"\nabcd\n")
  session = _session(10)
  assert file_decode.decode_file(session, str(src), str(tmp_path / "out.txt"), False) == 3
  got = (tmp_path / "out.txt").read_text().splitlines()
  assert got[0] == "len 2" and got[2] == "len 4"
  assert got[1] == ("ERROR: Line of more than 42 bytes is longer than max_input_chars=10; split "
                    "it or raise the input limit.")
  (tmp_path / "zeros.txt").write_bytes(bytes(3000))
  monkeypatch.setattr(inputs, "MAX_SKIPPED_BYTES", 1000)
  with pytest.raises(inputs.StreamError, match="--decode_from_file=.*zeros.txt: the input"):
    file_decode.decode_file(session, str(tmp_path / "zeros.txt"), str(tmp_path / "z.out"), False)
