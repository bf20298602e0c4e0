"""Inputs and outputs: images in, sample and synthetic images, mask exports, atomic writes."""
