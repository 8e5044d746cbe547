"""A small grammar rendering one meaning as aligned English, German, French and an English tree.

    rng = random.Random(0)
    m = sample_clause(rng)
    render(m)  # {"en": "Today the big dog sees a cat .", "de": "Heute sieht der große Hund
               #  eine Katze .", "fr": "Aujourd'hui le grand chien voit un chat .",
               #  "tree": "(S (ADVP RB )ADVP (NP DT JJ NN )NP (VP VBZ (NP DT NN )NP )VP . )S"}

The languages differ where real ones do: German verb-second after a fronted adverb and
verb-final in `dass` clauses, case (der/den/dem), three genders, adjective declension, kein-
negation and noun capitalization; French gender, adjectives after the noun (except big, small,
old, young, new), ne ... pas, pas de, elision (l', qu', n', d') and du/des contractions.
The tree is the English parse linearized as in "Grammar as a Foreign Language" (Vinyals et
al. 2015): words become POS tags and each closing bracket is labelled.
"""

import random
from typing import Dict, List, Optional

from t2t_mm.data.mini import lexicon as lx

# --- Meaning -----------------------------------------------------------------------------------


def sample_np(rng: random.Random, nouns: List[str], adj_prob: float = 0.4) -> dict:
  num = "pl" if rng.random() < 0.3 else "sg"
  return {"noun": rng.choice(nouns), "num": num,
          "det": "def" if rng.random() < 0.6 else "indef",
          "adj": rng.choice(sorted(lx.ADJECTIVES)) if rng.random() < adj_prob else None}


def sample_clause(rng: random.Random, depth: int = 0, simple: bool = False) -> dict:
  """A random clause; `simple` gives short speech-like clauses (no PP, adverb, negation)."""
  r = rng.random()
  clause = {"subj": sample_np(rng, lx.ANIMATE, 0.3 if simple else 0.4), "neg": False,
            "obj": None, "pp": None, "comp": None, "adv": None}
  if r < 0.12 and depth == 0 and not simple:
    clause["verb"] = rng.choice(sorted(lx.CLAUSAL))
    clause["comp"] = sample_clause(rng, depth + 1)
  elif r < 0.65:
    clause["verb"] = verb = rng.choice(sorted(lx.TRANSITIVE))
    objects = lx.TRANSITIVE[verb][5] or lx.ANIMATE + lx.THINGS
    clause["obj"] = sample_np(rng, objects, 0.3 if simple else 0.4)
  else:
    clause["verb"] = rng.choice(sorted(lx.INTRANSITIVE))
  if not simple:
    clause["neg"] = rng.random() < 0.2
    if clause["comp"] is None and rng.random() < 0.35:
      clause["pp"] = (rng.choice(sorted(lx.PREPOSITIONS)),
                      sample_np(rng, lx.PLACES, 0.2))
    if depth == 0 and rng.random() < 0.15:
      clause["adv"] = rng.choice(sorted(lx.ADVERBS))
  return clause


# --- English and its tree ----------------------------------------------------------------------

def _en_np(np_: dict):
  n = lx.NOUNS[np_["noun"]]
  noun = n[1] if np_["num"] == "pl" else n[0]
  words, tags = [], []
  if np_["det"] == "def":
    words, tags = ["the"], ["DT"]
  elif np_["num"] == "sg":
    following = np_["adj"] or noun
    words, tags = ["an" if following[0] in "aeiou" else "a"], ["DT"]
  if np_["adj"]:
    words.append(np_["adj"])
    tags.append("JJ")
  words.append(noun)
  tags.append("NNS" if np_["num"] == "pl" else "NN")
  return words, "(NP " + " ".join(tags) + " )NP"


def _en_clause(c: dict):
  subj_words, subj_tree = _en_np(c["subj"])
  verb, sg = c["verb"], c["subj"]["num"] == "sg"
  forms = lx.TRANSITIVE.get(verb) or lx.INTRANSITIVE.get(verb) or lx.CLAUSAL[verb]
  words, vp = [], []
  if c["neg"]:
    words += ["does" if sg else "do", "not", verb]
    vp += ["VBZ" if sg else "VBP", "RB", "(VP VB"]
  else:
    words.append(forms[0] if sg else verb)
    vp.append("(VP " + ("VBZ" if sg else "VBP"))
    vp[0] = vp[0][4:]  # The VP bracket is opened below.
  if c["obj"]:
    w, t = _en_np(c["obj"])
    words += w
    vp.append(t)
  if c["pp"]:
    w, t = _en_np(c["pp"][1])
    words += [c["pp"][0]] + w
    vp.append(f"(PP IN {t} )PP")
  if c["comp"]:
    w, t = _en_clause(c["comp"])
    words += ["that"] + w
    vp.append(f"(SBAR IN {t} )SBAR")
  inner = " ".join(vp) + (" )VP" if c["neg"] else "")
  tree = f"(S {subj_tree} (VP {inner} )VP )S"
  words = subj_words + words
  if c["adv"]:
    words = [c["adv"]] + words
    tree = f"(S (ADVP RB )ADVP {tree[3:]}"
  return words, tree


# --- German --------------------------------------------------------------------------------------

def _de_np(np_: dict, case: str, neg: bool = False) -> List[str]:
  n = lx.NOUNS[np_["noun"]]
  gender, pl = n[4], np_["num"] == "pl"
  key = "pl" if pl else gender
  noun = n[3] if pl else n[2]
  if pl and case == "dat" and noun[-1] not in "ns":
    noun += "n"  # Dative plural: den Häusern.
  if not pl and n[5] and case != "nom":
    noun += "n"  # Weak masculine: den Jungen.
  words = []
  if neg and np_["det"] == "indef":  # kein-
    art = "keine" if pl else "k" + lx.DE_INDEF[case][gender]
    words.append(art)
    ending = lx.DE_WEAK[case][key] if pl else lx.DE_MIXED[case][key]
  elif np_["det"] == "def":
    words.append(lx.DE_DEF[case][key])
    ending = lx.DE_WEAK[case][key]
  elif pl:
    ending = lx.DE_STRONG[case]["pl"]
  else:
    words.append(lx.DE_INDEF[case][gender])
    ending = lx.DE_MIXED[case][key]
  if np_["adj"]:
    words.append(lx.ADJECTIVES[np_["adj"]][0] + ending)
  return words + [noun]


def _de_clause(c: dict, subordinate: bool = False) -> List[str]:
  verb, sg = c["verb"], c["subj"]["num"] == "sg"
  forms = lx.TRANSITIVE.get(verb) or lx.INTRANSITIVE.get(verb) or lx.CLAUSAL[verb]
  finite = forms[1] if sg else forms[2]
  subj = _de_np(c["subj"], "nom")
  middle = []
  nicht = c["neg"]
  if c["obj"]:
    kein = c["neg"] and c["obj"]["det"] == "indef"
    middle += _de_np(c["obj"], "acc", neg=kein)
    nicht = nicht and not kein
  if nicht:
    middle.append("nicht")
  if c["pp"]:
    pp = _de_np(c["pp"][1], "dat")
    prep = lx.PREPOSITIONS[c["pp"][0]][0]
    if prep == "in" and pp[0] == "dem":
      middle += ["im"] + pp[1:]
    else:
      middle += [prep] + pp
  tail = []
  if c["comp"]:
    tail = [",", "dass"] + _de_clause(c["comp"], subordinate=True)
  if subordinate:
    return subj + middle + [finite] + tail
  if c["adv"]:  # Verb second: the subject follows the finite verb.
    return [lx.ADVERBS[c["adv"]][0], finite] + subj + middle + tail
  return subj + [finite] + middle + tail


# --- French --------------------------------------------------------------------------------------

def _fr_np(np_: dict, neg: bool = False) -> List[str]:
  n = lx.NOUNS[np_["noun"]]
  gender, pl = n[8], np_["num"] == "pl"
  noun = n[7] if pl else n[6]
  if neg and np_["det"] == "indef":
    words = ["de"]  # pas de chat
  elif np_["det"] == "def":
    words = ["les" if pl else ("le" if gender == "m" else "la")]
  else:
    words = ["des" if pl else ("un" if gender == "m" else "une")]
  if np_["adj"]:
    a = lx.ADJECTIVES[np_["adj"]]
    adj = a[1 + (2 if pl else 0) + (1 if gender == "f" else 0)]
    if pl and a[5] and words == ["des"]:
      words = ["de"]  # de grands chiens
    return words + ([adj, noun] if a[5] else [noun, adj])
  return words + [noun]


def _fr_clause(c: dict) -> List[str]:
  verb, sg = c["verb"], c["subj"]["num"] == "sg"
  forms = lx.TRANSITIVE.get(verb) or lx.INTRANSITIVE.get(verb) or lx.CLAUSAL[verb]
  finite = forms[3] if sg else forms[4]
  words = _fr_np(c["subj"])
  words += ["ne", finite, "pas"] if c["neg"] else [finite]
  if c["obj"]:
    words += _fr_np(c["obj"], neg=c["neg"])
  if c["pp"]:
    words += lx.PREPOSITIONS[c["pp"][0]][1].split() + _fr_np(c["pp"][1])
  if c["comp"]:
    words += ["que"] + _fr_clause(c["comp"])
  if c["adv"]:
    words = [lx.ADVERBS[c["adv"]][1]] + words
  return words


def _fr_contract(words: List[str]) -> str:
  """le + arbre -> l'arbre, de + le -> du, que + un -> qu'un, ne + aime -> n'aime."""
  elided: List[str] = []
  for w in words:  # Elision first: "de le arbre" -> "de l'arbre", not "du arbre".
    if elided and elided[-1] in ("le", "la", "de", "que", "ne") and w[0] in "aeiouéèhâ":
      elided[-1] = elided[-1][:-1] + "'" + w
    else:
      elided.append(w)
  out: List[str] = []
  for w in elided:
    if out and out[-1] == "de" and w in ("le", "les"):
      out[-1] = "du" if w == "le" else "des"
    else:
      out.append(w)
  return " ".join(out)


# --- Rendering -----------------------------------------------------------------------------------

def _sentence(words: List[str]) -> str:
  text = " ".join(words).replace(" ,", ",") + " ."
  return text[0].upper() + text[1:]


def render(clause: dict) -> Dict[str, str]:
  """The clause in English, German, French, and the English linearized tree."""
  en_words, tree = _en_clause(clause)
  fr = _fr_contract(_fr_clause(clause))
  return {"en": _sentence(en_words), "de": _sentence(_de_clause(clause)),
          "fr": fr[0].upper() + fr[1:] + " .", "tree": tree[:-3] + " . )S"}


def render_speech(clause: dict) -> str:
  """Lowercase English words without punctuation (speech transcripts)."""
  return " ".join(_en_clause(clause)[0])


def sample(rng: random.Random, simple: bool = False) -> dict:
  return sample_clause(rng, simple=simple)


def example_for(seed: int, split: str, index: int, kind: str, simple: bool = False,
                dev_percent: int = 5, test_percent: int = 5,
                max_words: Optional[int] = None) -> dict:
  """Meaning number `index` of `split`: deterministic, and never in two splits.

  Candidates are drawn from a stream seeded by (seed, kind, split, index, attempt) until one
  whose English text hashes into the split's bucket (crc32 % 100), and has at most `max_words`
  words, is found.
  """
  import zlib
  lo = {"train": 0, "dev": 100 - dev_percent - test_percent, "test": 100 - test_percent}[split]
  hi = {"train": 100 - dev_percent - test_percent, "dev": 100 - test_percent, "test": 100}[split]
  for attempt in range(10_000):
    rng = random.Random(f"{seed}/{kind}/{split}/{index}/{attempt}")
    clause = sample_clause(rng, simple=simple)
    key = render_speech(clause)  # Same key for every problem: a dev sentence is in no train set.
    if max_words is not None and len(key.split()) > max_words:
      continue
    if lo <= zlib.crc32(key.encode()) % 100 < hi:
      return clause
  raise RuntimeError("no candidate found")  # Unreachable: every bucket is hit quickly.


def speech_vocabulary() -> List[str]:
  """Every word render_speech can produce for simple clauses."""
  words = {"the", "a", "an"} | set(lx.ADJECTIVES)
  nouns = set(lx.ANIMATE) | set(lx.THINGS)
  for n in nouns:
    words |= {lx.NOUNS[n][0], lx.NOUNS[n][1]}
  for verb, forms in list(lx.TRANSITIVE.items()) + list(lx.INTRANSITIVE.items()):
    words |= {verb, forms[0]}
  return sorted(words)
