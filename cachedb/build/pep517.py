"""The PEP 517 / 660 hooks of one source tree, through ``build`` and ``pyproject-hooks``.

Every hook runs in a subprocess of the build environment's interpreter; its
output is captured, and shown (with the backend's error first) only when the
hook fails. ``build`` and ``pyproject_hooks`` are imported here only, never on
the warm install path.
"""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from ..errors import BuildError
from .hooks import FORKS, HookServer, hook_env, run_plain

Distribution = Literal["wheel", "editable"]
SHOWN_LINES = 400
# What the hooks inherit from us could change what they build; the venv is the whole world.
_DROPPED_ENV = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    "PIP_REQUIRE_VIRTUALENV",
)


def format_output(lines: Sequence[str]) -> str:
    """Build output as indented lines after an error's first line."""
    shown = list(lines)
    head = ""
    if len(shown) > SHOWN_LINES:
        head = f"\n  | ... ({len(shown) - SHOWN_LINES} earlier lines not shown)"
        shown = shown[-SHOWN_LINES:]
    return head + "".join(f"\n  | {line}" for line in shown)


def _last_error(lines: Sequence[str]) -> str | None:
    for line in reversed(lines):
        if line.strip():
            return line.strip()
    return None


class Backend:
    """The hooks of the project in ``source_dir``, run by ``python`` (a build environment's)."""

    def __init__(
        self, source_dir: Path, python: Path, what: str, scratch: Path | None = None
    ) -> None:
        from build import BuildException, ProjectBuilder

        self.what = what
        self.output: list[str] = []
        # With ``scratch`` (a directory of our own), hooks run forked from one process
        # that imported the backend (build/hooks.py); without, each in a fresh one.
        self._scratch = scratch
        self._server: HookServer | None = None
        self._servers = 0
        self.forked = 0  # hooks run forked from a server (the rest each in a fresh process)
        try:
            self._builder = ProjectBuilder(
                source_dir, python_executable=str(python), runner=self._run
            )
        except BuildException as exc:
            raise BuildError(f"cannot build {what}: {exc}") from None

    def _run(
        self,
        cmd: Sequence[str],
        cwd: str | None = None,
        extra_environ: Mapping[str, str] | None = None,
    ) -> None:
        env = hook_env(dict(extra_environ or {}), _DROPPED_ENV)
        if self._server is not None and self._server.moved(cmd, cwd, env):
            self.restart()
        if self._server is None and self._scratch is not None and FORKS:
            self._server = HookServer(cmd, cwd, env, self._scratch / f"server-{self._servers}")
            self._servers += 1
        ran = None
        if self._server is not None and self._server.serves(cmd, cwd, env):
            ran = self._server.run(cmd)
            self.forked += ran is not None
        code, output = ran or run_plain(cmd, cwd, env)
        self.output.extend(output.decode("utf-8", "replace").splitlines())
        if code != 0:
            raise subprocess.CalledProcessError(code, list(cmd), output)

    def restart(self) -> None:
        """The next hook starts from a fresh process (say, after its environment changed)."""
        if self._server is not None and not self._server.declined:
            self.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    @contextmanager
    def _hook(self, hook: str) -> Iterator[None]:
        from build import BuildBackendException, BuildException
        from pyproject_hooks import BackendUnavailable, HookMissing

        try:
            # pyproject-hooks re-raises the backend's warnings here: they are build output.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    yield
                finally:
                    for warning in caught:
                        self.output.extend(str(warning.message).splitlines())
        except BuildBackendException as exc:
            inner = exc.exception
            if isinstance(inner, HookMissing):
                raise BuildError(
                    f"the build backend of {self.what} has no {hook} hook"
                    + (" (PEP 660 editable installs)" if "editable" in hook else "")
                ) from None
            if isinstance(inner, BackendUnavailable):
                reason = f"cannot import the build backend {inner.backend_name!r}"
                self.output.extend(inner.traceback.splitlines())
            else:
                reason = _last_error(self.output) or str(exc)
            raise BuildError(
                f"failed to build {self.what} ({hook}): {reason}" + format_output(self.output)
            ) from None
        except BuildException as exc:
            raise BuildError(f"failed to build {self.what}: {exc}") from None

    @property
    def requires(self) -> list[str]:
        """``[build-system] requires`` (setuptools' default when pyproject.toml has none)."""
        return sorted(self._builder.build_system_requires)

    def requires_for(self, distribution: Distribution) -> list[str]:
        """What ``get_requires_for_build_<distribution>`` adds."""
        with self._hook(f"get_requires_for_build_{distribution}"):
            return sorted(self._builder.get_requires_for_build(distribution))

    def prepare_metadata(self, out: Path) -> Path | None:
        """The ``.dist-info`` ``prepare_metadata_for_build_wheel`` made; None without that hook."""
        with self._hook("prepare_metadata_for_build_wheel"):
            found = self._builder.prepare("wheel", out)
        return None if found is None else Path(found)

    def build(self, distribution: Distribution, out: Path) -> Path:
        """Run ``build_wheel`` or ``build_editable``; return the wheel's path."""
        with self._hook(f"build_{distribution}"):
            built = self._builder.build(distribution, out)
        return Path(built)
