"""Measuring SAM vs HQ-SAM: datasets, prompt protocols, the resumable runner, speed and size, result plots,
the paper's published numbers. The command line is ``python -m hqsam_nb.evaluate``."""
