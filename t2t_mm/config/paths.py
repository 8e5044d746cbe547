"""Default folders, stated once (the tools' flags and the library's arguments use these)."""

# Raw downloads and manually placed data that datagen reads (mm-datagen, mm-trainer
# --generate_data, mm-experiment): --tmp_dir.
DEFAULT_TMP_DIR = "/tmp/t2t_mm_datagen"
