"""Flags shared by the mm-* tools, and the wrapper that turns user errors into clean exits.

Only bin/ reads flags: each tool turns them into plain arguments of library calls.
"""

import dataclasses
import sys
from typing import Callable, Dict

from absl import app
from absl import flags
from absl import logging

from t2t_mm import errors
from t2t_mm import plugins
from t2t_mm import registry
from t2t_mm.config import hparams as hparams_lib
from t2t_mm.config import paths
from t2t_mm.config import typed
from t2t_mm.config.trainer_config import TrainerConfig
from t2t_mm.runs import outputs

FLAGS = flags.FLAGS


def define_registry_flags() -> None:
  flags.DEFINE_string("usr_dir", None, "Folder of a Python package with your own problems and "
                      "hparams sets; imported before anything is looked up.")
  flags.DEFINE_bool("registry_help", False, "Print every registered problem, suite, hparams "
                    "set, model and modality, then exit.")


def define_dir_flags() -> None:
  flags.DEFINE_string("data_dir", None, "Folder of generated TFRecord shards and vocabularies.")
  flags.DEFINE_string("tmp_dir", paths.DEFAULT_TMP_DIR, "Folder of raw downloads and manual data.")
  flags.DEFINE_string("output_dir", None, "Folder of checkpoints, hparams.json, gin config and "
                      "summaries of one run.")


def define_hparams_flags() -> None:
  flags.DEFINE_string("hparams_set", None, "Registered hparams set, e.g. multimodel_tiny. "
                      "Optional when --output_dir holds an hparams.json.")
  flags.DEFINE_string("hparams", "", "Overrides, e.g. 'hidden_size=64,moe_encoder_layers=[0,2]'. "
                      "Precedence: hparams set < output_dir/hparams.json < --hparams.")
  flags.DEFINE_bool("hparams_help", False, "Print every hparam with its type, default and "
                    "meaning (and its value in --hparams_set when given), then exit.")


def define_input_limits_flag() -> None:
  flags.DEFINE_string("input_limits", "", "Size limits of the inputs users give, e.g. "
                      "'max_image_bytes=5000000,max_input_chars=1000' (fields of "
                      "t2t_mm.config.input_limits.InputLimits: max_input_chars, "
                      "max_image_bytes, max_image_pixels, max_audio_bytes).")


def define_gin_flags() -> None:
  flags.DEFINE_multi_string("gin_file", [], "Gin files binding arguments of registered "
                            "components (not hparams).")
  flags.DEFINE_multi_string("gin_param", [], "Gin bindings, e.g. "
                            "'problems.wmt_ende_mini.num_train_examples = 2000'.")


def define_trainer_flags() -> None:
  """One flag per TrainerConfig field, of its name, type and help: TrainerConfig is the one
  description of the trainer's settings. Unset (None), a field keeps gin's binding or its
  default (trainer_settings)."""
  types = typed.field_types(TrainerConfig)
  define = {int: flags.DEFINE_integer, bool: flags.DEFINE_boolean, str: flags.DEFINE_string}
  for name, _, default, help_text in typed.describe(TrainerConfig):
    define[types[name]](name, None, f"{help_text} (default: {default!r}, or gin's "
                        f"trainer.TrainerConfig.{name})")


def trainer_settings() -> Dict[str, object]:
  """{TrainerConfig field: value} of the trainer flags given (define_trainer_flags)."""
  return {f.name: FLAGS[f.name].value for f in dataclasses.fields(TrainerConfig)
          if FLAGS[f.name].value is not None}


def load_run_plugins(output_dir) -> None:
  """The plugins a run was trained with, unless --usr_dir names the folder to use instead."""
  if output_dir and not FLAGS.usr_dir:
    for usr_dir in outputs.load_run_plugins(output_dir):
      print(f"Loaded the run's plugin {usr_dir} (pass --usr_dir to use another).",
            file=sys.stderr)


def require_output_dir() -> str:
  if not FLAGS.output_dir:
    raise errors.ConfigError("--output_dir is required: the folder the trainer wrote.")
  load_run_plugins(FLAGS.output_dir)
  return FLAGS.output_dir


def handle_info_flags() -> bool:
  """Imports --usr_dir, prints --registry_help / --hparams_help; True if the tool should exit."""
  if FLAGS.usr_dir:
    plugins.import_usr_dir(FLAGS.usr_dir)
  if FLAGS.registry_help:
    print(registry.help_string())
    return True
  if "hparams_help" in FLAGS and FLAGS.hparams_help:
    chosen = registry.hparams(FLAGS.hparams_set) if FLAGS.hparams_set else None
    if chosen is not None:
      print(f"hparams set {FLAGS.hparams_set}: its value of each hparam, then the default.")
    for name, type_name, default, help_text in typed.describe(hparams_lib.HParams):
      value = (f"{FLAGS.hparams_set} {getattr(chosen, name)!r}, " if chosen is not None
               else "")
      print(f"{name} ({type_name}, {value}default {default!r}): {help_text}")
    return True
  return False


_HELP_FLAGS = {"--help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml"}


def _show_tool_flags_in_help(tool_module: str) -> None:
  """Makes `--help` list the tool's own flags and the shared ones, under the tool's docstring.

  absl's --help prints the docstring of __main__ and the flags that module defined; run as an
  installed console script, __main__ is pip's wrapper, which defines none.
  """
  module = sys.modules[tool_module]
  main_module = sys.modules["__main__"]
  if main_module is not module:
    main_module.__doc__ = module.__doc__
  for name in (tool_module, __name__):
    for flag in FLAGS.get_flags_for_module(name):
      FLAGS.register_key_flag_for_module(sys.argv[0], flag)


def run(main: Callable[[], int]) -> None:
  """Runs `main` under absl: unknown flags and user errors exit non-zero with a clear message."""
  prog = sys.argv[0].rsplit("/", 1)[-1]
  _show_tool_flags_in_help(main.__module__)

  def _parse_flags(argv):
    # absl's own parser prints two lines and exits 1; a bad flag is bad input: one line, 2.
    try:
      argv = FLAGS(argv)
    except flags.Error as e:
      print(f"{prog}: error: {e}", file=sys.stderr)
      sys.exit(2)
    if len(argv) > 1:
      print(f"{prog}: error: unexpected arguments {argv[1:]}; every setting is a --flag.",
            file=sys.stderr)
      sys.exit(2)
    return argv

  def _main(argv):
    del argv
    if not FLAGS["verbosity"].present:
      # TensorFlow's Python code logs routine INFO through absl (a "Sharding callback
      # duration" per checkpoint); the tools print what a user needs themselves.
      logging.set_verbosity(logging.WARNING)
    try:
      return main()
    except errors.T2TMMError as e:
      print(f"{prog}: error: {e}", file=sys.stderr)
      return 2

  try:
    app.run(_main, flags_parser=_parse_flags)
  except SystemExit as e:
    # absl's help flags print the help, then exit 1; asking for help is not a failure.
    if e.code == 1 and set(sys.argv[1:]) & _HELP_FLAGS:
      sys.exit(0)
    raise
