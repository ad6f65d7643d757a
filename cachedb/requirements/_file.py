"""Requirements files in pip's syntax: comments, continuations, ${VARS}, options."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from cachedb.errors import UsageError

from ._hashes import parse_hash_option
from ._line import URL_SCHEME, absolute_path, parse_requirement
from ._lines import COMMENT, MAX_FILE, logical_lines, split_options
from ._model import InputRequirement, RequirementSet

# Only the exact ${NAME} form is expanded.
_ENV_VAR = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)\}")

# ``-r -``: standard input, as in uv.
STDIN = Path("-")

_SHORT = {
    "-r": "--requirement",
    "-c": "--constraint",
    "-e": "--editable",
    "-i": "--index-url",
    "-f": "--find-links",
}
_TAKES_VALUE = frozenset(
    {
        "--requirement",
        "--constraint",
        "--editable",
        "--index-url",
        "--extra-index-url",
        "--find-links",
        "--hash",
        "--trusted-host",
        "--only-binary",
        "--no-binary",
    }
)
_FLAGS = frozenset({"--no-index", "--pre", "--require-hashes", "--prefer-binary"})
# Options pip accepts that change nothing for a wheel-only, HTTPS-verifying installer.
_IGNORED = frozenset({"--trusted-host", "--only-binary", "--no-binary", "--prefer-binary"})


def parse_requirements_file(
    path: str | Path,
    *,
    constraint: bool = False,
    environ: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> RequirementSet:
    """Read a requirements (or, with ``constraint``, constraints) file and what it includes;
    ``data``: the regular file's content, already read (then parsed exactly as read)."""
    parser = _Parser(os.environ if environ is None else environ)
    location = STDIN if str(path) == "-" else absolute_path(str(path), None)
    parser.parse_file(location, constraint=constraint, where=None, data=data)
    return parser.result


class _Parser:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.result = RequirementSet()
        self._stack: list[Path] = []

    def parse_file(
        self, path: Path, *, constraint: bool, where: str | None, data: bytes | None = None
    ) -> None:
        prefix = f"{where}: " if where else ""
        key = _identity(path)
        if key in self._stack:
            chain = " -> ".join(str(p) for p in [*self._stack[self._stack.index(key) :], key])
            raise UsageError(f"{prefix}requirements files include each other in a loop: {chain}")
        text, regular = _read(path, prefix) if data is None else (_decode(data, path, ""), True)
        # A pipe's name (/dev/fd/63, /dev/stdin, -) says nothing of where its paths live.
        base = path.parent if regular else Path.cwd()
        self._stack.append(key)
        try:
            for number, line in logical_lines(text):
                self._parse_line(path, base, number, line, constraint)
        finally:
            self._stack.pop()

    def _parse_line(self, path: Path, base: Path, number: int, raw: str, constraint: bool) -> None:
        line = COMMENT.sub("", raw).strip()
        if not line:
            return
        line = _ENV_VAR.sub(lambda m: self.environ.get(m["name"], m[0]), line)
        where = f"{path}:{number}"
        comes_from = f"{'-c' if constraint else '-r'} {path} (line {number})"
        requirement_text, options_text = split_options(line)
        try:
            options = _parse_options(options_text)
            if requirement_text:
                req = self._requirement(requirement_text, options, comes_from, base)
                self._add(req, constraint)
                return
        except UsageError as exc:
            raise UsageError(f"{where}: {exc.message}") from exc
        for name, value in options:
            if name in ("--requirement", "--constraint"):
                if URL_SCHEME.match(value):
                    raise UsageError(f"{where}: requirements files from URLs are not supported")
                # Inside a constraints file everything included is a constraint too.
                nested = constraint or name == "--constraint"
                try:
                    target = absolute_path(value, base)
                except UsageError as exc:
                    raise UsageError(f"{where}: {exc.message}") from exc
                self.parse_file(target, constraint=nested, where=where)
                continue
            try:
                self._apply(name, value, comes_from, base, constraint)
            except UsageError as exc:
                raise UsageError(f"{where}: {exc.message}") from exc

    def _requirement(
        self, text: str, options: list[tuple[str, str]], comes_from: str, base: Path
    ) -> InputRequirement:
        hashes = set()
        for name, value in options:
            if name != "--hash":
                raise UsageError(f"option {name} must be on a line of its own")
            hashes.add(parse_hash_option(value))
        req = parse_requirement(text, comes_from=comes_from, base_dir=base)
        return req._replace(hashes=req.hashes | hashes) if hashes else req

    def _add(self, req: InputRequirement, constraint: bool) -> None:
        if not constraint:
            self.result.requirements.append(req)
            return
        # Same limits as pip: a constraint narrows versions, it cannot add anything.
        if req.editable:
            raise UsageError("editable requirements are not allowed in constraints files")
        if req.requirement.extras:
            raise UsageError(f"constraints cannot have extras: {req.requirement.name}")
        self.result.constraints.append(req)

    def _apply(
        self, name: str, value: str, comes_from: str, base_dir: Path, constraint: bool
    ) -> None:
        result = self.result
        if name == "--editable":
            from ._editable import parse_editable  # most files have no -e lines

            self._add(parse_editable(value, comes_from=comes_from, base_dir=base_dir), constraint)
        elif name == "--index-url":
            result.index_url = value
        elif name == "--extra-index-url":
            if value not in result.extra_index_urls:
                result.extra_index_urls.append(value)
        elif name == "--find-links":
            location = value if URL_SCHEME.match(value) else str(absolute_path(value, base_dir))
            if location not in result.find_links:
                result.find_links.append(location)
        elif name == "--no-index":
            result.no_index = True
        elif name == "--pre":
            result.pre = True
        elif name == "--require-hashes":
            result.require_hashes = True
        elif name == "--hash":
            raise UsageError("--hash must follow a requirement on the same line")
        else:
            assert name in _IGNORED, name


def _identity(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError):
        return path


def _read(path: Path, prefix: str) -> tuple[str, bool]:
    """The file's text, and whether it is a regular file (not a pipe, a terminal, stdin)."""
    try:
        if path == STDIN:
            return _decode(sys.stdin.buffer.read(MAX_FILE + 1), path, prefix), False
        if not path.exists():
            raise UsageError(f"{prefix}requirements file not found: {path}")
        if path.is_dir():
            raise UsageError(f"{prefix}requirements file is a directory: {path}")
        regular = path.is_file()
        with path.open("rb") as f:
            data = f.read(MAX_FILE + 1)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"{prefix}cannot read requirements file {path}: {reason}") from exc
    return _decode(data, path, prefix), regular


def _decode(data: bytes, path: Path, prefix: str) -> str:
    if len(data) > MAX_FILE:
        raise UsageError(f"{prefix}requirements file {path} is larger than 64 MiB")
    try:
        # "utf-8-sig" without loading its codec module: drop one BOM, decode UTF-8.
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{prefix}requirements file {path} is not UTF-8 text (byte {exc.start})"
        ) from exc


def _parse_options(text: str) -> list[tuple[str, str]]:
    """Parse option words into (long name, value) pairs; flags get the value ""."""
    if not text:
        return []
    import shlex  # only lines with options (--hash) get here

    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"cannot parse options {text!r}: {exc}") from exc
    options: list[tuple[str, str]] = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        value: str | None
        if word.startswith("--"):
            name, eq, attached = word.partition("=")
            value = attached if eq else None
        elif word.startswith("-") and len(word) > 1:
            name, value = _SHORT.get(word[:2], word[:2]), word[2:] or None
        else:
            raise UsageError(f"unexpected argument {word!r}")
        if name not in _TAKES_VALUE and name not in _FLAGS:
            raise UsageError(f"unknown option {name!r}")
        if name in _FLAGS:
            if value is not None:
                raise UsageError(f"option {name} takes no value")
            value = ""
        elif value is None:
            if index >= len(words):
                raise UsageError(f"option {name} needs a value")
            value = words[index]
            index += 1
        options.append((name, value))
    return options
