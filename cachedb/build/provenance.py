"""Which revision of its source a built wheel came from, recorded inside the wheel.

A directory or git key names a place whose content changes, so the archive it
points at must say what it was built from: ``<dist-info>/cachedb-source.json``
holds the kind and revision (directory fingerprint, git commit, sdist sha256).
The file is added, with its RECORD row, before the wheel is stored; archives
are immutable, so the answer can never disagree with the files next to it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
import zlib
from pathlib import Path

from ..errors import BuildError

PROVENANCE_FILE = "cachedb-source.json"


def _dist_info(names: list[str], wheel: Path) -> str:
    found = [
        n[: -len("/RECORD")] for n in names if n.count("/") == 1 and n.endswith(".dist-info/RECORD")
    ]
    if len(found) != 1:
        raise BuildError(f"the backend built {wheel.name} without a single .dist-info/RECORD")
    return found[0]


def stamp(wheel: Path, dest_dir: Path, *, kind: str, revision: str) -> Path:
    """A copy of ``wheel`` in ``dest_dir`` that records ``kind`` and ``revision``."""
    data = json.dumps({"kind": kind, "revision": revision}, sort_keys=True).encode() + b"\n"
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / wheel.name
    try:
        with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            names = src.namelist()
            dist_info = _dist_info(names, wheel)
            member = f"{dist_info}/{PROVENANCE_FILE}"
            record = f"{dist_info}/RECORD"
            for info in src.infolist():
                if info.filename in (record, member):
                    continue
                dst.writestr(info, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
            extra = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            extra.external_attr = (0o644 | 0o100000) << 16
            dst.writestr(extra, data, compress_type=zipfile.ZIP_DEFLATED)
            rows = [
                line
                for line in src.read(record).decode("utf-8").splitlines()
                if line and not line.startswith(f"{member},")
            ]
            rows.append(f"{member},sha256={digest},{len(data)}")
            record_info = src.getinfo(record)
            dst.writestr(record_info, ("\n".join(rows) + "\n").encode(), zipfile.ZIP_DEFLATED)
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, OSError) as exc:
        out.unlink(missing_ok=True)
        raise BuildError(f"the backend built an unreadable wheel {wheel.name}: {exc}") from None
    return out


def wheel_revision(wheel: Path) -> tuple[str, str] | None:
    """``(kind, revision)`` recorded in a built wheel file (not yet unpacked), or None."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            member = _dist_info(zf.namelist(), wheel) + "/" + PROVENANCE_FILE
            if zf.getinfo(member).file_size > 4096:  # ours is under 200 bytes
                return None
            data = json.loads(zf.read(member).decode("utf-8"))
        return str(data["kind"]), str(data["revision"])
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error):
        return None  # damaged: whatever the zip module raised for it
    except (BuildError, NotImplementedError, RuntimeError):
        return None  # no single dist-info, an unknown compression, an encrypted member


def read_revision(archive_dir: Path) -> tuple[str, str] | None:
    """``(kind, revision)`` recorded in an unpacked built wheel, or None."""
    try:
        for entry in archive_dir.iterdir():
            if entry.name.endswith(".dist-info"):
                data = json.loads((entry / PROVENANCE_FILE).read_text(encoding="utf-8"))
                return str(data["kind"]), str(data["revision"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None
