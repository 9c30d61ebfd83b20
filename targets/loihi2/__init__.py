"""loihi2 backend."""
