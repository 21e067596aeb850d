"""The optimiser: folding, copies, dead code, CSE, hoisting and residuals."""
