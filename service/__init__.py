"""Samverkan KG: a knowledge graph and SPARQL service on how Swedish municipalities lead and govern samverkan."""

__version__ = "0.1.0"
