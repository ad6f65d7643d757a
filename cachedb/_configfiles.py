"""Finding and reading configuration files: the project's, the user's, or the one named.

- ``CACHEDB_CONFIG_FILE`` (``--config-file``): that file alone, keys at the top.
- The project: from the working directory upwards, the first directory with a
  ``cachedb.toml``, or a ``pyproject.toml`` that has a ``[tool.cachedb]`` table.
- The user: ``cachedb.toml`` in the platform's user configuration directory.
- ``CACHEDB_NO_CONFIG`` (``--no-config``): none of them.

tomllib is imported only when a file is there to read: a run without
configuration pays a few ``stat`` calls. Paths are plain strings here (``pathlib``,
with the ``urllib.parse`` it loads, costs ``--help`` and ``venv`` a sixth of their
start-up); a ``Path`` is made only where one is given out.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

from cachedb._settings import SETTINGS, Configuration, Setting, Source
from cachedb.errors import UsageError

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from pathlib import Path

CONFIG_FILE_ENV = "CACHEDB_CONFIG_FILE"
NO_CONFIG_ENV = "CACHEDB_NO_CONFIG"
FILENAME = "cachedb.toml"
PYPROJECT_TABLE = "[tool.cachedb]"
# A pyproject.toml is parsed only if this could be in it (most are someone else's).
_MENTIONS_US = re.compile(rb"tool\s*\.\s*[\"']?cachedb")
_FALSE = {"", "0", "false", "no", "off"}


def user_config_dir() -> Path:
    from pathlib import Path

    return Path(_user_config_dir())


def _user_config_dir() -> str:
    if sys.platform.startswith("linux"):
        # What platformdirs answers here, without importing it on every run.
        xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
        return os.path.join(xdg or os.path.expanduser("~/.config"), "cachedb")
    import platformdirs

    return str(platformdirs.user_config_dir("cachedb", appauthor=False))


def load(
    *,
    cwd: str | os.PathLike[str] | None = None,
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
        from pathlib import Path

        given = Path(named).expanduser().absolute()
        if not given.is_file():
            raise UsageError(f"configuration file {given} does not exist")
        return Configuration((_read(str(given), pyproject=False, warn=warn),))
    files = []
    project = _project_file(os.getcwd() if cwd is None else os.fspath(cwd), warn)
    if project is not None:
        files.append(project)
    user = os.path.join(_user_config_dir(), FILENAME)
    if os.path.isfile(user):
        files.append(_read(user, pyproject=False, warn=warn))
    return Configuration(tuple(files))


def _project_file(start: str, warn: bool) -> Source | None:
    directory = start
    while True:
        own = os.path.join(directory, FILENAME)
        if os.path.isfile(own):
            return _read(own, pyproject=False, warn=warn)
        pyproject = os.path.join(directory, "pyproject.toml")
        try:
            data = _read_bytes(pyproject)
        except OSError:
            data = b""
        if _MENTIONS_US.search(data):
            source = _read(pyproject, pyproject=True, warn=warn, data=data)
            if source is not None:
                return source
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _read(path: str, *, pyproject: bool, warn: bool, data: bytes | None = None) -> Source:
    import tomllib

    try:
        text = (_read_bytes(path) if data is None else data).decode("utf-8")
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
        values[key] = _checked(setting, raw, where, os.path.dirname(path))
    return Source(path, PYPROJECT_TABLE if pyproject else "", values)


def _checked(setting: Setting, raw: object, where: str, base: str) -> object:
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
        from pathlib import Path

        # Relative to the file that says it, wherever the command runs.
        return str(Path(base) / Path(raw).expanduser())
    return raw
