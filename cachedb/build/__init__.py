"""Building wheels from source distributions, local projects and git (PEP 517)."""
