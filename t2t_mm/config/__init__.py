"""Typed configuration: hparams (dataclasses) and gin (component wiring)."""
