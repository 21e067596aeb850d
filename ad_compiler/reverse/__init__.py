"""The reverse transform: the forward sweep, the tape, and the adjoint sweep."""
