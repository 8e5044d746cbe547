"""mm-serve: one page and a JSON API over one loaded run (app.py); needs t2t_mm[serve]."""
