"""Generators of the embedded all8_mini problems: a grammar (EN/DE/FR + trees), rendered
scenes, and synthesized speech. Deterministic by seed; no downloads."""
