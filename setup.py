"""Installs t2t_mm: the library plus problems/, hparams/ and bin/ under the t2t_mm namespace."""

from setuptools import setup

# The user's layout keeps problems/, hparams/ and bin/ at the top of the tree; they install as
# t2t_mm.problems, t2t_mm.hparams and t2t_mm.bin so that no generic top-level name lands in
# site-packages.
PACKAGE_DIRS = {
    "t2t_mm": "t2t_mm",
    "t2t_mm.problems": "problems",
    "t2t_mm.hparams": "hparams",
    "t2t_mm.bin": "bin",
}

SERVE = ["starlette>=1.0,<2", "uvicorn>=0.30,<1", "python-multipart>=0.0.20,<0.1"]


def _packages():
  import os
  found = []
  for package, folder in PACKAGE_DIRS.items():
    for root, _, files in os.walk(folder):
      if "__init__.py" in files and "__pycache__" not in root:
        rel = os.path.relpath(root, folder)
        found.append(package if rel == "." else f"{package}.{rel.replace(os.sep, '.')}")
  return sorted(found)


setup(
    name="t2t_mm",
    version="0.1.0",
    description="One MultiModel trained on many problems across modalities (TF2 + Keras 3).",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=_packages(),
    package_dir=PACKAGE_DIRS,
    include_package_data=True,
    # Ranges tested together on the development machines (see docs/STACK.md).
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "tensorflow-text>=2.21,<2.22",  # Must match TensorFlow's minor version.
        "tensorflow-datasets>=4.9.10,<4.10",
        "importlib_resources>=6",  # tensorflow-datasets 4.9 imports it but does not require it.
        # Keras's public API only (optimization_test checks the optimizers, which subclass
        # Keras's); 3.15.1 is the newest release, tested here.
        "keras>=3.15,<4",
        "absl-py>=2.1,<3",
        "gin-config>=0.5,<0.6",
        "sentencepiece>=0.2,<0.3",
        "numpy>=1.26",
        "scipy>=1.11,<2",  # Anti-aliased resampling of users' WAVs (signal.resample_poly).
        "sacrebleu>=2.4,<3",  # Standard, comparable BLEU; better than a BLEU of our own.
        "jiwer>=3.0,<5",  # WER / CER as the speech field computes them (rapidfuzz edit distance).
        "tqdm>=4.60",  # Progress bars (already pulled in by tensorflow-datasets).
        "tensorboard>=2.21,<2.22",  # tf.summary needs it; TensorFlow 2.21 no longer pulls it in.
        "matplotlib>=3.8",  # Eval-curve plots of experiments.
    ],
    # The page of mm-serve is served from the installed package.
    package_data={"t2t_mm.serve": ["page.html"]},
    # ruff: the linter CI runs before the tests (configured in pyproject.toml).
    # bench: bench/peer.py's KerasHub Transformer (a yardstick, not a runtime dependency).
    # serve: mm-serve's web stack (Starlette, uvicorn, python-multipart for uploads); in test
    # too, so that CI's `pip install '.[test]'` runs tests/serve_test.py. selenium drives
    # headless Chromium (Debian's chromium and chromium-driver) in tests/serve_browser_test.py.
    extras_require={"test": ["pytest>=8", "pytest-xdist>=3.8,<4", "ruff>=0.6,<1",
                             "selenium>=4.20,<5", *SERVE],
                    "serve": SERVE,
                    "bench": ["keras-hub>=0.32,<0.33"]},
    entry_points={
        "console_scripts": [
            "mm-datagen = t2t_mm.bin.mm_datagen:console_main",
            "mm-trainer = t2t_mm.bin.mm_trainer:console_main",
            "mm-decoder = t2t_mm.bin.mm_decoder:console_main",
            "mm-export = t2t_mm.bin.mm_export:console_main",
            "mm-experiment = t2t_mm.bin.mm_experiment:console_main",
            "mm-eval = t2t_mm.bin.mm_eval:console_main",
            "mm-serve = t2t_mm.bin.mm_serve:console_main",
            "mm-avg-checkpoints = t2t_mm.bin.mm_avg_checkpoints:console_main",
        ],
        # t2t_mm's own problems, hparams sets, models and modalities, loaded by the registry as
        # plugins are (t2t_mm/builtins.py): the registry imports nothing above it.
        "t2t_mm.components": ["t2t_mm = t2t_mm.builtins"],
    },
)
