"""Problems read from your own files, one class per layout (see base.py for the attributes).

    from t2t_mm.data.files import TextPairs, ImageClasses, ImageCaptions, SpeechClips, TreeFiles

docs/own_problems.md shows one worked example of each.
"""

from t2t_mm.data.files.base import OWN, FileProblem
from t2t_mm.data.files.image_captions import ImageCaptions
from t2t_mm.data.files.image_classes import ImageClasses
from t2t_mm.data.files.speech_clips import SpeechClips
from t2t_mm.data.files.text_pairs import TextPairs
from t2t_mm.data.files.tree_files import TreeFiles

__all__ = ["OWN", "FileProblem", "ImageCaptions", "ImageClasses", "SpeechClips", "TextPairs",
           "TreeFiles"]
