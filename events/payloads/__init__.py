"""Realistic payload factories for the event catalog; see generator.py."""

from events.payloads.generator import PayloadGenerator, example

__all__ = ["PayloadGenerator", "example"]
