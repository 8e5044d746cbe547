import wave

import numpy as np
import pytest

from t2t_mm import errors
from t2t_mm.config.hparams import HParams
from t2t_mm.data.files import SpeechClips

HP = HParams(batch_size=2, max_input_length=1000, max_target_length=64)


def _wav(path, seconds, rate, freq=440.0, channels=1):
  t = np.arange(int(seconds * rate)) / rate
  samples = (np.sin(2 * np.pi * freq * t) * 12000).astype("<i2")
  with wave.open(str(path), "wb") as w:
    w.setnchannels(channels)
    w.setsampwidth(2)
    w.setframerate(rate)
    w.writeframes(np.repeat(samples, channels).tobytes())


class Spoken(SpeechClips):
  files = {"train": "train.tsv", "dev": "dev.tsv"}

  def normalize_transcript(self, text):
    return text.strip().lower()


def test_wavs_at_8_and_44_1_khz_are_resampled_to_16_khz(clean_registry, tmp_path):
  (tmp_path / "clips").mkdir()
  _wav(tmp_path / "clips" / "a.wav", 0.5, 8000)
  _wav(tmp_path / "clips" / "b.wav", 0.25, 44100, channels=2)
  (tmp_path / "train.tsv").write_text("clips/a.wav\tYES\nclips/b.wav\t  NO  \n")
  (tmp_path / "dev.tsv").write_text("clips/a.wav\tYES\nclips/b.wav\tNO\n")
  clean_registry.register_problem(type("S", (Spoken,), {"folder": str(tmp_path)}),
                                  name="spoken_words")
  problem = clean_registry.problem("spoken_words")
  a, b = (ex["inputs"] for ex in problem.examples("train", "", 0, 2))
  assert a.shape == (8000,) and b.shape == (4000,)  # 0.5 s and 0.25 s at 16 kHz.
  # A 440 Hz tone stays a 440 Hz tone: the strongest frequency of the resampled clip.
  spectrum = np.abs(np.fft.rfft(b))
  assert abs(np.argmax(spectrum) * 16000 / len(b) - 440) < 10
  assert [ex["targets"] for ex in problem.examples("train", "", 0, 2)] == ["yes", "no"]
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  batch = next(iter(problem.dataset("dev", data, HP, shuffle=False)))
  assert batch["inputs"].shape[0] == 2
  assert problem.target_vocab(data).decode(
      [int(i) for i in batch["targets"].numpy()[0] if i > 1]) in ("yes", "no")


def test_a_missing_or_bad_wav_is_an_error_naming_the_line(clean_registry, tmp_path):
  (tmp_path / "bad.wav").write_bytes(b"RIFF0000WAVEjunk")
  (tmp_path / "train.tsv").write_text("gone.wav\tX\nbad.wav\tY\n")
  (tmp_path / "dev.tsv").write_text("")
  clean_registry.register_problem(type("S", (Spoken,), {"folder": str(tmp_path)}),
                                  name="spoken_bad")
  problem = clean_registry.problem("spoken_bad")
  with pytest.raises(errors.DataError, match=r"train.tsv:1: lists .*gone.wav, which does not"):
    list(problem.examples("train", "", 0, 1))
  with pytest.raises(errors.DataError, match=r"bad.wav: not a readable 16-bit PCM WAV"):
    list(problem.examples("train", "", 1, 2))


def test_a_manifest_with_extra_columns_is_read_by_their_names(clean_registry, tmp_path):
  _wav(tmp_path / "a.wav", 0.1, 8000)
  _wav(tmp_path / "b.wav", 0.2, 8000)
  (tmp_path / "all.tsv").write_text("a.wav\tYES\tspk1\ttrain\nb.wav\tNO\tspk2\tvalidation\n")
  attrs = {"folder": str(tmp_path), "files": {"train": "all.tsv", "dev": "all.tsv"},
           "split_values": {"dev": "validation"}}
  # Without names, one column more than (audio, text, split) is refused, saying how to name it.
  clean_registry.register_problem(type("S", (Spoken,), dict(attrs, split_column=3)),
                                  name="clips_unnamed")
  with pytest.raises(errors.DataError, match=r"all.tsv:1: expected 3 tab-separated fields "
                     r"\(audio, text, split\), got 4: .* names them all with the problem's "
                     r"`columns`, e.g. columns = \('audio', 'text', 'split', 'other'\)"):
    clean_registry.problem("clips_unnamed").split_size("train", "")
  clean_registry.register_problem(
      type("S", (Spoken,), dict(attrs, columns=("wav", "word", "speaker", "split"))),
      name="clips_misnamed")
  with pytest.raises(errors.ConfigError, match=r"columns=\('wav', 'word', 'speaker', 'split'\) "
                     r"must name .*missing: audio, text"):
    clean_registry.problem("clips_misnamed")
  clean_registry.register_problem(
      type("S", (Spoken,), dict(attrs, columns=("audio", "text", "speaker", "split"))),
      name="clips_named")
  problem = clean_registry.problem("clips_named")
  assert [ex["targets"] for ex in problem.examples("train", "", 0, 1)] == ["yes"]
  assert [ex["targets"] for ex in problem.examples("dev", "", 0, 1)] == ["no"]
  assert problem.split_size("train", "") == problem.split_size("dev", "") == 1
