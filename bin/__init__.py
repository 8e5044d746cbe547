"""Command-line tools (installed as t2t_mm.bin): flags in, library calls out."""
