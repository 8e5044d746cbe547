"""Registered models (registry.model(name)): the MultiModel and its body parts."""

from t2t_mm.models import multimodel  # noqa: F401
