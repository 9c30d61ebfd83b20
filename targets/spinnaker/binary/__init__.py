"""sPyNNaker 1!7.4.1's own ARM binaries on an emulated SpiNNaker-1 core (unicorn)."""
