import pytest

from t2t_mm.config.data_config import DataConfig
from t2t_mm.data import lengths
from t2t_mm.data.files import SpeechClips, TextPairs
from t2t_mm.data.files import speech_clips_test


def test_quantiles_and_cuts_of_a_length_histogram():
  counts = {3: 5, 10: 4, 40: 1}
  assert lengths.quantile(counts, 0.5) == 3 and lengths.quantile(counts, 0.9) == 10
  assert lengths.quantile(counts, 1.0) == 40
  assert lengths.cut(counts, 10) == 1 and lengths.cut(counts, 2) == 10


def test_text_lengths_are_tokens_with_eos_and_the_trainer_warns_of_cuts(clean_registry,
                                                                        tmp_path):
  (tmp_path / "train.tsv").write_text("a b\tx\n" * 3 + ("word " * 30 + "\tx\n"))
  clean_registry.register_problem(type("P", (TextPairs,), {
      "folder": str(tmp_path), "files": {"train": "train.tsv"}, "vocab_size": 320}),
      name="lengths_pairs")
  problem = clean_registry.problem("lengths_pairs")
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  stats = lengths.measure(problem, data)
  vocab = problem.input_vocab(data)
  assert sum(stats["inputs"].values()) == 4
  assert max(stats["inputs"]) == len(vocab.encode("word " * 30)) + 1  # EOS counted.
  assert stats["targets"] == {len(vocab.encode("x")) + 1: 4}
  lengths.save(problem, data, stats)
  config = DataConfig(max_input_length=10)
  warning = lengths.truncation_warning(problem, data, config)
  assert "25.0% of its train inputs are longer than max_input_length=10" in warning
  assert lengths.truncation_warning(problem, data, DataConfig(max_input_length=200)) is None
  # The _rev problem's targets are the stored inputs: the target limit cuts them.
  rev = clean_registry.problem("lengths_pairs_rev")
  assert lengths.truncation_warning(rev, data, config) is None
  assert "of its train targets are longer than max_target_length=10" in (
      lengths.truncation_warning(rev, data, DataConfig(max_target_length=10)))
  report = lengths.report(problem, data, stats, config, "my_set")
  assert "my_set max_input_length=10 cuts 1 (25.0%)" in report
  assert "over 4 train examples;" in report
  sample = lengths.measure(problem, data, max_examples=3)  # Fewer than the split: says so.
  assert "over the first 3 of 4 train examples (a sample);" in (
      lengths.report(problem, data, sample, config))


def test_generate_data_saves_the_lengths_the_trainer_warns_from(clean_registry, tmp_path):
  """The trainer's --generate_data path (Problem.generate_data) writes the report too."""
  (tmp_path / "train.tsv").write_text("a b\tx\n" * 3 + ("word " * 30 + "\tx\n"))
  clean_registry.register_problem(type("P", (TextPairs,), {
      "folder": str(tmp_path), "files": {"train": "train.tsv"}, "vocab_size": 320}),
      name="generated_pairs")
  problem = clean_registry.problem("generated_pairs")
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  assert lengths.load(problem, data) == lengths.measure(problem, data)
  assert "25.0% of its train inputs are longer than max_input_length=10" in (
      lengths.truncation_warning(problem, data, DataConfig(max_input_length=10)))


@pytest.mark.parametrize("max_audio_seconds, cut", [(None, 1), (1.0, 0)])
def test_audio_lengths_are_frames_of_10_ms_and_a_problem_may_state_seconds(
    clean_registry, tmp_path, max_audio_seconds, cut):
  speech_clips_test._wav(tmp_path / "a.wav", 0.5, 8000)
  speech_clips_test._wav(tmp_path / "b.wav", 0.2, 8000)
  (tmp_path / "train.tsv").write_text("a.wav\tA\nb.wav\tB\n")
  name = f"lengths_clips_{cut}"
  clean_registry.register_problem(type("S", (SpeechClips,), {
      "folder": str(tmp_path), "files": {"train": "train.tsv"}, "sample_rate": 8000,
      "max_audio_seconds": max_audio_seconds}), name=name)
  problem = clean_registry.problem(name)
  data = str(tmp_path / "data")
  problem.generate_data(data, "")
  stats = lengths.measure(problem, data)
  assert stats["inputs"] == {20: 1, 50: 1}  # 10 ms frames at 8 kHz: 80 samples each.
  config = DataConfig(max_input_length=30)
  report = lengths.report(problem, data, stats, config)
  assert f"cuts {cut} " in report and "max 50 frames (0.50 s)" in report
  assert problem.preprocessors(data, config)[0].max_length == (100 if max_audio_seconds else 30)
