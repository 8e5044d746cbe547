"""Is the requested run the one saved in output_dir? Checked before a resume writes anything.

    check_matches_saved(output_dir, hparams, set_name, specs, problems, data_dir)  # ConfigError

A resume that asks for other hparams, other problems or other vocabularies than the run was
made with (the data's vocabulary files are compared with the run's copies by sha256) would
rewrite hparams.json and problems.json and then fail to restore (or restore into a different
model), leaving a run that no longer decodes. Instead it fails first, with
one error that names every differing key with the saved and the requested value.
"""

import os
from typing import Dict, Iterable, List, Mapping, Optional

from t2t_mm import errors
from t2t_mm.runs import resolve
from t2t_mm.runs import outputs
from t2t_mm.runs import run_vocab
from t2t_mm.utils import fs


def _hparams_differences(saved: Mapping, requested: Mapping) -> List[str]:
  # Keys missing from an older hparams.json took their defaults when it was loaded.
  return [f"hparam {key}: saved {saved[key]!r}, requested {requested[key]!r}"
          for key in sorted(set(saved) & set(requested)) if saved[key] != requested[key]]


def _problem_differences(saved: Mapping[str, Dict], specs: Mapping) -> List[str]:
  out = []
  added, removed = sorted(set(specs) - set(saved)), sorted(set(saved) - set(specs))
  if added or removed:
    out.append(f"problems: saved {sorted(saved)}, requested {sorted(specs)}")
  for name in sorted(set(saved) & set(specs)):
    now = specs[name].to_dict()
    for key in sorted(set(saved[name]) & set(now)):
      if saved[name][key] != now[key]:
        out.append(f"problem {name} {key}: saved {saved[name][key]!r}, requested {now[key]!r}")
  return out


def check_matches_saved(output_dir: str, hparams, set_name: str, specs: Mapping,
                        problems: Iterable = (), data_dir: Optional[str] = None) -> None:
  """Raises errors.ConfigError if output_dir holds a run other than (hparams, specs), or if
  the vocabulary files `problems` read from `data_dir` are not the run's copies."""
  saved_set, saved_values = resolve.load_saved(output_dir)
  differences = []
  if saved_values is not None:
    if saved_set != set_name:
      differences.append(f"hparams_set: saved {saved_set!r}, requested {set_name!r}")
    differences += _hparams_differences(saved_values, hparams.to_dict())
  if fs.exists(os.path.join(output_dir, outputs.PROBLEMS_FILE)):
    saved = outputs.read_run_problems(output_dir)
    differences += _problem_differences({p["name"]: p["spec"] for p in saved["problems"]}, specs)
    if data_dir is not None:
      differences += run_vocab.differences(output_dir, saved, problems, data_dir)
  if differences:
    raise errors.ConfigError(
        f"{output_dir} holds a run that differs from the one requested, so it was not resumed "
        "and nothing in it was changed:\n  " + "\n  ".join(differences) +
        "\nResume without these changes, or train into a new --output_dir.")
