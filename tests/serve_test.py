"""mm-serve: the page and the JSON API over a tiny random-weight run, in a real server process."""

import concurrent.futures
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import api
from t2t_mm.config.hparams import DecodeHParams
from t2t_mm.decoding import loading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "decoding"))
import session_test  # noqa: E402

# Small bounds, so that the body bound (the largest input + 64 KiB) is small too.
DECODE_HPARAMS = "max_decode_length=8"
INPUT_LIMITS = "max_image_bytes=100000,max_audio_bytes=200000"
MAX_BODY = 200000 + (64 << 10)
QUEUE_SIZE = 20


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
  """(base url, run folder, the server process) of mm-serve over session_test's tiny run."""
  tmp = tmp_path_factory.mktemp("serve")
  out, pkg = session_test.make_run_with_plugin(tmp, "serve_plugin")
  port = _free_port()
  log = open(tmp / "server.log", "w+")
  server = subprocess.Popen(
      [sys.executable, "-m", "t2t_mm.bin.mm_serve", f"--usr_dir={pkg}", f"--output_dir={out}",
       f"--port={port}", f"--queue_size={QUEUE_SIZE}", f"--decode_hparams={DECODE_HPARAMS}",
       f"--input_limits={INPUT_LIMITS}"],
      stdout=log, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir(),
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  url = f"http://127.0.0.1:{port}"
  try:
    deadline = time.monotonic() + 120
    while True:
      assert server.poll() is None, (tmp / "server.log").read_text()[-3000:]
      try:
        urllib.request.urlopen(url + "/api/problems", timeout=5).close()
        break
      except OSError:
        assert time.monotonic() < deadline, "mm-serve did not start in 120 s"
        time.sleep(0.5)
    yield url, out, server
  finally:
    server.terminate()
    server.wait(timeout=30)
    log.seek(0)
    assert "Traceback" not in log.read()  # No request, good or bad, hit a bug.
    log.close()


@pytest.fixture(scope="module")
def media():
  rng = np.random.default_rng(0)
  png = tf.io.encode_png((rng.random((12, 10, 3)) * 255).astype("uint8")).numpy()
  wav = tf.audio.encode_wav(rng.uniform(-0.5, 0.5, (1600, 1)).astype("float32"), 16000).numpy()
  return {"png": png, "wav": wav}


def _answer(response):
  return response.status, json.loads(response.read())


def _get(url):
  try:
    with urllib.request.urlopen(url, timeout=60) as r:
      return r.status, r.headers.get("content-type"), r.read()
  except urllib.error.HTTPError as e:
    return e.code, e.headers.get("content-type"), e.read()


def _post(url, body: bytes, content_type: str, timeout=120):
  request = urllib.request.Request(url + "/api/decode", data=body, method="POST",
                                   headers={"Content-Type": content_type})
  try:
    with urllib.request.urlopen(request, timeout=timeout) as r:
      return _answer(r)
  except urllib.error.HTTPError as e:
    return _answer(e)


def _json(url, fields, timeout=120):
  return _post(url, json.dumps(fields).encode(), "application/json", timeout)


def _form(url, fields, file=None):
  """A multipart/form-data POST of `fields` and, if given, `file` = (name, bytes)."""
  boundary = "t2tmm-test-boundary"
  parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
           for k, v in fields.items()]
  if file:
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{file[0]}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + file[1] + b"\r\n")
  parts.append(f"--{boundary}--\r\n".encode())
  return _post(url, b"".join(parts), f"multipart/form-data; boundary={boundary}")


def test_the_page_and_the_problems(served):
  url = served[0]
  status, kind, page = _get(url + "/")
  assert status == 200 and kind.startswith("text/html")
  assert b'id="problem"' in page and b'type="file"' in page and b"api/decode" in page
  status, _, body = _get(url + "/api/problems")
  answer = json.loads(body)
  assert status == 200 and answer["max_body_bytes"] == MAX_BODY
  assert answer["problems"] == [
      {"name": "fake_copy", "input": "text", "input_modality": "symbol",
       "target_modality": "symbol", "class_labels": False},
      {"name": "fake_image_label", "input": "image", "input_modality": "image",
       "target_modality": "class_label", "class_labels": True},
      {"name": "fake_speech", "input": "audio", "input_modality": "audio_waveform",
       "target_modality": "symbol", "class_labels": False}]
  status, kind, body = _get(url + "/api/nothing")
  assert status == 404 and json.loads(body) == {"error": "Not Found"}
  status, kind, body = _get(url + "/api/decode")
  assert status == 405 and json.loads(body) == {"error": "Method Not Allowed"}


def test_text_image_and_wav_decode_as_the_python_api_does(served, media):
  url, out, _ = served
  status, text = _json(url, {"problem": "fake_copy", "text": "3 4 5"})
  assert status == 200, text
  run = api.Run(loading.load_for_decoding(str(out), problems=session_test.PROBLEMS),
                DecodeHParams(max_decode_length=8))
  assert text["output"] == run.decode("fake_copy", "3 4 5")
  assert "beams" not in text and "classes" not in text and text["ms"] >= 0
  # The page sends a form: the same decode.
  assert _form(url, {"problem": "fake_copy", "text": "3 4 5", "beam_size": "1",
                     "alpha": "0.6", "sampling_temperature": "0"})[1]["output"] == text["output"]
  status, label = _form(url, {"problem": "fake_image_label"}, ("a.png", media["png"]))
  assert status == 200, label
  classes = label["classes"]
  assert sorted(c["label"] for c in classes) == ["class0", "class1", "class2"]
  assert sum(c["probability"] for c in classes) == pytest.approx(1, abs=1e-4)
  assert label["output"] == classes[0]["label"] == run.hypotheses(
      "fake_image_label", media["png"])[0].text
  status, speech = _form(url, {"problem": "fake_speech"}, ("a.wav", media["wav"]))
  assert status == 200 and isinstance(speech["output"], str), speech


def test_attention_of_text_image_and_wav_is_the_python_apis(served, media):
  url, out, _ = served
  run = api.Run(loading.load_for_decoding(str(out), problems=session_test.PROBLEMS),
                DecodeHParams(max_decode_length=8))
  layers = ["mixer", "decoder0"]
  status, text = _json(url, {"problem": "fake_copy", "text": "3 4 5", "attention": True})
  assert status == 200, text
  att = text["attention"]
  best = run.hypotheses("fake_copy", "3 4 5", attention=True)[0]
  assert text["output"] == best.text and att["layers"] == layers
  assert att["outputs"] == best.attention.outputs
  assert att["outputs"][-1] == "</s>" or len(att["outputs"]) == 8  # Ended, or max length.
  assert att["inputs"] == {"kind": "text", "tokens": best.attention.inputs["tokens"]}
  assert len(att["inputs"]["tokens"]) == 4  # 3 4 5 and the end token.
  np.testing.assert_allclose(att["weights"], best.attention.weights, atol=1e-4)
  assert np.array(att["weights"]).shape == (2, len(att["outputs"]), 4)
  np.testing.assert_allclose(np.sum(att["weights"], -1), 1, atol=1e-3)
  status, label = _form(url, {"problem": "fake_image_label", "attention": "true"},
                        ("a.png", media["png"]))
  assert status == 200, label
  img = label["attention"]
  assert img["inputs"]["kind"] == "image" and len(img["outputs"]) == 1
  rows, cols = img["inputs"]["grid"]
  assert np.array(img["weights"]).shape == (2, 1, rows * cols)
  status, speech = _form(url, {"problem": "fake_speech", "attention": "1"},
                         ("a.wav", media["wav"]))
  assert status == 200, speech
  audio = speech["attention"]["inputs"]
  assert audio["kind"] == "audio" and audio["seconds"] == pytest.approx(0.1)
  assert np.array(speech["attention"]["weights"]).shape[2] == audio["frames"] > 1
  # Without the flag, no attention (and nothing else changes).
  plain = _json(url, {"problem": "fake_copy", "text": "3 4 5"})[1]
  assert "attention" not in plain and plain["output"] == text["output"]


@pytest.mark.parametrize("kind, body, status, message", [
    ("json", b"{not json", 400, "not JSON"),
    ("json", b"[1, 2]", 400, "JSON object"),
    ("json", {"problem": "fake_cop", "text": "3"}, 400, "Unknown problem 'fake_cop'.*fake_copy"),
    ("json", {"text": "3"}, 400, "Name a problem"),
    ("json", {"problem": "fake_copy", "text": " "}, 400, "non-empty 'text'"),
    ("json", {"problem": "fake_copy", "text": "x" * 40000}, 400, "max_input_chars"),
    ("json", {"problem": "fake_copy", "text": "3", "beam_size": 99}, 400, "beam_size"),
    ("json", {"problem": "fake_copy", "text": "3", "alpha": float("nan")}, 400, "alpha"),
    ("json", {"problem": "fake_copy", "text": "3", "beam_size": 2,
              "sampling_temperature": 0.5}, 400, "does not sample"),
    ("json", {"problem": "fake_image_label", "text": "3"}, 400, "multipart field 'file'"),
    ("form", ({"problem": "fake_image_label"}, ("a.png", b"not an image")), 400,
     "not an image"),
    ("form", ({"problem": "fake_speech"}, ("a.wav", b"RIFF....WAVE")), 400, "WAV|wav|audio"),
    ("form", ({"problem": "fake_image_label"}, ("a.png", b"\x89PNG" + b"0" * 150000)), 400,
     "max_image_bytes=100000"),
    ("form", ({"problem": "fake_copy", "text": "3", "beam_size": "two"}, None), 400,
     "beam_size: expected a number"),
    ("text/plain", b"3 4 5", 400, "Send JSON"),
    ("json", {"problem": "fake_copy", "text": "3", "attention": "yes"}, 400,
     "attention: expected true or false"),
    ("json", {"problem": "fake_copy", "text": "3", "attention": True, "beam_size": 2}, 400,
     "send beam_size 1"),
    ("multipart/form-data; boundary=x", b"--y\r\nnonsense", 400, "."),
])
def test_bad_requests_are_400_with_one_line_and_the_server_goes_on(served, kind, body, status,
                                                                   message):
  url = served[0]
  if kind == "json":
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    got, answer = _post(url, raw, "application/json")
  elif kind == "form":
    got, answer = _form(url, *body)
  else:
    got, answer = _post(url, body, kind)
  assert got == status and list(answer) == ["error"], answer
  assert re.search(message, answer["error"]) and "\n" not in answer["error"], answer


def test_a_body_over_the_bound_is_413_before_it_is_read(served):
  host, port = served[0][len("http://"):].split(":")
  conn = http.client.HTTPConnection(host, int(port), timeout=60)
  conn.putrequest("POST", "/api/decode")
  conn.putheader("Content-Type", "application/json")
  conn.putheader("Content-Length", str(200 << 20))  # Announced, never sent.
  conn.endheaders()
  status, answer = _answer(conn.getresponse())
  conn.close()
  assert status == 413 and f"bound of {MAX_BODY} bytes" in answer["error"]
  # Without a Content-Length (chunked), the body is read only up to the bound.
  conn = http.client.HTTPConnection(host, int(port), timeout=60)
  chunks = iter([b"x" * (64 << 10)] * 6)
  try:
    conn.request("POST", "/api/decode", body=chunks, encode_chunked=True,
                 headers={"Content-Type": "application/json"})
  except (BrokenPipeError, ConnectionResetError):
    pass  # The server may answer before the client has sent it all.
  status, answer = _answer(conn.getresponse())
  conn.close()
  assert status == 413 and f"bound of {MAX_BODY} bytes" in answer["error"]
  assert _json(served[0], {"problem": "fake_copy", "text": "3 4"})[0] == 200


def test_concurrent_clients_are_all_answered_and_a_full_queue_is_503(served):
  url = served[0]
  inputs = [" ".join(str(3 + (i + j) % 7) for j in range(1 + i % 5)) for i in range(20)]
  expected = {x: _json(url, {"problem": "fake_copy", "text": x})[1]["output"] for x in inputs}
  start = time.monotonic()
  with concurrent.futures.ThreadPoolExecutor(20) as pool:
    answers = list(pool.map(lambda x: _json(url, {"problem": "fake_copy", "text": x}, 60),
                            inputs))
  assert [a[0] for a in answers] == [200] * 20
  assert [a[1]["output"] for a in answers] == [expected[x] for x in inputs]
  assert time.monotonic() - start < 60
  # One request keeps the worker busy compiling new settings (seconds) while 25 arrive: the
  # queue takes QUEUE_SIZE of them, the rest are told 503 at once.
  slow = {}
  blocker = threading.Thread(target=lambda: slow.update(answer=_json(
      url, {"problem": "fake_copy", "text": "3 4 5", "beam_size": 3, "alpha": 1.3})))
  blocker.start()
  time.sleep(1.0)
  with concurrent.futures.ThreadPoolExecutor(25) as pool:
    statuses = list(pool.map(lambda x: _json(url, {"problem": "fake_copy", "text": x}, 120)[0],
                             inputs + inputs[:5]))
  blocker.join(timeout=120)
  assert sorted(statuses) == [200] * QUEUE_SIZE + [503] * 5
  status, beams = slow["answer"]
  assert status == 200 and len(beams["beams"]) == 3 and beams["settings"] == {
      "beam_size": 3, "alpha": 1.3}
  assert beams["output"] == beams["beams"][0]["text"]
  assert _get(url + "/api/problems")[0] == 200


def test_another_host_than_this_machine_gets_a_warning(tool, tmp_path):
  result = tool("mm-serve", "--host=0.0.0.0", f"--output_dir={tmp_path / 'none'}")
  assert result.returncode == 2
  assert "warning: --host=0.0.0.0 serves the run to every machine" in result.stderr
