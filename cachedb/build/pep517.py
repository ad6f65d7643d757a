"""The PEP 517 / 660 hooks of one source tree, through ``build`` and ``pyproject-hooks``.

Every hook runs in a subprocess of the build environment's interpreter; its
output is captured, and shown (with the backend's error first) only when the
hook fails. ``build`` and ``pyproject_hooks`` are imported here only, never on
the warm install path.
"""

from __future__ import annotations

import os
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


@contextmanager
def _temporary_files(tmp: Path | None) -> Iterator[None]:
    """The stdlib's temporary files made in ``tmp`` meanwhile (pyproject-hooks makes each
    hook's control directory with ``tempfile``, in the system's temporary directory)."""
    if tmp is None:
        yield
        return
    import tempfile

    before, tempfile.tempdir = tempfile.tempdir, str(tmp)
    try:
        yield
    finally:
        tempfile.tempdir = before


class Backend:
    """The hooks of the project in ``source_dir``, run by ``python`` (a build environment's)."""

    def __init__(
        self,
        source_dir: Path,
        python: Path,
        what: str,
        scratch: Path | None = None,
        tmp: Path | None = None,
    ) -> None:
        from build import BuildException, ProjectBuilder

        self.what = what
        self.output: list[str] = []
        # With ``scratch`` (a directory of our own), hooks run forked from one process
        # that imported the backend (build/hooks.py); without, each in a fresh one.
        self._scratch = scratch
        # With ``tmp`` (a directory of our own), the hooks' temporary files are made there:
        # pyproject-hooks' control directories here, the backend's through TMPDIR.
        self._tmp = tmp
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
        env = self._env(extra_environ)
        held = self._server
        if held is not None and held.held and not (held.serves(cmd, cwd, env) and held.release()):
            # Started for another hook command, or before its environment got a .pth file.
            held.close()
            self._server = None
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

    def prestart(self) -> None:
        """Start the hook server for the first hook now, while the build environment's
        requirements install: the interpreter's start is then no longer on the way. The
        first hook uses it only if it is that hook's server exactly (``_run``)."""
        if self._scratch is None or not FORKS or self._server is not None:
            return
        try:
            # The command pyproject-hooks runs every hook with, but for the hook's own
            # arguments; a guess at worst: a server for another command is closed unused.
            from pyproject_hooks._in_process import _in_proc_script_path

            caller = self._builder._hook
            extra = {"_PYPROJECT_HOOKS_BUILD_BACKEND": caller.build_backend}
            if caller.backend_path:
                return  # the server declines an in-tree backend anyway
            with _in_proc_script_path() as script:  # type: ignore[no-untyped-call]
                cmd = [caller.python_executable, os.path.abspath(str(script))]
        except (ImportError, AttributeError):
            return
        env = self._env(extra)
        scratch = self._scratch / f"server-{self._servers}"
        self._server = HookServer(cmd, caller.source_dir, env, scratch, held=True)
        self._servers += 1

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        """The environment of a hook that pyproject-hooks runs with ``extra``."""
        extra = dict(extra or {})
        if self._tmp is not None:
            extra.update(dict.fromkeys(("TMPDIR", "TEMP", "TMP"), str(self._tmp)))
        return hook_env(extra, _DROPPED_ENV)

    def restart(self) -> None:
        """The next hook starts from a fresh process (say, after its environment changed)."""
        if self._server is not None and not self._server.declined:
            self.close()

    def close(self, *, wait: bool = True) -> subprocess.Popen[bytes] | None:
        """End the hook server, if any (``wait=False``: see ``HookServer.close``)."""
        server, self._server = self._server, None
        return None if server is None else server.close(wait=wait)

    @contextmanager
    def _hook(self, hook: str) -> Iterator[None]:
        from build import BuildBackendException, BuildException
        from pyproject_hooks import BackendUnavailable, HookMissing

        try:
            # pyproject-hooks re-raises the backend's warnings here: they are build output.
            with warnings.catch_warnings(record=True) as caught, _temporary_files(self._tmp):
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
