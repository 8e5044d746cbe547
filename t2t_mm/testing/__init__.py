"""Small in-memory problems and a tiny model that follow the t2t_mm contracts, for tests."""
