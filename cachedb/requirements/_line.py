"""One requirement: a PEP 508 string, a local wheel path, or a wheel URL."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from cachedb.errors import UsageError

from .._names import canonical_name
from .._pep508 import InvalidRequirement, Requirement, parse_pep508
from .._redact import redact_url
from ._hashes import HEX_LENGTHS, normalise_hash
from ._model import InputRequirement
from ._project import FILE_SUFFIXES, SDIST_SUFFIXES, is_project_dir, names_a_file, project_name
from ._wheelname import parse_wheel_name

URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_EXTRAS_SUFFIX = re.compile(r"^(?P<location>.*?)(?P<extras>\[[^\[\]]*\])?$", re.DOTALL)
# Fragment keys that look like hashes but that we cannot verify safely.
_WEAK_HASHES = frozenset({"md5", "sha1", "sha224"})
_GIT_SCHEMES = ("git+https", "git+http", "git+ssh", "git+file", "git+git")
UNSUPPORTED = "expected a wheel, an sdist (.tar.gz, .zip), a project directory or a git+ URL"


def parse_requirement(
    text: str, *, comes_from: str = "command line", base_dir: Path | None = None
) -> InputRequirement:
    """Parse one requirement as typed on the command line or in a requirements file.

    Relative wheel paths are taken relative to ``base_dir`` (default: the working
    directory). Raises UsageError with a one-line message for anything else.
    """
    stripped = text.strip()
    if not stripped:
        raise UsageError("empty requirement")
    if URL_SCHEME.match(stripped):
        return _from_url(stripped, comes_from)
    try:
        req = parse_pep508(stripped)
    except InvalidRequirement as exc:
        if _looks_like_path(stripped, base_dir):
            return _from_path(stripped, comes_from, base_dir)
        raise invalid_requirement(stripped, exc) from exc
    if req.url is None and names_a_file(req.name):
        return _from_path(stripped, comes_from, base_dir)
    if req.url is not None:
        return _from_named_url(req, stripped, comes_from)
    return InputRequirement(req, None, frozenset(), comes_from)


def invalid_requirement(text: str, exc: Exception) -> UsageError:
    """The one-line error for text that packaging cannot parse."""
    lines = str(exc).splitlines()
    reason = redact_url(lines[0]) if lines else type(exc).__name__
    return UsageError(f"invalid requirement {redact_url(text)!r}: {reason}")


def split_extras(location: str) -> tuple[str, str]:
    """Split ``./dist/x.whl[a,b]`` into the location and ``[a,b]``."""
    match = _EXTRAS_SUFFIX.match(location)
    assert match is not None  # the pattern matches every string
    return match["location"].strip(), match["extras"] or ""


def absolute_path(location: str, base_dir: Path | None) -> Path:
    """``location`` made absolute against ``base_dir`` or the working directory."""
    base = base_dir if base_dir is not None else Path.cwd()
    try:
        return Path(os.path.abspath(base / location))
    except (OSError, ValueError) as exc:
        raise UsageError(f"invalid path {location!r}: {exc}") from exc


def _looks_like_path(text: str, base_dir: Path | None) -> bool:
    location, _ = split_extras(_split_marker(text, ";")[0])
    if "://" in location:
        # A broken "name @ https://..." line: report the syntax error, not a path.
        return False
    if location.lower().endswith(FILE_SUFFIXES):
        return True
    separators = {"/", os.sep, os.altsep or "/"}
    if not (location.startswith(".") or any(sep in location for sep in separators)):
        return False
    # A mistyped requirement with a "/" in it is more likely than a non-wheel path:
    # only call it a path when something is there.
    try:
        return absolute_path(location, base_dir).exists()
    except UsageError:
        return False


def _split_marker(text: str, separator: str) -> tuple[str, str]:
    location, sep, marker = text.partition(separator)
    return location.strip(), marker.strip() if sep else ""


def _from_path(text: str, comes_from: str, base_dir: Path | None) -> InputRequirement:
    # URLs may contain ";" so pip only splits them at "; "; paths split at ";".
    location, marker = _split_marker(text, ";")
    location, extras = split_extras(location)
    path = absolute_path(location, base_dir)
    try:
        is_file, is_dir, exists = path.is_file(), path.is_dir(), path.exists()
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot use path {str(path)!r}: {exc}") from exc
    if is_dir:
        if not is_project_dir(path):
            raise UsageError(f"directory {str(path)!r} has neither a pyproject.toml nor a setup.py")
        url = path.as_uri()
        return InputRequirement(
            _build(project_name(path), extras, url, marker, text), url, frozenset(), comes_from
        )
    lowered = path.name.lower()
    if not lowered.endswith(FILE_SUFFIXES):
        raise UsageError(f"unsupported path {str(path)!r}: {UNSUPPORTED}")
    what = "wheel" if lowered.endswith(".whl") else "sdist"
    if not is_file:
        state = "is not a file" if exists else "does not exist"
        raise UsageError(f"{what} file {str(path)!r} {state}")
    name = parse_wheel_name(path.name)[0] if what == "wheel" else _sdist_name(path.name)
    url = path.as_uri()
    return InputRequirement(_build(name, extras, url, marker, text), url, frozenset(), comes_from)


def _from_url(text: str, comes_from: str) -> InputRequirement:
    location, marker = _split_marker(text, "; ")
    url, hashes, name = check_direct_url(location)
    if name is None:
        shown = redact_url(location)
        raise UsageError(f"cannot tell which project {shown!r} is: write it as 'NAME @ {shown}'")
    return InputRequirement(_build(name, "", url, marker, text), url, hashes, comes_from)


def _from_named_url(req: Requirement, text: str, comes_from: str) -> InputRequirement:
    assert req.url is not None
    if not URL_SCHEME.match(req.url):
        raise UsageError(
            f"{redact_url(req.url)!r} after '@' is not a URL: "
            "give a local wheel path on its own, without 'name @'"
        )
    url, hashes, wheel_name = check_direct_url(req.url)
    if wheel_name is not None and canonical_name(req.name) != wheel_name:
        what = "wheel" if url.split("#", 1)[0].lower().endswith(".whl") else "file"
        raise UsageError(
            f"requirement {redact_url(text)!r} names {req.name!r} "
            f"but the {what} is for {wheel_name!r}"
        )
    # The hash fragment now lives in .hashes; the URL keeps only what a download needs.
    req.url = url
    return InputRequirement(req, url, hashes, comes_from)


def _build(name: str, extras: str, url: str, marker: str, text: str) -> Requirement:
    spec = f"{name}{extras} @ {url}" + (f" ; {marker}" if marker else "")
    try:
        return parse_pep508(spec)
    except InvalidRequirement as exc:
        raise invalid_requirement(text, exc) from exc


def _sdist_name(filename: str) -> str:
    from packaging.utils import InvalidSdistFilename, parse_sdist_filename

    try:
        return parse_sdist_filename(filename)[0]
    except InvalidSdistFilename as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"invalid sdist filename {filename!r}: {reason}") from exc


def check_direct_url(url: str) -> tuple[str, frozenset[str], str | None]:
    """Validate a direct reference: return the URL to use, its hashes and its project name.

    Wheels and sdists are named by their filename, a local directory by its
    metadata; a git URL only by ``#egg=`` (else the name is None). A git URL
    keeps its ``@rev`` and ``#subdirectory=``.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UsageError(f"invalid URL {shown!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme.startswith("git+"):
        if scheme not in _GIT_SCHEMES:
            raise UsageError(
                f"unsupported VCS URL {shown!r}: use git+https://, git+ssh:// or git+file://"
            )
        egg, keep = None, []
        for item in parts.fragment.split("&") if parts.fragment else []:
            key, _, value = item.partition("=")
            if key == "egg" and value:
                egg = canonical_name(value)
            elif key == "subdirectory" and value:
                keep.append(item)
        # Not urlunsplit: it would turn "git+file:///x" into "git+file:/x".
        base = url.split("#", 1)[0]
        return base + (f"#{'&'.join(keep)}" if keep else ""), frozenset(), egg
    filename = unquote(parts.path.rsplit("/", 1)[-1])
    if scheme == "file" and not filename.lower().endswith(FILE_SUFFIXES):
        if parts.netloc not in ("", "localhost"):
            raise UsageError(
                f"file URL {shown!r} names a remote host; only local files are supported"
            )
        from urllib.request import url2pathname

        directory = Path(url2pathname(parts.path))
        if directory.is_absolute() and directory.is_dir() and is_project_dir(directory):
            return directory.as_uri(), frozenset(), project_name(directory)
    if scheme in ("http", "https", "file") and filename.lower().endswith(SDIST_SUFFIXES):
        try:
            hashes = _fragment_hashes(parts.fragment)
        except UsageError as exc:
            raise UsageError(f"{exc.message} in URL {shown!r}") from exc
        name = _sdist_name(filename)
        if scheme == "file":
            return _local_file_url(parts, shown, "sdist"), hashes, name
        if not parts.hostname:
            raise UsageError(f"invalid URL {shown!r}: no host")
        return urlunsplit(parts._replace(fragment="")), hashes, name
    return check_wheel_url(url)


def check_wheel_url(url: str) -> tuple[str, frozenset[str], str]:
    """Validate a direct wheel URL: return it without its fragment, its hashes, its name."""
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UsageError(f"invalid URL {shown!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    filename = unquote(parts.path.rsplit("/", 1)[-1])
    if scheme not in ("http", "https", "file") or not filename.lower().endswith(".whl"):
        raise UsageError(f"unsupported direct reference {shown!r}: {UNSUPPORTED}")
    name = parse_wheel_name(filename)[0]
    try:
        hashes = _fragment_hashes(parts.fragment)
    except UsageError as exc:
        raise UsageError(f"{exc.message} in URL {shown!r}") from exc
    if scheme == "file":
        return _local_file_url(parts, shown), hashes, name
    if not parts.hostname:
        raise UsageError(f"invalid URL {shown!r}: no host")
    return urlunsplit(parts._replace(fragment="")), hashes, name


def _fragment_hashes(fragment: str) -> frozenset[str]:
    hashes = set()
    for item in fragment.split("&"):
        key, _, value = item.partition("=")
        if key.lower() in HEX_LENGTHS or key.lower() in _WEAK_HASHES:
            hashes.add(normalise_hash(key, value))
    return frozenset(hashes)


def _local_file_url(parts: SplitResult, shown: str, what: str = "wheel") -> str:
    if parts.netloc not in ("", "localhost"):
        raise UsageError(f"file URL {shown!r} names a remote host; only local files are supported")
    try:
        from urllib.request import url2pathname  # pulls in http.client: keep it lazy

        path = Path(url2pathname(parts.path))
        if not path.is_absolute():
            raise UsageError(f"file URL {shown!r} must hold an absolute path")
        if not path.is_file():
            raise UsageError(f"{what} file {str(path)!r} from {shown!r} does not exist")
        return path.as_uri()
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot use file URL {shown!r}: {exc}") from exc
