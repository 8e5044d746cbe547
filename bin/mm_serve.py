"""mm-serve: a web page and a JSON API over one trained run (needs `pip install 't2t_mm[serve]'`).

  mm-serve --output_dir=RUN                      # http://127.0.0.1:8080/
  mm-serve --output_dir=RUN --port=9000 --input_limits='max_image_bytes=5000000'

GET /api/problems and POST /api/decode (JSON or a multipart form with a file); see the
README's "In the browser" and t2t_mm/serve/app.py.
"""

import sys

from absl import flags

from t2t_mm import api
from t2t_mm import errors
from t2t_mm.bin import common
from t2t_mm.decoding import threads

common.define_registry_flags()
common.define_dir_flags()
common.define_gin_flags()
common.define_input_limits_flag()
flags.DEFINE_string("host", "127.0.0.1", "Address to listen on; another than this machine's "
                    "own serves the run to whoever can reach it.")
flags.DEFINE_integer("port", 8080, "Port to listen on.")
flags.DEFINE_integer("queue_size", 16, "Requests that may wait while one decodes; one more is "
                     "answered 503.")
flags.DEFINE_string("decode_hparams", "", "Default search settings, e.g. "
                    "'max_decode_length=50'; requests choose beam_size, alpha and "
                    "sampling_temperature.")
flags.DEFINE_string("checkpoint_path", None, "Checkpoint to restore (default: the latest; "
                    "'best': the trainer's best).")
flags.DEFINE_integer("threads", 0, "CPU threads; 0: one (one input at a time decodes fastest "
                     "on one).")

FLAGS = flags.FLAGS

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def main() -> int:
  if common.handle_info_flags():
    return 0
  try:
    import uvicorn
    from t2t_mm.serve import app as app_lib
  except ImportError as e:
    raise errors.ConfigError(f"mm-serve needs the serve extra ({e.name} is missing): "
                             "pip install 't2t_mm[serve]'.") from None
  if not 0 <= FLAGS.port <= 65535:
    raise errors.ConfigError(f"--port must be in 0..65535, got {FLAGS.port}.")
  if FLAGS.host not in LOCAL_HOSTS:
    print(f"mm-serve: warning: --host={FLAGS.host} serves the run to every machine that can "
          "reach this address, without authentication.", file=sys.stderr)
  common.require_output_dir()
  threads.configure(threads.decode_threads(1, FLAGS.threads))
  run = api.load_run(FLAGS.output_dir, checkpoint_path=FLAGS.checkpoint_path,
                     decode_hparams=FLAGS.decode_hparams, input_limits=FLAGS.input_limits,
                     gin_files=FLAGS.gin_file, gin_params=FLAGS.gin_param, usr_dir=FLAGS.usr_dir)
  app = app_lib.make_app(run, FLAGS.queue_size)
  print(f"Serving {FLAGS.output_dir} ({', '.join(run.problems)}) on "
        f"http://{FLAGS.host}:{FLAGS.port}/ (Ctrl-C stops).", file=sys.stderr, flush=True)
  uvicorn.run(app, host=FLAGS.host, port=FLAGS.port, log_level="warning")
  return 0


def console_main() -> None:
  common.run(main)


if __name__ == "__main__":
  console_main()
