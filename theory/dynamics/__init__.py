"""Dynamics: DMFT of two-layer gradient flow, its limits, and AMP state evolution."""
