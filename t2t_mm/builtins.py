"""t2t_mm's own components, loaded as plugins are: through an entry point.

The registry sits low in the package (data, layers, models and bin are above it) and must not
import what registers itself in it. So t2t_mm declares its own components the way an installed
plugin does, in its own entry-point group (setup.py):

    entry_points={"t2t_mm.components": ["t2t_mm = t2t_mm.builtins"]}

and registry.load_builtins() loads that group through t2t_mm.plugins on the first lookup.
Importing this module registers the paper's and the mini problems, the hparams sets, the
models, the modalities and the preprocessors.
"""

# pylint: disable=unused-import
from t2t_mm import hparams  # noqa: F401
from t2t_mm import problems  # noqa: F401
from t2t_mm import modalities  # noqa: F401
from t2t_mm import models  # noqa: F401
from t2t_mm.data import preprocessors  # noqa: F401
