"""A registered three-problem suite, fake hparams sets and datagen hooks, for experiment tests.

    names = fake_suite.register()   # suite "exp_fake3": exp_fake_parse (small, copy task),
                                    # exp_fake_label (its partner), exp_fake_copy;
                                    # hparams sets exp_fake, exp_fake_no_moe, exp_fake_no_attention
    ...
    fake_suite.unregister(names)

The problems live in memory (t2t_mm/testing/fake_problems.py); their plan() records the train
size it was asked for in data_dir/<name>.num_train, so tests can see gin bindings reach datagen.
The ablation sets differ in hidden_size (16, 12, 8) so that tests can tell them apart.
"""

import os
from typing import Dict, List

from t2t_mm import registry
from t2t_mm.config.hparams import HParams
from t2t_mm.testing import fake_model  # noqa: F401  (registers fake_seq2seq)
from t2t_mm.testing import fake_problems

SUITE = "exp_fake3"


class _DatagenHooks:
  """What datagen needs of a problem; plan() records the train size it was made with."""

  @property
  def data_name(self):
    return self.name

  def check_raw_data(self, tmp_dir):
    del tmp_dir  # In memory: nothing to fetch.

  def build_vocabs(self, data_dir, tmp_dir):
    del data_dir, tmp_dir  # FakeVocab needs no file.

  def plan(self, data_dir, tmp_dir, max_cases=None):
    del tmp_dir, max_cases
    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, f"{self.name}.num_train"), "w", encoding="utf-8") as f:
      f.write(str(self._sizes["train"]))
    return []


class ExpFakeParse(_DatagenHooks, fake_problems.FakeCopyProblem):

  def __init__(self, was_reversed=False, num_train_examples=64):
    del was_reversed
    super().__init__(name="exp_fake_parse", num_train=num_train_examples, num_dev=32, seed=1)


class ExpFakeLabel(_DatagenHooks, fake_problems.FakeLabelProblem):

  def __init__(self, was_reversed=False, num_train_examples=256):
    del was_reversed
    super().__init__(name="exp_fake_label", num_train=num_train_examples, num_dev=32, seed=2)


class ExpFakeCopy(_DatagenHooks, fake_problems.FakeCopyProblem):

  def __init__(self, was_reversed=False, num_train_examples=256):
    del was_reversed
    super().__init__(name="exp_fake_copy", num_train=num_train_examples, num_dev=32, seed=3,
                     vocab_size=10)


def fake_hparams(**kw) -> HParams:
  return HParams(**dict(dict(model="fake_seq2seq", hidden_size=16, batch_size=16,
                             learning_rate=0.02, learning_rate_warmup_steps=4,
                             max_input_length=8, max_target_length=8), **kw))


def register() -> Dict[str, List[str]]:
  """Registers what is not registered yet; returns {kind: names added} for unregister()."""
  tables = {kind: set(registry.names(kind)) for kind in ("problems", "hparams", "suites")}
  added = {"problems": [], "hparams": [], "suites": []}
  for cls, name in ((ExpFakeParse, "exp_fake_parse"), (ExpFakeLabel, "exp_fake_label"),
                    (ExpFakeCopy, "exp_fake_copy")):
    if name not in tables["problems"]:
      registry.register_problem(cls, name=name)
      added["problems"].append(name)
  for name, size in (("exp_fake", 16), ("exp_fake_no_moe", 12), ("exp_fake_no_attention", 8)):
    if name not in tables["hparams"]:
      registry.register_hparams(lambda size=size: fake_hparams(hidden_size=size), name=name)
      added["hparams"].append(name)
  if SUITE not in tables["suites"]:
    registry.register_suite(SUITE, ["exp_fake_parse", "exp_fake_label", "exp_fake_copy"])
    added["suites"].append(SUITE)
  return added


def unregister(added: Dict[str, List[str]]) -> None:
  for kind, names in added.items():
    for name in names:
      registry.unregister(kind, name)
