"""Problems, file problems and in-memory problems follow one protocol (ProblemLike)."""

import pytest

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.data import problem as problem_lib
from t2t_mm.data import vocabularies
from t2t_mm.testing import fake_problems


def test_registered_and_in_memory_problems_are_problem_like_and_their_vocabularies_vocabularies():
  methods = {m for m, v in vars(problem_lib.ProblemLike).items()
             if callable(v) and not m.startswith("_")}
  assert methods == set(problem_lib.PROBLEM_METHODS)
  for problem in (registry.problem("wmt_ende_mini"), fake_problems.FakeCopyProblem(),
                  fake_problems.FakeImageLabelProblem()):
    assert isinstance(problem, problem_lib.ProblemLike), problem
  assert not isinstance(object(), problem_lib.ProblemLike)
  for vocab in (fake_problems.FakeCopyProblem().target_vocab(None),
                fake_problems.FakeImageLabelProblem().target_vocab(None),
                registry.problem("speech_en_mini").target_vocab("unused")):
    assert isinstance(vocab, vocabularies.Vocabulary)
    assert vocab.decode(vocab.encode(vocab.decode([2]))) == vocab.decode([2])


def test_the_rev_variant_takes_reversed_target_space_and_the_old_name_is_refused():
  forward, reverse = registry.problem("wmt_ende_mini"), registry.problem("wmt_ende_mini_rev")
  vocab = vocabularies.ByteVocab()
  assert forward._spec(vocab, vocab).target_space == forward.target_space
  assert reverse._spec(vocab, vocab).target_space == forward.reversed_target_space
  assert forward.reversed_target_space != forward.target_space
  with pytest.raises(errors.ConfigError, match="'input_space', which is now called "
                     "'reversed_target_space'"):
    type("OldStyle", (problem_lib.Problem,), {"input_space": 3})
