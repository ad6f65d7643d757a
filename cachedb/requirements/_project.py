"""The name of a local project directory, read from its static metadata (nothing is built)."""

from __future__ import annotations

from pathlib import Path

from cachedb.errors import UsageError

from .._names import canonical_name

SDIST_SUFFIXES = (".tar.gz", ".zip")
FILE_SUFFIXES = (".whl", *SDIST_SUFFIXES)


def names_a_file(name: str) -> bool:
    """Whether a requirement of this name (as written) is read as the path of a wheel or
    sdist instead ("foo-1.0-py3-none-any.whl" is also a valid project name; nobody means that)."""
    return name.lower().endswith(FILE_SUFFIXES)


def is_project_dir(directory: Path) -> bool:
    return (directory / "pyproject.toml").is_file() or (directory / "setup.py").is_file()


def project_name(directory: Path) -> str:
    """``[project] name`` of pyproject.toml, else ``[metadata] name`` of setup.cfg."""
    # Loaded here: only path and directory requirements need them.
    import configparser
    import tomllib

    pyproject = directory / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    except (OSError, ValueError) as exc:
        # tomllib.TOMLDecodeError and UnicodeDecodeError are ValueErrors.
        raise UsageError(f"cannot read {str(pyproject)!r}: {exc}") from exc
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if isinstance(name, str) and name:
        return canonical_name(name)
    setup_cfg = directory / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(setup_cfg, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {str(setup_cfg)!r}: {exc}") from exc
        cfg_name = parser.get("metadata", "name", fallback="").strip()
        if cfg_name:
            return canonical_name(cfg_name)
    raise UsageError(
        f"cannot tell the project name of {str(directory)!r} from its pyproject.toml or setup.cfg; "
        f"write it as 'NAME @ {directory.as_uri()}'"
    )
