"""hparam jit_compile: XLA training steps equal the graph executor's; a suite trains and resumes.

The problems cover all8_mini's modalities in memory (generating all8_mini takes minutes):
symbol -> symbol, symbol -> class_label, image -> class_label, audio_waveform -> symbol and
audio_spectral -> symbol.
"""

import dataclasses
import glob
import re

import numpy as np
import pytest
import tensorflow as tf

from t2t_mm.config.hparams import HParams
from t2t_mm.testing import fake_problems
from t2t_mm.training import trainer as trainer_lib

# Dropout and router noise off: XLA's random numbers differ from the graph executor's.
HP = HParams(hidden_size=16, filter_size=32, num_heads=2, moe_num_experts=4, moe_k=2,
             num_encoder_blocks=1, num_decoder_blocks=1, audio_waveform_blocks=3,
             audio_spectral_blocks=1, audio_num_mel_bins=16, dropout=0.0, attention_dropout=0.0,
             moe_noisy_gating=False, batch_size=8, learning_rate=3e-3,
             learning_rate_warmup_steps=10)


class FakeSpectralProblem(fake_problems.FakeSpeechProblem):
  """The fake speech task through the audio_spectral modality."""

  def __init__(self, name="fake_spectral", **kwargs):
    super().__init__(name=name, **kwargs)

  def spec(self, data_dir):
    return dataclasses.replace(super().spec(data_dir), input_modality="audio_spectral")


def _problems():
  return [fake_problems.FakeCopyProblem(), fake_problems.FakeLabelProblem(),
          fake_problems.FakeImageLabelProblem(), fake_problems.FakeSpeechProblem(),
          FakeSpectralProblem()]


def _trainer(output_dir, hp, problems=None, **config):
  # No greedy decoding in the evaluations: XLA would compile each problem's search loop too.
  config = dict(dict(log_every=3, checkpoint_every=3, eval_steps=1, eval_every=0,
                     decode_examples=0), **config)
  return trainer_lib.Trainer(problems or _problems(), hp, "in_memory", str(output_dir),
                             config=trainer_lib.TrainerConfig(**config))


def _dense(g):
  return np.asarray(tf.convert_to_tensor(g))


@pytest.mark.slow  # XLA compiles every problem's step (about a minute).
def test_compiled_steps_equal_graph_steps_for_every_modality(tmp_path):
  graph = _trainer(tmp_path / "graph", HP)
  xla = _trainer(tmp_path / "xla", HP.replace(jit_compile=True))
  xla.model.set_weights(graph.model.get_weights())
  graph._start_iterators(0)
  for name in graph.problems:
    batch = next(graph._iterators[name])
    scale = tf.constant(1.0 / 50)
    grads, loss, aux, drops = tf.function(graph.training_steps.gradient_fns[name])(batch, scale)
    grads_x, loss_x, aux_x, drops_x = xla.training_steps.gradient_fns[name](batch, scale)
    # Static shapes throughout: XLA writes a dimension known only at run time as "<=N".
    hlo = xla.training_steps.gradient_fns[name].experimental_get_compiler_ir(
        batch, scale)(stage="hlo")
    assert "<=" not in hlo, (name, re.findall(r"\w+\[[^\]]*<=[^\]]*\]", hlo)[:3])
    assert float(loss_x) == pytest.approx(float(loss), rel=1e-5), name
    assert float(aux_x) == pytest.approx(float(aux), rel=1e-4, abs=1e-7), name
    # Capacity c = 2.0 at E / k = 2 gives every position a row: nothing is dropped, so the
    # static dispatch must give the exact one's gradients.
    np.testing.assert_array_equal(_dense(drops_x)[:, 0], 0.0)
    np.testing.assert_array_equal(_dense(drops_x), _dense(drops))
    assert sum(g is not None for g in grads) > 10, name
    for v, g, g_x in zip(graph.model.trainable_variables, grads, grads_x):
      assert (g is None) == (g_x is None), (name, v.path)
      if g is not None:
        # Relative to the gradient's scale: a ReLU input within rounding of 0 can take the
        # other side under XLA (seen in the spectral net's first conv: 0.3% of its largest
        # gradient); a misrouted MoE row or a missing loss term is far above this.
        g = _dense(g)
        np.testing.assert_allclose(_dense(g_x), g, rtol=1e-3,
                                   atol=max(1e-6, 5e-3 * np.abs(g).max()),
                                   err_msg=f"{name} {v.path}")
  # The whole compiled step (count, gradients, update) gives the graph step's loss, for one
  # problem: each step is another compile of the whole model, and the suite test below
  # compiles every problem's step and trains with it.
  name = "fake_copy"
  batch = next(graph._iterators[name])
  loss_step, _ = graph._steps[name](batch)
  loss_step_x, _ = xla._steps[name](batch)
  assert float(loss_step_x) == pytest.approx(float(loss_step), rel=1e-5), name


def _scalars(output_dir, prefix):
  values = {}
  for event_file in glob.glob(str(output_dir / "train" / "events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(event_file):
      for v in event.summary.value:
        if v.tag.startswith(prefix):
          values.setdefault(v.tag, []).append(float(tf.make_ndarray(v.tensor)))
  return values


@pytest.mark.slow
@pytest.mark.parametrize("overrides,suite", [
    (dict(moe_capacity_factor=0.5), "all"),  # Half the balanced rows: some are dropped.
    # Two problems (each compiles in a few seconds): accumulation and loss scaling compile.
    (dict(accumulate_steps=2, dtype_policy="mixed_float16"), "two"),
])
def test_the_suite_trains_under_xla_and_resumes(tmp_path, overrides, suite):
  hp = HP.replace(jit_compile=True, **overrides)
  problems = (lambda: _problems() if suite == "all" else _problems()[1:3])
  # Few steps: XLA compiles each problem's step once per batch shape, in each trainer.
  first = _trainer(tmp_path, hp, problems(), log_every=1)
  first.train(3)
  assert first.step == 3
  second = _trainer(tmp_path, hp, problems(), log_every=1)  # Resumes from ckpt-3.
  assert second.restore() == 3
  results = second.train(5)
  assert second.step == 5
  assert all(np.isfinite(r["loss"]) for n, r in results.items() if not n.startswith("_"))
  dropped = _scalars(tmp_path, "moe/")
  assert set(dropped) == {"moe/encoder/moe1/dropped", "moe/decoder/moe1/dropped"}
  shares = np.concatenate(list(dropped.values()))
  assert np.all((shares >= 0) & (shares <= 1))
  if hp.moe_capacity_factor == 0.5:
    assert shares.max() > 0.05  # c = 0.5 keeps at most half the assignments of a full batch.
  else:
    assert np.all(shares == 0)  # c = 2.0 at E / k = 2: a row for every position.
