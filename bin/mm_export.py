"""mm-export: write a trained model's decoding as a SavedModel (two signatures per problem).

  mm-export --output_dir=RUN --export_dir=RUN/export --decode_hparams='beam_size=4'
  mm-export --output_dir=RUN --export_dir=RUN/ende --problems=wmt_ende_mini   # a subset

Signatures: NAME (model tensors in, ids out) and NAME_strings (text, image bytes or wav bytes
in, text out); see t2t_mm/decoding/export.py. Load with `import tensorflow_text` first.
"""

import os
import sys

from absl import flags

from t2t_mm.bin import common
from t2t_mm.runs import outputs
from t2t_mm.runs import resolve
from t2t_mm.decoding import export
from t2t_mm.decoding import loading

common.define_registry_flags()
common.define_dir_flags()
common.define_gin_flags()
flags.DEFINE_string("export_dir", None, "Folder of the SavedModel (default: output_dir/export).")
flags.DEFINE_string("decode_hparams", "", "Search settings baked into the export, e.g. "
                    "'beam_size=4,max_decode_length=50'.")
flags.DEFINE_string("checkpoint_path", None, "Checkpoint to export (default: the latest).")
flags.DEFINE_list("problems", None, "Trained problems to export (comma list; default: all).")

FLAGS = flags.FLAGS


def main() -> int:
  if common.handle_info_flags():
    return 0
  common.require_output_dir()
  dhp = resolve.resolve_decode_hparams(FLAGS.decode_hparams)
  export_dir = FLAGS.export_dir or os.path.join(FLAGS.output_dir, "export")
  outputs.check_output_path(FLAGS.output_dir, export_dir, "--export_dir")
  export.check_export_dir(export_dir)  # Before the model loads and traces (minutes).
  run = loading.open_run(FLAGS.output_dir, FLAGS.gin_file, FLAGS.gin_param,
                         checkpoint=FLAGS.checkpoint_path)
  names = FLAGS.problems or list(run.specs)
  path = export.export_run(run, export_dir, dhp, names)
  print(f"SavedModel written to {path}: signatures NAME and NAME_strings for "
        f"{', '.join(sorted(names))}.", file=sys.stderr)
  return 0


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
