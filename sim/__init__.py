"""Finite-N simulation: data, exact enumeration, vectorized training, measurements."""
