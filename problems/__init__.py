"""Registered problems and suites (installed as t2t_mm.problems). Importing registers them."""
