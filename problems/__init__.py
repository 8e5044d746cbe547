"""Registered problems and suites (installed as t2t_mm.problems). Importing registers them."""

from t2t_mm.problems import mini  # noqa: F401  pylint: disable=unused-import
