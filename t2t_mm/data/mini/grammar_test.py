"""The mini grammar renders real cross-language differences, deterministically, without leaks."""

from t2t_mm.data.mini import grammar


def _np(noun, num="sg", det="def", adj=None):
  return {"noun": noun, "num": num, "det": det, "adj": adj}


def _clause(**kw):
  c = {"neg": False, "obj": None, "pp": None, "comp": None, "adv": None}
  c.update(kw)
  return c


def test_verb_second_case_and_weak_nouns():
  r = grammar.render(_clause(subj=_np("boy", adj="big"), verb="see",
                             obj=_np("boy", det="indef", adj="small"), adv="today"))
  assert r["en"] == "Today the big boy sees a small boy ."
  assert r["de"] == "Heute sieht der große Junge einen kleinen Jungen ."
  assert r["fr"] == "Aujourd'hui le grand garçon voit un petit garçon ."
  assert r["tree"] == ("(S (ADVP RB )ADVP (NP DT JJ NN )NP (VP VBZ (NP DT JJ NN )NP )VP "
                       ". )S")


def test_subordinate_clause_negation_and_elision():
  comp = _clause(subj=_np("dog"), verb="find", obj=_np("tree", det="indef"), neg=True,
                 pp=("in", _np("garden")))
  r = grammar.render(_clause(subj=_np("man"), verb="say", comp=comp))
  assert r["en"] == "The man says that the dog does not find a tree in the garden ."
  assert r["de"] == "Der Mann sagt, dass der Hund keinen Baum im Garten findet ."
  assert r["fr"] == "L'homme dit que le chien ne trouve pas d'arbre dans le jardin ."
  assert r["tree"] == (
      "(S (NP DT NN )NP (VP VBZ (SBAR IN (S (NP DT NN )NP (VP VBZ RB (VP VB (NP DT NN )NP "
      "(PP IN (NP DT NN )NP )PP )VP )VP )S )SBAR )VP . )S")


def test_plural_dative_gender_and_adjective_position():
  r = grammar.render(_clause(subj=_np("cat", num="pl", adj="red"), verb="wait",
                             pp=("near", _np("house", num="pl"))))
  assert r["en"] == "The red cats wait near the houses ."
  assert r["de"] == "Die roten Katzen warten neben den Häusern ."
  assert r["fr"] == "Les chats rouges attendent près des maisons ."


def test_examples_are_deterministic_and_splits_disjoint():
  def texts(split, n):
    return {grammar.render_speech(grammar.example_for(1, split, i, "ende")) for i in range(n)}
  train, dev = texts("train", 3000), texts("dev", 300)
  assert not train & dev
  assert len(dev) > 150  # Varied, not one sentence repeated.
  assert grammar.example_for(1, "dev", 7, "ende") == grammar.example_for(1, "dev", 7, "ende")
  assert grammar.example_for(1, "dev", 7, "ende") != grammar.example_for(2, "dev", 7, "ende")


def test_speech_vocabulary_covers_simple_clauses():
  import random
  vocab = set(grammar.speech_vocabulary())
  rng = random.Random(0)
  for _ in range(500):
    assert set(grammar.render_speech(grammar.sample_clause(rng, simple=True)).split()) <= vocab
