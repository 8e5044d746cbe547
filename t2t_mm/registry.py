"""Registries that map names to problems, hparams sets, models, modalities and suites.

    @registry.register_problem            # registered as "wmt_ende_mini"
    class WmtEndeMini(TextToTextProblem): ...

    registry.problem("wmt_ende_mini")      # an instance (gin configures its constructor)
    registry.problem("wmt_ende_mini_rev")  # the same problem, inputs and targets swapped
    registry.hparams("multimodel_tiny")    # the HParams the registered function returns

Registration only stores the object. t2t_mm's own components (t2t_mm/builtins.py, entry-point
group `t2t_mm.components`) and installed plugins (group `t2t_mm.plugins`) are imported on the
first lookup, so importing this module is cheap and it imports nothing above it.
"""

import re
from typing import Callable, Dict, List, Optional, Sequence

from t2t_mm import errors
from t2t_mm.config import configurable
from t2t_mm.config import hparams as hparams_lib

KINDS = ("problems", "suites", "hparams", "models", "modalities", "preprocessors",
         "vocabularies")
REV_SUFFIX = "_rev"

_registries: Dict[str, Dict[str, object]] = {kind: {} for kind in KINDS}
_checks: Dict[str, Callable[[object], Optional[str]]] = {}
_loaded = False
# A registered class records its name here (in its own __dict__, so an unregistered subclass
# does not inherit it): Problem.base_name reads it.
NAME_ATTRIBUTE = "registered_name"


def default_name(obj) -> str:
  """snake_case of a class or function name: WmtEnDe -> wmt_en_de, MultiModel -> multi_model."""
  s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", obj.__name__)
  return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _check(kind: str, name: str, obj) -> None:
  if kind == "hparams" and not callable(obj):
    raise errors.ConfigError(f"hparams set '{name}' must be a function returning an HParams, "
                             f"got {obj!r}.")
  problem = _checks[kind](obj) if kind in _checks else None
  if problem:
    raise errors.ConfigError(f"Cannot register {kind[:-1]} '{name}' ({obj!r}): {problem}")


def set_check(kind: str, check: Callable[[object], Optional[str]]) -> None:
  """Installs the check of what may be registered as `kind` (the package that defines the base
  class calls it): check(obj) returns what is wrong, or None. What is registered already is
  checked at once."""
  _checks[kind] = check
  for name, obj in _registries[kind].items():
    _check(kind, name, obj)


def registered_name(cls) -> Optional[str]:
  """The name `cls` itself was registered under (not a registered parent's), or None."""
  return vars(cls).get(NAME_ATTRIBUTE) if isinstance(cls, type) else None


def _register(kind: str, obj, name: Optional[str]):
  name = name or default_name(obj)
  table = _registries[kind]
  if name in table:
    raise errors.ConfigError(
        f"{kind[:-1]} '{name}' is registered twice: by {table[name]!r} and by {obj!r}.")
  _check(kind, name, obj)
  if isinstance(obj, type):
    setattr(obj, NAME_ATTRIBUTE, name)
  if kind in ("problems", "models", "modalities") and isinstance(obj, type):
    # Gin may bind the constructor arguments of registered classes (the README's rule).
    wrapped = configurable.make_configurable(obj, name=name, module=kind)
    if wrapped is not obj:
      setattr(wrapped, NAME_ATTRIBUTE, name)
    obj = wrapped
  table[name] = obj
  return obj


def unregister(kind: str, name: str) -> None:
  """Removes `name` (tests and temporary plugins); UnknownNameError if it is not registered."""
  lookup(kind, name)
  del _registries[kind][name]


def snapshot() -> Dict[str, Dict[str, object]]:
  """Everything registered now, for restore() (tests register names and undo them)."""
  load_builtins()
  return {kind: dict(table) for kind, table in _registries.items()}


def restore(saved: Dict[str, Dict[str, object]]) -> None:
  """Puts back exactly what snapshot() saw."""
  for kind, table in _registries.items():
    table.clear()
    table.update(saved[kind])


def _decorator(kind: str):
  def register(obj=None, *, name: Optional[str] = None):
    if obj is None:  # Used as @register(name="...").
      return lambda o: _register(kind, o, name)
    return _register(kind, obj, name)
  register.__name__ = f"register_{kind[:-1]}"
  register.__doc__ = f"Registers a {kind[:-1]} under `name` (default: snake_case of its name)."
  return register


register_problem = _decorator("problems")
register_hparams = _decorator("hparams")
register_model = _decorator("models")
register_modality = _decorator("modalities")
# Preprocessors are registered under the name of the modality whose raw values they convert.
register_preprocessor = _decorator("preprocessors")


def register_vocabulary(vocabulary, name: str):
  """Registers a vocabulary that problems name: a Vocabulary object or a declaration such as
  Subword(size=..., sources=(...)) (t2t_mm/data/vocabularies.py)."""
  return _register("vocabularies", vocabulary, name)


def register_suite(name: str, problem_names: Sequence[str]) -> None:
  """Registers a named list of problems, e.g. "all8_mini"."""
  _register("suites", list(problem_names), name)


def load_builtins() -> None:
  """Imports built-in components and installed plugins once."""
  global _loaded
  if _loaded:
    return
  _loaded = True  # Before importing: the modules imported look names up as they register.
  from t2t_mm import plugins
  try:
    # Through entry points (t2t_mm/builtins.py): this module imports nothing above it.
    plugins.load_builtin_components()
    plugins.load_entry_point_plugins()
  except Exception:
    _loaded = False  # The next lookup tries again and fails the same way, not silently.
    raise


def names(kind: str) -> List[str]:
  load_builtins()
  return sorted(_registries[kind])


_WHERE_FROM = (" Besides t2t_mm's own, they come from plugins: a folder passed as --usr_dir, or "
               "an installed package's 't2t_mm.plugins' entry point.")


def lookup(kind: str, name: str):
  """The object registered as `name`; an UnknownNameError lists the closest names."""
  load_builtins()
  table = _registries[kind]
  if name not in table:
    raise errors.UnknownNameError(
        f"Unknown {kind[:-1]} '{name}'.{errors.did_you_mean(name, table)}"
        f" Run `mm-trainer --registry_help` to list every {kind[:-1]}."
        + (_WHERE_FROM if kind in ("problems", "hparams", "suites") else ""))
  return table[name]


def problem(name: str):
  """An instance of the problem `name`; `X_rev` is problem X with inputs and targets swapped."""
  load_builtins()
  base = name[: -len(REV_SUFFIX)] if name.endswith(REV_SUFFIX) else None
  if name not in _registries["problems"] and base in _registries["problems"]:
    return _registries["problems"][base](was_reversed=True)
  return lookup("problems", name)()


def hparams(name: str):
  """The HParams built by the registered set `name`."""
  hp = lookup("hparams", name)()
  if not isinstance(hp, hparams_lib.HParams):
    raise errors.ConfigError(f"hparams set '{name}' returned {type(hp).__name__}, not an "
                             "HParams (t2t_mm.config.hparams.HParams).")
  return hp


def model(name: str):
  return lookup("models", name)


def modality(name: str):
  return lookup("modalities", name)


def preprocessor(modality_name: str):
  """The Preprocessor class of the modality `modality_name` (t2t_mm/data/preprocessors/)."""
  return lookup("preprocessors", modality_name)


def help_string() -> str:
  """Everything registered, grouped by kind (what `--registry_help` prints)."""
  lines = []
  for kind in KINDS:
    lines.append(f"{kind.capitalize()}:")
    for name in names(kind):
      extra = f": {', '.join(_registries[kind][name])}" if kind == "suites" else ""
      lines.append(f"  * {name}{extra}")
    lines.append("")
  lines.append(f"Every text-to-text problem X also exists as X{REV_SUFFIX} (inputs and targets "
               "swapped).")
  return "\n".join(lines)


def expand_problem_names(spec: str) -> List[str]:
  """'all8_mini,wmt_ende_*' -> problem names: suites expand, globs match, order kept, no dups.

  Every name is checked: an unknown one raises UnknownNameError with close matches.
  """
  import fnmatch
  load_builtins()
  out: List[str] = []
  for item in [s.strip() for s in spec.split(",") if s.strip()]:
    if item in _registries["suites"]:
      found = list(_registries["suites"][item])
    elif any(ch in item for ch in "*?["):
      found = fnmatch.filter(names("problems"), item)
      if not found:
        raise errors.UnknownNameError(f"No problem matches the pattern '{item}'.")
    else:
      base = item[: -len(REV_SUFFIX)] if item.endswith(REV_SUFFIX) else item
      if base not in _registries["problems"]:
        lookup("problems", item)  # Raises, naming the closest problems.
      found = [item]
    out.extend(n for n in found if n not in out)
  if not out:
    raise errors.ConfigError(f"No problem named in '{spec}'.")
  return out
