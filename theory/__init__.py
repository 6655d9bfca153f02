"""Replica theory of binary neural networks: free entropies, saddle points, thresholds."""
