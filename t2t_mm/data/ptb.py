"""Penn Treebank trees: reading bracketed files and linearizing them as in the paper.

    read_trees("wsj_0201.mrg")     # -> list of (label, children) trees, traces removed
    words(tree)                    # "Ms. Haag plays Elianti ."
    linearize(tree)                # "(S (NP NNP NNP )NP (VP VBZ (NP NNP )NP )VP . )S"

Linearization follows "Grammar as a Foreign Language" (Vinyals et al. 2015), which the
MultiModel paper uses: words are replaced by their POS tags and every closing bracket carries
its label. Empty elements (-NONE-) and function tags (NP-SBJ -> NP) are removed.
"""

import re
from typing import List, Tuple, Union

from t2t_mm import errors
from t2t_mm.utils import fs

Tree = Tuple[str, Union[str, List["Tree"]]]  # (label, word) for leaves, (label, [trees])
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def parse_trees(text: str, source: str = "<text>") -> List[Tree]:
  """Every top-level tree in `text`; DataError naming `source` on unbalanced brackets."""
  tokens = _TOKEN.findall(text)
  pos, out = 0, []

  def node():
    nonlocal pos
    if tokens[pos] != "(":
      raise errors.DataError(f"{source}: expected '(' at token {pos}, got {tokens[pos]!r}.")
    pos += 1
    label = ""
    if tokens[pos] not in ("(", ")"):
      label = tokens[pos]
      pos += 1
    if pos < len(tokens) and tokens[pos] not in ("(", ")"):  # Leaf: (TAG word)
      word = tokens[pos]
      pos += 1
      _expect_close()
      return (label, word)
    children = []
    while pos < len(tokens) and tokens[pos] == "(":
      children.append(node())
    _expect_close()
    return (label, children)

  def _expect_close():
    nonlocal pos
    if pos >= len(tokens) or tokens[pos] != ")":
      raise errors.DataError(f"{source}: unbalanced brackets near token {pos}.")
    pos += 1

  while pos < len(tokens):
    tree = node()
    if tree[0] == "" and isinstance(tree[1], list) and len(tree[1]) == 1:
      tree = tree[1][0]  # PTB wraps each tree in an unlabeled root: ( (S ...) ).
    cleaned = _clean(tree)
    if cleaned is not None:
      out.append(cleaned)
  return out


def read_trees(path: str) -> List[Tree]:
  with fs.open(path, encoding="utf-8", errors="replace") as f:
    return parse_trees(f.read(), source=path)


def _clean(tree: Tree):
  """Drops -NONE- elements (and constituents left empty) and function tags."""
  label, body = tree
  if label == "-NONE-":
    return None
  if label not in ("-LRB-", "-RRB-", "-NONE-"):
    label = re.split(r"[-=]", label)[0] or label
  if isinstance(body, str):
    return (label, body)
  kids = [k for k in (_clean(c) for c in body) if k is not None]
  return (label, kids) if kids else None


def words(tree: Tree) -> str:
  label, body = tree
  del label
  if isinstance(body, str):
    return body
  return " ".join(words(c) for c in body)


def linearize(tree: Tree) -> str:
  label, body = tree
  if isinstance(body, str):
    return label
  return f"({label} " + " ".join(linearize(c) for c in body) + f" ){label}"
