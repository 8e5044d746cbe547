"""Typed dataclass configs: validation, JSON round trips and `a=1,b=[0,2]` overrides.

Any dataclass whose fields are bool, int, float, str, Literal[...], Optional[T], List[T] or
Dict[str, T] works. Every error names the key, the expected type and, for unknown keys, the
closest known keys. Nothing is ever just a warning.

    overrides = parse_overrides("hidden_size=128,moe_layers=[0,2],use_moe=false", HParams)
    # {"hidden_size": 128, "moe_layers": [0, 2], "use_moe": False}
"""

import dataclasses
import math
import typing
from typing import Any, Dict, List, Mapping, Tuple

from t2t_mm import errors

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def field(default, help_text: str):
  """A dataclass field with a default (copied per instance for lists and dicts) and its help
  text (metadata "help": what describe, --hparams_help and the tools' flags print)."""
  if isinstance(default, (list, dict)):
    return dataclasses.field(default_factory=lambda: type(default)(default),
                             metadata={"help": help_text})
  return dataclasses.field(default=default, metadata={"help": help_text})


def field_types(cls) -> Dict[str, Any]:
  """{field name: resolved type} of a dataclass (string annotations resolved)."""
  hints = typing.get_type_hints(cls)
  return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def type_name(tp) -> str:
  """Readable type: int, list[int], one of ['a', 'b'], optional float."""
  origin, args = typing.get_origin(tp), typing.get_args(tp)
  if origin is typing.Literal:
    return f"one of {list(args)}"
  if origin is typing.Union:
    inner = [a for a in args if a is not type(None)]
    return "optional " + " or ".join(type_name(a) for a in inner)
  if origin in (list, List):
    return f"list[{type_name(args[0])}]"
  if origin in (dict, Dict):
    return f"dict[{type_name(args[0])}, {type_name(args[1])}]"
  return getattr(tp, "__name__", str(tp))


def _bad(key: str, tp, value) -> errors.ConfigError:
  return errors.ConfigError(f"'{key}' expects {type_name(tp)}, got {value!r}.")


def coerce(key: str, tp, value):
  """Checks a Python/JSON value against `tp`; converts int->float and list->list. Raises."""
  origin, args = typing.get_origin(tp), typing.get_args(tp)
  if origin is typing.Union:
    if value is None and type(None) in args:
      return None
    inner = [a for a in args if a is not type(None)]
    return coerce(key, inner[0], value)
  if origin is typing.Literal:
    if value not in args:
      raise _bad(key, tp, value)
    return value
  if origin in (list, List):
    if not isinstance(value, (list, tuple)):
      raise _bad(key, tp, value)
    return [coerce(key, args[0], v) for v in value]
  if origin in (dict, Dict):
    if not isinstance(value, dict):
      raise _bad(key, tp, value)
    return {coerce(key, args[0], k): coerce(key, args[1], v) for k, v in value.items()}
  if tp is bool:
    if not isinstance(value, bool):
      raise _bad(key, tp, value)
    return value
  if tp is int:
    if isinstance(value, bool) or not isinstance(value, int):
      raise _bad(key, tp, value)
    return value
  if tp is float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
      raise _bad(key, tp, value)
    if not math.isfinite(value):  # inf and nan are never a setting; they train into NaN.
      raise errors.ConfigError(f"'{key}' expects a finite float, got {value!r}.")
    return float(value)
  if tp is str:
    if not isinstance(value, str):
      raise _bad(key, tp, value)
    return value
  raise TypeError(f"Unsupported hparam type {tp!r} for '{key}'.")


def split_top_level(text: str, sep: str = ",") -> List[str]:
  """Splits on `sep` outside brackets, braces and quotes: 'a=1,b=[1,2]' -> ['a=1', 'b=[1,2]']."""
  parts, depth, quote, current = [], 0, None, []
  for ch in text:
    if quote:
      quote = None if ch == quote else quote
    elif ch in "'\"":
      quote = ch
    elif ch in "[{":
      depth += 1
    elif ch in "]}":
      depth -= 1
      if depth < 0:
        raise errors.ConfigError(f"Unbalanced '{ch}' in '{text}'.")
    elif ch == sep and depth == 0:
      parts.append("".join(current))
      current = []
      continue
    current.append(ch)
  if depth or quote:
    raise errors.ConfigError(f"Unclosed bracket or quote in '{text}'.")
  parts.append("".join(current))
  parts = [p.strip() for p in parts]
  if parts == [""]:
    return []
  if "" in parts:  # 'a=1,,b=2' or '[1,]' is a slip of the keyboard, not "nothing here".
    raise errors.ConfigError(f"Empty item in '{text}': remove the extra '{sep}'.")
  return parts


def _unquote(text: str) -> str:
  if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
    return text[1:-1]
  return text


def parse_value(key: str, tp, text: str):
  """Parses the override text of one value by the field's type."""
  text = text.strip()
  origin, args = typing.get_origin(tp), typing.get_args(tp)
  if origin is typing.Union:
    if text.lower() == "none" and type(None) in args:
      return None
    return parse_value(key, [a for a in args if a is not type(None)][0], text)
  if origin in (list, List):
    if not (text.startswith("[") and text.endswith("]")):
      raise _bad(key, tp, text)
    try:
      return [parse_value(key, args[0], t) for t in split_top_level(text[1:-1])]
    except errors.ConfigError as e:  # Name the whole list type, not just the element's.
      raise _bad(key, tp, text) from e
  if origin in (dict, Dict):
    if not (text.startswith("{") and text.endswith("}")):
      raise _bad(key, tp, text)
    out = {}
    for item in split_top_level(text[1:-1]):
      k, sep, v = item.partition(":")
      if not sep:
        raise _bad(key, tp, text)
      try:
        k, v = parse_value(key, args[0], k), parse_value(key, args[1], v)
      except errors.ConfigError as e:
        raise _bad(key, tp, text) from e
      if k in out:
        raise errors.ConfigError(f"'{key}' names {k!r} twice in {text}; keep one.")
      out[k] = v
    return out
  if origin is typing.Literal:
    return coerce(key, tp, _unquote(text))
  try:
    if tp is bool:
      if text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
      raise ValueError(text)
    if tp is int:
      return int(text)
    if tp is float:
      number = float(text)
  except ValueError as e:
    raise _bad(key, tp, text) from e
  if tp is float:
    return coerce(key, tp, number)
  if tp is str:
    return _unquote(text)
  raise TypeError(f"Unsupported hparam type {tp!r} for '{key}'.")


def check_key(cls, key: str) -> None:
  known = field_types(cls)
  if key not in known:
    raise errors.UnknownNameError(
        f"Unknown hparam '{key}' for {cls.__name__}.{errors.did_you_mean(key, known)}")


def parse_overrides(text, cls) -> Dict[str, Any]:
  """'a=1,b=[0,2]' -> {'a': 1, 'b': [0, 2]}, parsed by the types of dataclass `cls`; a dict
  ({'a': 1, 'b': [0, 2]}, from Python) is checked against those types the same way."""
  types = field_types(cls)
  out: Dict[str, Any] = {}
  if isinstance(text, Mapping):
    for key, value in text.items():
      check_key(cls, key)
      out[key] = coerce(key, types[key], value)
    return out
  for item in split_top_level(text or ""):
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep:
      raise errors.ConfigError(f"Override '{item}' is not of the form key=value.")
    check_key(cls, key)
    if key in out:  # 'a=1,a=2': which one was meant cannot be known.
      raise errors.ConfigError(f"Override '{key}' is given twice in '{text}'; keep one.")
    out[key] = parse_value(key, types[key], value)
  return out


def reject_duplicate_keys(pairs):
  """json.load's object_pairs_hook: a JSON object naming a key twice is an error, not the
  last value silently."""
  out = {}
  for k, v in pairs:
    if k in out:
      raise errors.ConfigError(f"key '{k}' is given twice")
    out[k] = v
  return out


def validate(obj) -> None:
  """Checks every field of dataclass instance `obj` against its type (call in __post_init__)."""
  for key, tp in field_types(type(obj)).items():
    object.__setattr__(obj, key, coerce(key, tp, getattr(obj, key)))


def check_at_least(obj, minimum, *keys: str, what: str = "hparam") -> None:
  """Raises errors.ConfigError naming the first of `keys` whose value is below `minimum`."""
  for key in keys:
    value = getattr(obj, key)
    if value < minimum:
      raise errors.ConfigError(f"{what} '{key}' must be >= {minimum}, got {value}.")


def check_positive(obj, *keys: str, what: str = "hparam") -> None:
  """Raises errors.ConfigError naming the first of `keys` whose value is not > 0."""
  for key in keys:
    if not getattr(obj, key) > 0:
      raise errors.ConfigError(f"{what} '{key}' must be > 0, got {getattr(obj, key)}.")


def from_dict(cls, values: Dict[str, Any], base=None):
  """A `cls` from `base` (or the defaults) with `values` replacing fields; keys checked."""
  for key in values:
    check_key(cls, key)
  return dataclasses.replace(base, **values) if base is not None else cls(**values)


def to_dict(obj) -> Dict[str, Any]:
  return dataclasses.asdict(obj)


def describe(cls) -> List[Tuple[str, str, Any, str]]:
  """(name, type, default, help) per field: what `--hparams_help` prints."""
  types = field_types(cls)
  rows = []
  for f in dataclasses.fields(cls):
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    rows.append((f.name, type_name(types[f.name]), default, f.metadata.get("help", "")))
  return rows
