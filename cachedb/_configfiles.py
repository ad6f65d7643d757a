"""Finding and reading configuration files: the project's, the user's, or the one named.

- ``CACHEDB_CONFIG_FILE`` (``--config-file``): that file alone, keys at the top.
- The project: from the working directory upwards, the first directory with a
  ``cachedb.toml``, or a ``pyproject.toml`` that has a ``[tool.cachedb]`` table.
- The user: ``cachedb.toml`` in the platform's user configuration directory.
- ``CACHEDB_NO_CONFIG`` (``--no-config``): none of them.

tomllib is imported only when a file is there to read: a run without
configuration pays a few ``stat`` calls.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from cachedb._settings import SETTINGS, Configuration, Setting, Source
from cachedb.errors import UsageError

CONFIG_FILE_ENV = "CACHEDB_CONFIG_FILE"
NO_CONFIG_ENV = "CACHEDB_NO_CONFIG"
FILENAME = "cachedb.toml"
PYPROJECT_TABLE = "[tool.cachedb]"
# A pyproject.toml is parsed only if this could be in it (most are someone else's).
_MENTIONS_US = re.compile(rb"tool\s*\.\s*[\"']?cachedb")
_FALSE = {"", "0", "false", "no", "off"}


def user_config_dir() -> Path:
    if sys.platform.startswith("linux"):
        # What platformdirs answers here, without importing it on every run.
        xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
        return Path(xdg or os.path.expanduser("~/.config")) / "cachedb"
    import platformdirs

    return Path(platformdirs.user_config_dir("cachedb", appauthor=False))


def load(
    *,
    cwd: Path | None = None,
    config_file: str | None = None,
    no_config: bool = False,
    environ: Mapping[str, str] | None = None,
    warn: bool = True,
) -> Configuration:
    """The configuration in force; a file that cannot be used is a UsageError."""
    env = os.environ if environ is None else environ
    if no_config or env.get(NO_CONFIG_ENV, "").strip().lower() not in _FALSE:
        return Configuration()
    named = config_file or env.get(CONFIG_FILE_ENV)
    if named:
        path = Path(named).expanduser().absolute()
        if not path.is_file():
            raise UsageError(f"configuration file {path} does not exist")
        return Configuration((_read(path, pyproject=False, warn=warn),))
    files = []
    project = _project_file(cwd or Path.cwd(), warn)
    if project is not None:
        files.append(project)
    user = user_config_dir() / FILENAME
    if user.is_file():
        files.append(_read(user, pyproject=False, warn=warn))
    return Configuration(tuple(files))


def _project_file(start: Path, warn: bool) -> Source | None:
    for directory in [start, *start.parents]:
        own = directory / FILENAME
        if own.is_file():
            return _read(own, pyproject=False, warn=warn)
        pyproject = directory / "pyproject.toml"
        try:
            data = pyproject.read_bytes()
        except OSError:
            continue
        if _MENTIONS_US.search(data):
            source = _read(pyproject, pyproject=True, warn=warn, data=data)
            if source is not None:
                return source
    return None


def _read(path: Path, *, pyproject: bool, warn: bool, data: bytes | None = None) -> Source:
    import tomllib

    try:
        text = (path.read_bytes() if data is None else data).decode("utf-8")
        document = tomllib.loads(text)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    table: object = document
    if pyproject:
        tool = document.get("tool")
        table = tool.get("cachedb", {}) if isinstance(tool, dict) else {}
        if not isinstance(table, dict):
            raise UsageError(f"{path}: {PYPROJECT_TABLE} must be a table")
    assert isinstance(table, dict)
    where = f"{path} {PYPROJECT_TABLE}" if pyproject else str(path)
    values: dict[str, object] = {}
    for key, raw in table.items():
        setting = SETTINGS.get(key)
        if setting is None:
            message = f"{where}: unknown setting {key!r} (known: {', '.join(SETTINGS)})"
            # As uv: a tool's table in a shared pyproject.toml warns, its own file refuses.
            if not pyproject:
                raise UsageError(message)
            if warn:
                from cachedb._color import paint

                sys.stderr.write(f"{paint('warning:', 'warning', sys.stderr)} {message}; ignored\n")
            continue
        values[key] = _checked(setting, raw, where, path.parent)
    return Source(str(path), PYPROJECT_TABLE if pyproject else "", values)


def _checked(setting: Setting, raw: object, where: str, base: Path) -> object:
    kind = setting.kind
    ok = {
        "str": isinstance(raw, str),
        "path": isinstance(raw, str),
        "bool": isinstance(raw, bool),
        "int": isinstance(raw, int) and not isinstance(raw, bool),
        "float": isinstance(raw, int | float) and not isinstance(raw, bool),
        "list": isinstance(raw, str)
        or (isinstance(raw, list) and all(isinstance(v, str) for v in raw)),
    }[kind]
    if not ok:
        wanted = {
            "str": "a string",
            "path": "a path (string)",
            "bool": "true or false",
            "int": "a whole number",
            "float": "a number",
            "list": "a string or a list of strings",
        }[kind]
        raise UsageError(f"{where}: {setting.name} must be {wanted}, not {raw!r}")
    if kind == "list" and isinstance(raw, str):
        return [raw]
    if kind == "path" and isinstance(raw, str):
        # Relative to the file that says it, wherever the command runs.
        return str(base / Path(raw).expanduser())
    return raw
