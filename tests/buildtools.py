"""Offline build backends and source trees for build tests.

``backend_wheel`` re-packs an installed pure-Python distribution (setuptools,
flit_core) into a wheel, so a test index can serve build backends without any
download. ``write_project`` and ``make_sdist`` make small projects for them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import tarfile
import zipfile
from collections.abc import Mapping
from importlib.metadata import distribution
from pathlib import Path

from packaging.utils import canonicalize_name

_DATE = (2020, 1, 1, 0, 0, 0)
_GENERATED = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def backend_wheel(dist_name: str, out_dir: Path) -> Path:
    """A wheel of the installed pure-Python distribution ``dist_name``, from its RECORD."""
    dist = distribution(dist_name)
    files = [f for f in dist.files or [] if not str(f).startswith("..")]
    dist_info = next(str(f).split("/")[0] for f in files if str(f).endswith(".dist-info/METADATA"))
    members: dict[str, bytes] = {}
    for f in files:
        rel = f.as_posix()
        if "__pycache__" in rel or rel.endswith(".pyc"):
            continue
        if rel.startswith(dist_info + "/") and rel.split("/", 1)[1] in _GENERATED:
            continue
        members[rel] = Path(str(f.locate())).read_bytes()
    wheel_meta = members[f"{dist_info}/WHEEL"].decode()
    tag = next(
        line.split(":", 1)[1].strip() for line in wheel_meta.splitlines() if line.startswith("Tag:")
    )
    rows = [f"{p},{_record_hash(d)},{len(d)}" for p, d in members.items()]
    rows.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(rows) + "\n").encode()
    name = canonicalize_name(dist.metadata["Name"]).replace("-", "_")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}-{dist.version}-{tag}.whl"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=_DATE)
            info.external_attr = (0o644 | 0o100000) << 16
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out


SETUPTOOLS_PYPROJECT = """\
[build-system]
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
dependencies = {dependencies!r}

[tool.setuptools]
packages = ["{module}"]
"""

FLIT_PYPROJECT = """\
[build-system]
requires = ["flit_core>=3.4"]
build-backend = "flit_core.buildapi"

[project]
name = "{name}"
version = "{version}"
description = "a flit project"
dependencies = {dependencies!r}
"""


def write_project(
    root: Path,
    name: str,
    version: str = "1.0",
    *,
    backend: str = "setuptools",
    dependencies: tuple[str, ...] = (),
    code: str | None = None,
    extra_files: Mapping[str, str] | None = None,
) -> Path:
    """A project directory ``root`` with one module named after ``name``."""
    module = canonicalize_name(name).replace("-", "_")
    template = SETUPTOOLS_PYPROJECT if backend == "setuptools" else FLIT_PYPROJECT
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        template.format(name=name, version=version, dependencies=list(dependencies), module=module)
    )
    (root / module).mkdir(exist_ok=True)
    (root / module / "__init__.py").write_text(
        code if code is not None else f"VALUE = {version!r}\n"
    )
    for rel, text in (extra_files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def make_sdist(project: Path, out_dir: Path, name: str, version: str) -> Path:
    """A ``.tar.gz`` sdist of ``project`` (every file, under ``<name>-<version>/``)."""
    base = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{base}.tar.gz"
    with tarfile.open(out, "w:gz") as tf:
        for path in sorted(project.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                tf.add(path, arcname=f"{base}/{path.relative_to(project).as_posix()}")
        pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(pkg_info)
        tf.addfile(info, io.BytesIO(pkg_info))
    return out


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "HOME": str(repo),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    proc = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()
