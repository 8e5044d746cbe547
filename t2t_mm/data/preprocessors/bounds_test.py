"""Crafted user inputs whose headers claim far more than their bytes hold are refused before
they cost memory, by the decoder (read_request) and in the SavedModel graph (from_request_tf).

Each crafted case runs in a child process whose address space is limited to what it holds
after a normal decode plus LIMIT_MB: the attacks need gigabytes more, so without the checks
the child fails to allocate instead of printing the refusal."""

import json
import os
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.data import wav
from t2t_mm.data.preprocessors import SideConfig
from t2t_mm.data.preprocessors.audio import AudioPreprocessor

LIMIT_MB = 600

# In the child: a normal decode first (thread pools, kernels), then the limit, then the case;
# prints {"python": "<error type>: <message>", "graph": ...} or what went wrong instead.
CHILD = textwrap.dedent("""\
    import json, resource, sys
    import numpy as np, tensorflow as tf
    from t2t_mm import registry
    from t2t_mm.config.hparams import DecodeHParams
    from t2t_mm.data.preprocessors import SideConfig
    modality, path, normal, limits = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    config = SideConfig("p", 100, image_size=(32, 32), sample_rate=16000, frame_step=160,
                        limits=DecodeHParams(**limits))
    pre = registry.preprocessor(modality)(config)
    graph = tf.function(lambda data: pre.from_request_tf(data))
    pre.read_request(normal), graph(tf.constant(open(normal, "rb").read()))
    size = [line for line in open("/proc/self/status") if line.startswith("VmSize")][0]
    limit = int(size.split()[1]) * 1024 + %d * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    result = {}
    for name, call in (("python", lambda: pre.read_request(path)),
                       ("graph", lambda: graph(tf.constant(open(path, "rb").read())))):
      try:
        result[name] = "returned " + str(call().shape)
      except Exception as e:  # What it raised, to compare.
        result[name] = type(e).__name__ + ": " + str(e)
    print("RESULT " + json.dumps(result))
    """) % LIMIT_MB


def _run_limited(tmp_path, modality, data, normal, **limits):
  """The child's result for `data` as a file, after decoding `normal` (bytes) unlimited."""
  (tmp_path / "case").write_bytes(data)
  (tmp_path / "normal").write_bytes(normal)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  proc = subprocess.run([sys.executable, "-c", CHILD, modality, str(tmp_path / "case"),
                         str(tmp_path / "normal"), json.dumps(limits)],
                        capture_output=True, text=True, env=env, timeout=300, check=False)
  lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
  assert lines, f"the child failed (rc {proc.returncode}): {proc.stderr[-2000:]}"
  return json.loads(lines[0][len("RESULT "):])


def wav_bytes(rate, samples, channels=1):
  """A 16-bit PCM WAV of silence whose header says `rate`."""
  data = bytes(2 * samples * channels)
  fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
  return (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
          + b"fmt " + struct.pack("<I", len(fmt)) + fmt
          + b"data" + struct.pack("<I", len(data)) + data)


@pytest.mark.slow
def test_a_wav_claiming_1_hz_is_refused_before_resampling(tmp_path):
  # 3,000 samples at "1 Hz" would become 48 million at 16 kHz: float64 positions of 384 MB
  # and four more arrays of that length before the cut to max_length.
  got = _run_limited(tmp_path, "audio_waveform", wav_bytes(1, 3000), wav_bytes(16000, 3000))
  assert got["python"] == (f"DataError: audio={tmp_path / 'case'}: a sample rate of 1 Hz is "
                           "outside the range read, 1000..384000 Hz (t2t_mm.data.wav).")
  assert got["graph"].startswith("InvalidArgumentError: ")
  assert "sample rate is outside the range read, 1000..384000 Hz" in got["graph"]


@pytest.mark.slow
def test_resampling_computes_no_more_samples_than_it_keeps(tmp_path):
  # 1 kHz (in range) -> 16 kHz: 2 million samples would become 32 million positions (256 MB
  # each array); 100 frames of 160 samples are kept, and only those are computed.
  got = _run_limited(tmp_path, "audio_waveform", wav_bytes(1000, 2_000_000),
                     wav_bytes(16000, 3000))
  assert got == {"python": "returned (16000,)", "graph": "returned (16000,)"}


def test_sample_rates_outside_the_range_are_named_and_the_edges_read():
  pre = AudioPreprocessor(SideConfig("p", 100, sample_rate=16000, frame_step=160))
  graph = tf.function(pre.from_request_tf)
  for rate in (wav.MIN_SAMPLE_RATE, wav.MAX_SAMPLE_RATE):
    assert graph(tf.constant(wav_bytes(rate, 400))).shape[0] >= 1
    assert wav.read_wav(wav_bytes(rate, 400), 16000).size >= 1
  for rate in (wav.MIN_SAMPLE_RATE - 1, wav.MAX_SAMPLE_RATE + 1):
    with pytest.raises(tf.errors.InvalidArgumentError, match="1000..384000 Hz"):
      graph(tf.constant(wav_bytes(rate, 400)))
    with pytest.raises(errors.DataError, match=f"<bytes>: a sample rate of {rate} Hz"):
      wav.read_wav(wav_bytes(rate, 400), 16000)  # Datagen of users' files: the same range.


def test_a_file_that_is_not_a_wav_gets_one_clean_line(tmp_path):
  pre = AudioPreprocessor(SideConfig("p", 100, sample_rate=16000, frame_step=160))
  png = tmp_path / "picture.wav"
  png.write_bytes(tf.io.encode_png(np.zeros((4, 4, 3), np.uint8)).numpy())
  with pytest.raises(errors.DataError) as e:
    pre.read_request(str(png))
  assert str(e.value) == f"audio={png}: not a WAV file (expected RIFF/WAVE, 16-bit PCM)."
  # RIFF/WAVE but 8-bit: TensorFlow's reason, without its internal op names.
  eight = wav_bytes(16000, 400)
  eight = eight[:34] + struct.pack("<H", 8) + eight[36:]
  (tmp_path / "eight.wav").write_bytes(eight)
  with pytest.raises(errors.DataError) as e:
    pre.read_request(str(tmp_path / "eight.wav"))
  assert str(e.value).startswith(f"audio={tmp_path / 'eight.wav'}: not a 16-bit PCM WAV file: ")
  assert "{{" not in str(e.value) and "[Op:" not in str(e.value)
  assert len(str(e.value).splitlines()) == 1


def test_wav_header_walks_chunks_to_fmt():
  data = wav_bytes(22050, 10, channels=2)
  junk = b"JUNK" + struct.pack("<I", 3) + b"abc\0"  # An odd size, padded.
  assert wav.wav_header(data[:12] + junk + data[12:], "x") == (2, 22050, 16)
  with pytest.raises(errors.DataError, match="x: not a WAV file.*no 'fmt ' chunk"):
    wav.wav_header(data[:12] + junk, "x")


