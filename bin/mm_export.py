"""mm-export: write a trained model's decoding as a SavedModel (two signatures per problem).

  mm-export --output_dir=RUN --export_dir=RUN/export --decode_hparams='beam_size=4'
  mm-export --output_dir=RUN --export_dir=RUN/ende --problems=wmt_ende_mini   # a subset

Signatures: NAME (model tensors in, ids out) and NAME_strings (text, image bytes or wav bytes
in, text out); see t2t_mm/decoding/export.py. Load with `import tensorflow_text` first.
"""

import sys

from absl import flags

from t2t_mm import api
from t2t_mm.bin import common
from t2t_mm.runs import outputs

common.define_registry_flags()
common.define_dir_flags()
common.define_gin_flags()
common.define_input_limits_flag()
flags.DEFINE_string("export_dir", None, "Folder of the SavedModel (default: output_dir/export).")
flags.DEFINE_string("decode_hparams", "", "Search settings baked into the export, e.g. "
                    "'beam_size=4,max_decode_length=50'.")
flags.DEFINE_string("checkpoint_path", None, "Checkpoint to export (default: the latest).")
flags.DEFINE_list("problems", None, "Trained problems to export (comma list; default: all).")
flags.DEFINE_bool("allow_ids_only", False, "Export only the ids signature of a problem whose "
                  "vocabulary has no in-graph form (default: such a problem is an error).")

FLAGS = flags.FLAGS


def main() -> int:
  if common.handle_info_flags():
    return 0
  common.require_output_dir()
  path = api.export(output_dir=FLAGS.output_dir, export_dir=FLAGS.export_dir,
                    problems=FLAGS.problems, decode_hparams=FLAGS.decode_hparams,
                    checkpoint_path=FLAGS.checkpoint_path, gin_files=FLAGS.gin_file,
                    gin_params=FLAGS.gin_param, usr_dir=FLAGS.usr_dir,
                    allow_ids_only=FLAGS.allow_ids_only, input_limits=FLAGS.input_limits)
  names = FLAGS.problems or [p["name"] for p in outputs.read_run_problems(FLAGS.output_dir)[
      "problems"]]
  strings = ("NAME_strings where the vocabulary has an in-graph form (warned above where not)"
             if FLAGS.allow_ids_only else "NAME_strings")
  print(f"SavedModel written to {path}: signatures NAME and {strings} for "
        f"{', '.join(sorted(names))}.", file=sys.stderr)
  return 0


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
