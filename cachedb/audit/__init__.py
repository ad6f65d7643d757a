"""Auditing the cache: read-only SQL, listings, a summary, and database-versus-disk checks.

Each command lives in its own module (``sql``, ``ls``, ``info``, ``verify``);
import them directly so a command loads only what it uses.
"""
