"""Evaluation of trained runs on whole splits (mm-eval); see full_split.py."""
