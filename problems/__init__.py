"""Registered problems and suites (installed as t2t_mm.problems). Importing registers them.

all8: the paper's eight problems (translate, image, speech, parsing); all8_mini: their small
local stand-ins (mini).
"""

from t2t_mm.problems import image  # noqa: F401
from t2t_mm.problems import mini  # noqa: F401
from t2t_mm.problems import parsing  # noqa: F401
from t2t_mm.problems import speech  # noqa: F401
from t2t_mm.problems import translate  # noqa: F401
