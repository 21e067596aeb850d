"""Flux-style layers, optimisers and training (filled by a later issue)."""
