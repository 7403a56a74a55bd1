"""Sixty: one modular backend implementing the 60 projects of the backend roadmap."""

__version__ = "0.1.0"
