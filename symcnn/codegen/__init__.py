"""Code generation: exact derivations turned into specialized NumPy kernels."""
