"""Building wheels from sources: sdists, project directories (editable or not) and git URLs.

- ``sources``: what a source is, its key in ``built-wheels-v0/`` and its revision
- ``git``: resolving ``git+…@rev`` URLs to a commit, cloning
- ``sdist``: safe unpacking of ``.tar.gz`` / ``.zip`` sdists
- ``env``: isolated build environments whose requirements cachedb installs itself
- ``pep517``: the backend's hooks through ``build`` / ``pyproject-hooks``
- ``provenance``: the revision a built wheel records about its source
- ``policy``: ``--no-build``, ``--no-binary``, ``--only-binary``, ``--refresh-package``
- ``builder``: ``Builder``, which ties them together for one install run

Importing this package imports none of them (a warm install needs only ``policy``);
``build`` and ``pyproject_hooks`` load only when a hook runs.
"""
