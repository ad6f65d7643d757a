"""Runs one source's hooks, each in a process forked from one that imported the backend.

Run by a build environment's interpreter (any Python from 3.8, so stdlib only and no
cachedb import) as ``python _hook_server.py IN_PROCESS PRELOAD_OUTPUT [held]`` would run it
(hooks.py starts it by ``python -c`` with its code from the bytecode cache), with the
working directory and environment every hook of the source runs with. IN_PROCESS is
pyproject-hooks' hook script; a hook run here is that script run as ``__main__``, as
``python IN_PROCESS HOOK CONTROL_DIR`` would run it, in a child forked after the
backend's import: what every hook subprocess would do first is done once.

The import is done the script's own way (its ``_build_backend``, its ``sys.path``),
and only where a fresh process would be indistinguishable from the fork: no in-tree
backend path (the script would add a second path finder), and nothing printed,
warned or started in a thread by the import. Otherwise the first line says so and
the caller runs every hook in a fresh subprocess instead.

A ``held`` server is started before its build environment is complete (while the
backend's requirements install): meanwhile it runs the hook script's own imports (never
from the environment being installed), and it waits for ``go`` before importing the
backend. It goes on only where its start read what a start now would: no ``.pth`` file or
customize module in the environment's own site directories (the install may have added
one after the start read them), the same ones elsewhere, and no module the script's
imports looked for in vain that could be found now. Otherwise it says ``stale`` and
ends, and the caller starts a new one.

Protocol: lines on fd 0 (``go`` first if held, then ``HOOK\\0CONTROL_DIR\\0OUTPUT``) and
fd 1 (first ``ready``, ``plain`` or, if held, ``stale``, then the exit status of each hook,
whose stdout and stderr went to OUTPUT). End of input ends the server.
"""

import os
import sys
from types import CodeType

TYPE_CHECKING = False  # typing's, without importing typing (this runs on any Python from 3.8)
if TYPE_CHECKING:
    _Prepared = tuple[CodeType, dict[str, object], list[str]]


def _script_imports(script: str, output: str, *, hide: "list[str]") -> "_Prepared | None":
    """Run the hook script as far as a hook subprocess would before importing the backend
    (its own imports); None where a fork would differ from a fresh process. The path
    entries ``hide`` are left out meanwhile: what they hold may still be changing."""
    if os.environ.get("_PYPROJECT_HOOKS_BACKEND_PATH_JSON"):
        return None
    sink = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    os.close(sink)
    # The path a fresh ``python IN_PROCESS`` has once the script has removed its own
    # directory: without that directory, and without this one.
    dirs = {_real(os.path.dirname(script)), _real(os.path.dirname(os.path.abspath(__file__)))}
    sys.path[:] = [p for p in sys.path if _real(p) not in dirs]
    sys.argv[:] = [script]
    namespace: dict[str, object] = {"__name__": "_pyproject_hooks_preload", "__file__": script}
    path, missing = list(sys.path), _Missing()
    sys.path[:] = [p for p in path if p not in hide]
    sys.meta_path.append(missing)
    try:
        code = script_code(script)
        exec(code, namespace)
    except BaseException:  # noqa: BLE001 - the fresh subprocess reports it
        return None
    finally:
        sys.meta_path.remove(missing)
        sys.path[:] = path
    return code, namespace, missing.names


def _backend(prepared: "_Prepared", output: str) -> "CodeType | None":
    """Import the backend as the hook script would; returns the script's code, or None
    where a fork would differ from a fresh process."""
    import warnings

    code, namespace, _ = prepared
    try:
        with warnings.catch_warnings(record=True) as caught:
            namespace["_build_backend"]()  # type: ignore[operator]
    except BaseException:  # noqa: BLE001 - the fresh subprocess reports it
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return None
    return code if not caught and os.path.getsize(output) == 0 else None


class _Missing:
    """Records the modules an import looked for in vain (the last finder is asked only then)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        self.names.append(name)


def script_code(script: str) -> CodeType:
    """The code of ``script`` for every hook: what ``python SCRIPT`` compiles (not with this
    module's __future__ flags), read from the bytecode cache beside it where that holds the
    current source's code for this interpreter, as an import would; never written there."""
    from importlib.machinery import SourceFileLoader

    name = "_pyproject_hooks_preload"
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        code = SourceFileLoader(name, script).get_code(name)
    finally:
        sys.dont_write_bytecode = dont_write
    if code is None:
        raise ImportError(f"no code in {script}")
    return code


def _site_directories() -> "list[str]":
    """Where a start looks for ``.pth`` files and customize modules: the path, and the site
    directories (that one created later would be on a fresh start's path)."""
    import site

    found = list(sys.path)
    for directory in site.getsitepackages():
        if directory not in found:
            found.append(directory)
    return found


def _site_state(directories: "list[str]") -> "list[list[str] | None]":
    """The ``.pth`` files and site/user customize modules in each of ``directories``."""
    state: list[list[str] | None] = []
    for directory in directories:
        try:
            names = os.listdir(directory or ".")
        except OSError:
            state.append(None)
            continue
        state.append(
            sorted(
                n
                for n in names
                if n.endswith(".pth") or n.partition(".")[0] in ("sitecustomize", "usercustomize")
            )
        )
    return state


def _findable(name: str) -> bool:
    """Whether ``name`` could be imported now (only asked for names an import missed, so
    a hook process loads ``importlib.util`` no more often than a fresh one would)."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _inside(path: str, prefix: str) -> bool:
    path, prefix = _real(path), _real(prefix)
    return path == prefix or path.startswith(prefix.rstrip(os.sep) + os.sep)


def _real(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _serve(script: str, output: str, held: bool) -> "tuple[CodeType, str, str]":
    """Answer requests until input ends; returns (in a forked child) the script's code
    and the hook to run."""
    requests = os.fdopen(os.dup(0), "rb")
    answers = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    if held:  # started before its environment was complete
        directories = _site_directories()
        started = _site_state(directories)
        # The script's own imports meanwhile, but not from the environment being installed.
        installing = [
            d for d in directories if _inside(d, sys.prefix) and not _inside(d, sys.base_prefix)
        ]
        prepared = _script_imports(script, output, hide=installing)
        if requests.readline() != b"go\n":
            os._exit(0)
        import importlib

        importlib.invalidate_caches()  # the import system lists directories anew, as a start
        now = _site_state(directories)
        found = prepared is not None and any(map(_findable, prepared[2]))
        ours = [now[i] for i, d in enumerate(directories) if _inside(d, sys.prefix)]
        if now != started or any(ours) or found:
            # Such a file in the environment's own directories may have come after the
            # start read them (a fresh start would read it); elsewhere, any change says so.
            # Likewise a module the script's imports missed that a fresh start would find.
            os.write(answers, b"stale\n")
            os._exit(0)
    else:
        prepared = _script_imports(script, output, hide=[])
    code = None if prepared is None else _backend(prepared, output)
    os.write(answers, b"ready\n" if code is not None else b"plain\n")
    if code is None:
        os._exit(0)
    for line in requests:
        hook, control_dir, out = line.rstrip(b"\n").decode("utf-8", "surrogateescape").split("\0")
        pid = os.fork()
        if pid == 0:
            requests.close()
            os.close(answers)
            sink = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(sink, 1)
            os.dup2(sink, 2)
            os.close(sink)
            os.close(null)
            return code, hook, control_dir
        _, status = os.waitpid(pid, 0)
        exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        os.write(answers, f"{exit_code}\n".encode())
    os._exit(0)


def _run_as_main(code: CodeType, argv: "list[str]") -> None:
    """Run the hook script as ``python SCRIPT HOOK CONTROL_DIR`` would: a new ``__main__``."""
    import builtins
    import types

    main = types.ModuleType("__main__")
    main.__file__ = argv[0]
    main.__cached__ = None  # type: ignore[attr-defined]
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules["__main__"] = main
    sys.argv[:] = argv
    exec(code, main.__dict__)


if __name__ == "__main__":
    _script = sys.argv[1]
    _code, _hook, _control_dir = _serve(_script, sys.argv[2], sys.argv[3:] == ["held"])
    _run_as_main(_code, [_script, _hook, _control_dir])
