"""Checkpoints (official registry, download, verification) and safe, strict loading of SAM and HQ-SAM."""
