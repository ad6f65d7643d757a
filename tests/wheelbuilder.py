"""Build valid and deliberately broken wheels for tests.

``make_wheel`` writes a wheel whose RECORD is correct for whatever files are
given; keyword switches break it in one specific way each.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.utils import canonicalize_name


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def dist_info_name(name: str, version: str) -> str:
    return f"{canonicalize_name(name).replace('-', '_')}-{version}.dist-info"


def metadata_text(
    name: str,
    version: str,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
    extras: Iterable[str] = (),
    summary: str = "test package",
    headers: Iterable[str] = (),
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    lines.extend(headers)
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    for extra in extras:
        lines.append(f"Provides-Extra: {extra}")
    for req in requires:
        lines.append(f"Requires-Dist: {req}")
    return "\n".join(lines) + "\n\n"


def make_wheel(
    directory: Path,
    name: str,
    version: str = "1.0",
    *,
    files: Mapping[str, bytes | str] | None = None,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
    extras: Iterable[str] = (),
    entry_points: Mapping[str, Mapping[str, str]] | None = None,
    tag: str = "py3-none-any",
    executable: Iterable[str] = (),
    wheel_version: str = "1.0",
    extra_members: Mapping[str, bytes] | None = None,
    omit_from_record: Iterable[str] = (),
    extra_record_rows: Iterable[str] = (),
    record_overrides: Mapping[str, str] | None = None,
    symlinks: Mapping[str, str] | None = None,
    dist_info: str | None = None,
    metadata_name: str | None = None,
    filename: str | None = None,
    summary: str = "test package",
    headers: Iterable[str] = (),
) -> Path:
    """Write ``<name>-<version>-<tag>.whl`` into ``directory`` and return its path.

    ``files`` maps archive paths to contents; by default a package ``<name>/__init__.py``
    that defines ``VERSION``. The other switches break the wheel on purpose.
    """
    directory.mkdir(parents=True, exist_ok=True)
    module = canonicalize_name(name).replace("-", "_")
    if files is None:
        files = {f"{module}/__init__.py": f"VERSION = {version!r}\n"}
    di = dist_info or dist_info_name(name, version)
    members: dict[str, bytes] = {}
    for path, content in files.items():
        members[path] = content.encode() if isinstance(content, str) else content
    members[f"{di}/METADATA"] = metadata_text(
        metadata_name or name, version, requires, requires_python, extras, summary, headers
    ).encode()
    members[f"{di}/WHEEL"] = (
        f"Wheel-Version: {wheel_version}\nGenerator: cachedb-tests\nRoot-Is-Purelib: true\n"
        f"Tag: {tag}\n"
    ).encode()
    if entry_points:
        text = ""
        for group, entries in entry_points.items():
            text += f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()) + "\n"
        members[f"{di}/entry_points.txt"] = text.encode()
    omit = set(omit_from_record)
    overrides = dict(record_overrides or {})
    record_lines = []
    for path, data in members.items():
        if path in omit:
            continue
        row = overrides.get(path, f"{path},{_record_hash(data)},{len(data)}")
        record_lines.append(row)
    record_lines.extend(extra_record_rows)
    record_lines.append(f"{di}/RECORD,,")
    members[f"{di}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    members.update(extra_members or {})

    fname = filename or f"{canonicalize_name(name).replace('-', '_')}-{version}-{tag}.whl"
    out = directory / fname
    execs = set(executable)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ((0o755 if path in execs else 0o644) | 0o100000) << 16
            zf.writestr(info, data)
        for path, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o777 | 0o120000) << 16
            zf.writestr(info, target)
    return out


class UnseekableStream(io.RawIOBase):
    """A write-only stream without seek: zipfile then writes data descriptors after each member."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        return len(b)
