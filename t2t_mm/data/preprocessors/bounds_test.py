"""Crafted user inputs whose headers claim far more than their bytes hold are refused before
they cost memory, by the decoder (read_request) and in the SavedModel graph (from_request_tf).

Each crafted case runs in a child process whose address space is limited to what it holds
after a normal decode plus LIMIT_MB: the attacks need gigabytes more, so without the checks
the child fails to allocate instead of printing the refusal."""

import io
import json
import os
import re
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm import errors
from t2t_mm.config.input_limits import InputLimits
from t2t_mm.data.preprocessors import image as image_lib
from t2t_mm.data import wav
from t2t_mm.data.preprocessors import SideConfig
from t2t_mm.data.preprocessors.audio import AudioPreprocessor
from t2t_mm.data.preprocessors.image import ImagePreprocessor

LIMIT_MB = 600

# In the child: a normal decode first (thread pools, kernels), then the limit, then the case;
# prints {"python": "<error type>: <message>", "graph": ...} or what went wrong instead.
CHILD = textwrap.dedent("""\
    import json, resource, sys
    import numpy as np, tensorflow as tf
    from t2t_mm import registry
    from t2t_mm.config.input_limits import InputLimits
    from t2t_mm.data.preprocessors import SideConfig
    modality, path, normal, limits = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    config = SideConfig("p", 100, image_size=(32, 32), sample_rate=16000, frame_step=160,
                        input_limits=InputLimits(**limits))
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




def webp_vp8x(width, height):
  """38 bytes: a still-image VP8X header claiming width x height, then an empty VP8L chunk."""
  canvas = bytes(4) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
  body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + canvas + b"VP8L" + bytes(4)
  return b"RIFF" + struct.pack("<I", len(body)) + body


# A 7 x 5 lossless WebP (VP8L) that Pillow wrote.
TINY_WEBP = bytes.fromhex("524946461e000000574542505650384c110000002f060001000750b29295acff81"
                          "88e87f0000")


def gif_bytes(width, height, frames):
  """An animated GIF of `frames` frames of one colour at width x height (Pillow's first frame,
  repeated with its extensions: a few KB per frame, 3 bytes per pixel once decoded)."""
  from PIL import Image
  buf = io.BytesIO()
  Image.new("P", (width, height), 1).save(buf, "GIF")
  data = buf.getvalue()
  packed = data[10]
  table = 3 << ((packed & 7) + 1) if packed & 0x80 else 0
  head, body = data[:13 + table], data[13 + table:-1]  # Without the trailer, 0x3b.
  return head + body * frames + b"\x3b"


def png_bytes(height, width):
  return tf.io.encode_png(np.zeros((height, width, 3), np.uint8)).numpy()


@pytest.mark.slow
def test_a_webp_header_claiming_16383_squared_pixels_is_refused_undecoded(tmp_path):
  data = webp_vp8x(16383, 16383)
  assert len(data) == 38
  got = _run_limited(tmp_path, "image", data, png_bytes(20, 20))
  assert got["python"] == (f"DataError: image={tmp_path / 'case'}: 16383x16383 pixels "
                           f"(268402689) is more than max_image_pixels={4096 * 4096}; shrink the "
                           "image or raise that input limit.")
  assert got["graph"].startswith("InvalidArgumentError: ") and "max_image_pixels" in got["graph"]


@pytest.mark.slow
def test_the_frames_of_a_gif_add_up_before_it_is_decoded(tmp_path):
  # 1000 frames of 1000 x 1000 in 1.8 MB: TensorFlow's decoder reads every frame's pixels
  # (1 GB, a byte each) even with expand_animations=False, and returns the first.
  got = _run_limited(tmp_path, "image", gif_bytes(1000, 1000, 1000), png_bytes(20, 20))
  assert got["python"] == (f"DataError: image={tmp_path / 'case'}: 1000 frames of 1000x1000 "
                           f"(1000000000) is more than max_image_pixels={4096 * 4096}; shrink "
                           "the image or raise that input limit.")
  assert got["graph"].startswith("InvalidArgumentError: ") and "max_image_pixels" in got["graph"]


def test_webp_and_gif_sizes_come_from_their_headers_and_unknown_formats_are_refused(tmp_path):
  pre = ImagePreprocessor(SideConfig("p", 0, image_size=(8, 8),
                                     input_limits=InputLimits(max_image_pixels=1000)))
  graph = tf.function(pre.from_request_tf)
  (tmp_path / "tiny.webp").write_bytes(TINY_WEBP)
  assert pre.read_request(str(tmp_path / "tiny.webp")).shape == (8, 8, 3)
  assert graph(tf.constant(TINY_WEBP)).shape == (8, 8, 3)
  assert image_lib.image_header_size(tf.constant(TINY_WEBP)).numpy().tolist() == [1, 5, 7]
  gif = gif_bytes(10, 10, 3)
  assert image_lib.image_header_size(tf.constant(gif)).numpy().tolist() == [3, 10, 10]
  assert graph(tf.constant(gif)).shape == (8, 8, 3)  # 300 pixels in all.
  # TensorFlow sizes a GIF's frames by the largest frame, not by the logical screen (1 x 1).
  big_frame = (b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x2c" + bytes(4) + struct.pack("<HH", 40, 50)
               + b"\x00\x02\x00\x3b")
  assert image_lib.image_header_size(tf.constant(big_frame)).numpy().tolist() == [1, 50, 40]
  for name, data, message in (("frames.gif", gif_bytes(10, 10, 11), "11 frames of 10x10 (1100)"),
                              ("unknown.img", b"P6 1000 1000 255\n" + bytes(100),
                               "not an image of a format read here (PNG, JPEG, GIF, BMP or "
                               "WebP)")):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(errors.DataError, match=re.escape(message)):
      pre.read_request(str(tmp_path / name))
    limit = "max_image_pixels" if name == "frames.gif" else "not an image of a format read here"
    with pytest.raises(tf.errors.InvalidArgumentError, match=limit):
      graph(tf.constant(data))


def test_a_gif_of_too_many_blocks_is_refused_without_walking_it_all():
  # 1-byte data sub-blocks: a step per 2 bytes; the walk stops at GIF_MAX_BLOCKS steps.
  data = (b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x2c" + bytes(4) + struct.pack("<HH", 1, 1)
          + b"\x00\x02" + b"\x01\x00" * (image_lib.GIF_MAX_BLOCKS + 10) + b"\x00\x3b")
  # Traced, as the pipeline and the request reader run it (eagerly, each step is a Python call).
  assert tf.function(image_lib.image_header_size)(tf.constant(data)).numpy()[0] == -2


def test_undecodable_images_get_one_clean_line(tmp_path):
  pre = ImagePreprocessor(SideConfig("p", 0, image_size=(8, 8)))
  broken = png_bytes(20, 20)[:60]  # A PNG header, then nothing.
  (tmp_path / "broken.png").write_bytes(broken)
  with pytest.raises(errors.DataError) as e:
    pre.read_request(str(tmp_path / "broken.png"))
  text = str(e.value)
  assert text.startswith(f"image={tmp_path / 'broken.png'}: not an image TensorFlow can decode")
  assert "{{" not in text and "[Op:" not in text and len(text.splitlines()) == 1
