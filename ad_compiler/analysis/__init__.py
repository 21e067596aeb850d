"""Analyses of the normalised function: kinds, activity, calls, aliasing and ownership."""
