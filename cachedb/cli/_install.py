"""Placeholder; replaced by the command module."""
