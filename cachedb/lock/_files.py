"""The files a lock records for each pin: every file of that version that fits the target.

A requirements file's ``--hash`` lines and a pylock's ``wheels``/``sdist`` list
all of them, not just the one this machine would pick, so the lock installs on
any machine of the target. A file whose source gives no sha256 (a find-links
directory, a plain HTML page without fragments) is downloaded once to hash it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from .._filenames import read_sdist_filename, read_wheel_filename
from ..index import IndexClient, Link

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


# NamedTuples, not dataclasses: defining a frozen dataclass costs ~1 ms on every run.
class LockedFile(NamedTuple):
    """One file of a pinned version, as a lock file records it."""

    link: Link
    sha256: str

    @property
    def is_wheel(self) -> bool:
        return self.link.is_wheel


def upload_moment(link: Link) -> datetime | None:
    """``link``'s PEP 700 upload time (aware, UTC where unzoned); None if absent or unreadable."""
    if link.upload_time is None:
        return None
    try:
        moment = datetime.fromisoformat(link.upload_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def version_files(
    links: Iterable[Link],
    name: str,
    version: Version,
    fits: Callable[[str], bool],
) -> list[Link]:
    """The links of ``name==version`` whose wheel tags ``fits`` the target, sdists too."""
    out: list[Link] = []
    for link in links:
        if link.is_wheel:
            wheel = read_wheel_filename(link.filename)
            if (
                wheel is not None
                and wheel.name == name
                and wheel.version == version
                and fits(link.filename)
            ):
                out.append(link)
        else:
            sdist = read_sdist_filename(link.filename)
            if sdist is not None and sdist == (name, version):
                out.append(link)
    # One entry per file name: the first source to offer it wins, as the finder's order does.
    unique = {link.filename: link for link in reversed(out)}
    return sorted(unique.values(), key=lambda link: link.filename)


def hashed(index: IndexClient, links: list[Link], staging: Path) -> list[LockedFile]:
    """``links`` with their sha256, downloading those whose source gives none."""
    missing = [link for link in links if "sha256" not in link.hashes]
    if not missing:
        return [LockedFile(link, link.hashes["sha256"]) for link in links]
    staging.mkdir(parents=True, exist_ok=True)
    digests = {
        link.url: got.sha256
        for link, got in zip(
            missing, index.download_many([(link, None) for link in missing], staging), strict=True
        )
    }
    return [LockedFile(link, link.hashes.get("sha256") or digests[link.url]) for link in links]
