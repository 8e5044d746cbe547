"""mm-serve's web app: one page and a JSON API over one loaded run (t2t_mm.api.Run).

    app = make_app(api.load_run("RUN"), queue_size=8)
    uvicorn.run(app, host="127.0.0.1", port=8080)

    GET  /               the page (page.html beside this file)
    GET  /api/problems   {"problems": [{"name", "input", "input_modality", "target_modality",
                          "class_labels"}], "max_body_bytes"}
    POST /api/decode     JSON {"problem", "text", "beam_size", "alpha", "sampling_temperature",
                         "attention"}, or multipart/form-data with those fields and a "file"
                         (image or WAV bytes)
                         -> {"problem", "output", "settings", "ms"} plus "beams" [{"text",
                         "score"}] when beam_size > 1, "classes" [{"label", "probability"}]
                         (the top 5) for class-label problems, and with "attention": true
                         "attention" {"layers": [names], "outputs": [output tokens],
                         "weights": [layer][output token][input position] (4 decimals),
                         "inputs": {"kind": "text", "tokens"} | {"kind": "image", "grid":
                         [rows, columns], "size": [height, width]} | {"kind": "audio",
                         "frames", "seconds"}} (session.Attention; beam_size 1 only)

Errors answer {"error": one line} with 400 (bad input), 404 / 405 (no such route / method), 413
(a body over max_body_bytes: refused from its Content-Length before it is read, or once that
many bytes of a body without one have come) and 503 (queue full). Decodes run one at a time on
one worker thread, through the run's decoding session (the decoder's path); at most queue_size
requests wait, and one more gets 503 before its body is read, so memory stays within about
(queue_size + 1) * max_body_bytes of bodies. A bug in one request answers 500 and leaves the
server serving.
"""

import json
import logging
import math
import time
from importlib import resources

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.responses import JSONResponse
from starlette.routing import Route

from t2t_mm import errors

# The search settings a client may choose, and their ranges: every distinct setting compiles
# (and keeps) a search function, so the choices are few; a float is rounded to 0.05.
MAX_BEAM_SIZE = 8
MAX_FLOAT_SETTING = 2.0
SETTINGS = ("beam_size", "alpha", "sampling_temperature")
TOP_CLASSES = 5
# Room for the multipart headers and the small fields beside the file.
BODY_OVERHEAD_BYTES = 64 << 10

_log = logging.getLogger(__name__)
# The multipart parser logs a warning per malformed form, which the client is told already.
logging.getLogger("python_multipart").setLevel(logging.ERROR)


class _Refused(Exception):

  def __init__(self, status: int, message: str):
    super().__init__(message)
    self.status = status


def max_body_bytes(limits) -> int:
  """The largest request body worth reading: the largest input the InputLimits `limits` admit
  (a file, or a text of max_input_chars at 4 bytes a character), plus the form's overhead."""
  return (max(limits.max_image_bytes, limits.max_audio_bytes, 4 * limits.max_input_chars)
          + BODY_OVERHEAD_BYTES)


def _settings(fields, from_form: bool) -> dict:
  """The client's search settings, checked: a DataError names the field."""
  out = {}
  for name in SETTINGS:
    value = fields.get(name)
    if value is None or value == "":
      continue
    if from_form:  # Form fields are strings; a number is read as JSON reads it.
      try:
        value = json.loads(value)
      except ValueError:
        raise errors.DataError(f"{name}: expected a number, got {value[:40]!r}.") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
      raise errors.DataError(f"{name}: expected a number, got {str(value)[:40]!r}.")
    if name == "beam_size":
      if value != int(value) or not 1 <= value <= MAX_BEAM_SIZE:
        raise errors.DataError(f"beam_size: expected a whole number in 1..{MAX_BEAM_SIZE}, got "
                               f"{value}.")
      out[name] = int(value)
    else:
      if not (math.isfinite(value) and 0 <= value <= MAX_FLOAT_SETTING):
        raise errors.DataError(f"{name}: expected a number in 0..{MAX_FLOAT_SETTING}, got "
                               f"{value}.")
      out[name] = round(float(value) * 20) / 20
  return out


def _flag(fields, name: str, from_form: bool) -> bool:
  """A true/false field (absent: false); a DataError names it."""
  value = fields.get(name)
  if value is None or value == "":
    return False
  if from_form and value in ("true", "false", "1", "0"):
    return value in ("true", "1")
  if isinstance(value, bool):
    return value
  raise errors.DataError(f"{name}: expected true or false, got {str(value)[:40]!r}.")


class Server:
  """The app's state: the run, its one worker and the count of requests in it."""

  def __init__(self, run, queue_size: int):
    if queue_size < 0:
      raise errors.ConfigError(f"--queue_size must be >= 0, got {queue_size}.")
    self.run = run
    self.capacity = queue_size + 1  # The one decoding and those waiting.
    self.pending = 0  # Changed on the event loop's thread only.
    self.limit = max_body_bytes(run.session.input_limits)
    self.worker = anyio.CapacityLimiter(1)
    self.page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")

  # --- Routes ---

  async def index(self, request: Request):
    return HTMLResponse(self.page)

  async def problems(self, request: Request):
    loaded = self.run.loaded
    return JSONResponse({"problems": [
        {"name": name, "input": self.run.input_kind(name),
         "input_modality": spec.input_modality, "target_modality": spec.target_modality,
         "class_labels": bool(spec.one_token_targets)}
        for name, spec in loaded.specs.items()], "max_body_bytes": self.limit})

  async def decode(self, request: Request):
    try:
      length = request.headers.get("content-length")
      if length is not None and (not length.isdigit() or int(length) > self.limit):
        raise _Refused(413, f"The request body ({length} bytes) is over this server's bound of "
                       f"{self.limit} bytes (from the input limits max_image_bytes, "
                       "max_audio_bytes and max_input_chars).")
      if self.pending >= self.capacity:
        raise _Refused(503, f"The server is busy ({self.capacity} requests in its queue); try "
                       "again shortly.")
      self.pending += 1
      try:
        problem, value, settings, attention = await self._read(request)
        start = time.perf_counter()
        answer = await anyio.to_thread.run_sync(self._decode, problem, value, settings,
                                                attention, limiter=self.worker)
        answer["ms"] = round((time.perf_counter() - start) * 1000)
        return JSONResponse(answer)
      finally:
        self.pending -= 1
    except _Refused as e:
      return _error(e.status, str(e))
    except errors.T2TMMError as e:
      return _error(400, errors.first_line(e, 500))

  # --- Helpers ---

  async def _body(self, request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
      size += len(chunk)
      if size > self.limit:
        raise _Refused(413, f"The request body is over this server's bound of {self.limit} "
                       "bytes.")
      chunks.append(chunk)
    return b"".join(chunks)

  async def _read(self, request: Request):
    """(problem, text or file bytes, settings, attention) of a request; DataError for bad
    input."""
    body = await self._body(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
      try:
        fields = json.loads(body)
      except (ValueError, UnicodeDecodeError) as e:
        raise errors.DataError(f"The body is not JSON: {e}.") from None
      if not isinstance(fields, dict):
        raise errors.DataError("The body must be a JSON object.")
      return (self._problem(fields), self._text(fields.get("text")),
              _settings(fields, from_form=False), _flag(fields, "attention", from_form=False))
    if kind == "multipart/form-data":
      async def replay():  # The body was read (bounded) above; the form parser reads it here.
        return {"type": "http.request", "body": body, "more_body": False}
      try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
      except HTTPException as e:  # The multipart parser's, for a malformed form.
        raise errors.DataError(f"Bad multipart form: {e.detail}") from None
      upload = form.get("file")
      if upload is not None and not isinstance(upload, str):
        value = await upload.read()
      else:
        value = self._text(form.get("text"))
      return (self._problem(form), value, _settings(form, from_form=True),
              _flag(form, "attention", from_form=True))
    raise errors.DataError("Send JSON (Content-Type: application/json) or a multipart form "
                           f"(multipart/form-data), not {kind or 'no Content-Type'}.")

  def _problem(self, fields) -> str:
    problem = fields.get("problem")
    if not isinstance(problem, str) or not problem:
      raise errors.DataError(f"Name a problem: one of {', '.join(self.run.problems)}.")
    return self.run.loaded.check_problem(problem)

  @staticmethod
  def _text(text):
    if text is None:
      return None
    if not isinstance(text, str):
      raise errors.DataError(f"text: expected a string, got {type(text).__name__}.")
    return text

  def _decode(self, problem: str, value, settings: dict, attention: bool = False) -> dict:
    """On the worker thread: the answer of one request."""
    kind = self.run.input_kind(problem)
    if kind == "text":
      if not isinstance(value, str) or not value.strip():
        raise errors.DataError(f"Problem '{problem}' reads text: send a non-empty 'text'.")
    elif not isinstance(value, bytes) or not value:
      raise errors.DataError(f"Problem '{problem}' reads {kind}s: send the file's bytes as "
                             "the multipart field 'file'.")
    self.run.session.dhp.replace(**settings)  # Checks the settings together (ConfigError).
    beam_size = settings.get("beam_size", self.run.session.dhp.beam_size)
    spec = self.run.loaded.specs[problem]
    answer = {"problem": problem, "settings": settings}
    if spec.one_token_targets:
      # A class's score is its log-probability; the top classes come from one top_k, so ask
      # for enough of them (sampling does not apply to one token: the best class is the same).
      k = min(max(TOP_CLASSES, beam_size), spec.target_vocab_size)
      hyps = self.run.hypotheses(problem, value, dict(settings, beam_size=k,
                                                      sampling_temperature=0.0),
                                 attention=attention)
      answer["classes"] = [{"label": h.text, "probability": math.exp(h.score)}
                           for h in hyps[:TOP_CLASSES]]
      hyps = hyps[:beam_size]
    else:
      if attention and beam_size > 1:
        raise errors.DataError(f"attention: comes from greedy decoding; send beam_size 1 with "
                               f"it, not {beam_size}.")
      hyps = self.run.hypotheses(problem, value, settings, attention=attention)
    answer["output"] = hyps[0].text
    if beam_size > 1:
      answer["beams"] = [{"text": h.text, "score": h.score} for h in hyps]
    if attention:
      att = hyps[0].attention
      answer["attention"] = {"layers": att.layers, "outputs": att.outputs,
                             "weights": np.round(att.weights.astype(np.float64), 4).tolist(),
                             "inputs": att.inputs}
    return answer


def _error(status: int, message: str) -> JSONResponse:
  return JSONResponse({"error": message}, status_code=status)


async def _http_error(request: Request, exc: HTTPException):
  return _error(exc.status_code, str(exc.detail))


async def _bug(request: Request, exc: Exception):
  # The traceback goes to the server's log, not to the client.
  _log.error("mm-serve: %s %s failed", request.method, request.url.path, exc_info=exc)
  return _error(500, f"Internal error: {errors.first_line(exc)}")


def make_app(run, queue_size: int = 8) -> Starlette:
  """The ASGI app serving `run` (an api.Run); see the module docstring."""
  server = Server(run, queue_size)
  return Starlette(routes=[
      Route("/", server.index, methods=["GET"]),
      Route("/api/problems", server.problems, methods=["GET"]),
      Route("/api/decode", server.decode, methods=["POST"]),
  ], exception_handlers={HTTPException: _http_error, Exception: _bug})
