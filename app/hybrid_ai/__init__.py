"""Hybrid AI Stack: a routing gateway that serves LLM requests locally when it can."""

__version__ = "0.1.0"
