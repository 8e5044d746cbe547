"""The paper's translation problems: WMT EN->DE and EN->FR (DE->EN, FR->EN are their _rev).

Data: TFDS wmt14_translate, prepared in {tmp_dir}/tfds (see TfdsSource for the fail-fast rule).
"""

from typing import Iterator

from t2t_mm import registry
from t2t_mm.data.spec import TargetSpace
from t2t_mm.data.tfds_problem import TfdsProblem

_HOW = ("WMT'14 comes from statmt.org through TFDS (about 1.4 GB for EN-DE, 15 GB for "
        "EN-FR).")


class _Wmt(TfdsProblem):
  target_lang = "de"
  reversed_target_space = TargetSpace.TO_ENGLISH
  metrics = ("token_accuracy", "bleu", "chrf")
  how_to_get = _HOW

  def convert(self, ex: dict) -> Iterator[dict]:
    yield {"inputs": ex["en"].decode("utf-8"), "targets": ex[self.target_lang].decode("utf-8")}


@registry.register_problem
class WmtEnde(_Wmt):
  """WMT'14 English -> German (wmt_ende_rev: German -> English)."""

  tfds_name, target_lang, target_space = "wmt14_translate/de-en", "de", TargetSpace.TO_GERMAN


@registry.register_problem
class WmtEnfr(_Wmt):
  """WMT'14 English -> French (wmt_enfr_rev: French -> English)."""

  tfds_name, target_lang, target_space = "wmt14_translate/fr-en", "fr", TargetSpace.TO_FRENCH
