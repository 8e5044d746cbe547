"""Small in-memory problems and a tiny model that follow the t2t_mm contracts, for tests, and
the uncached reference greedy decoder (reference_decode) that cached decoding is checked
against."""
