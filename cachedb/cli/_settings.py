"""``cachedb config``: every setting, its value and where the value came from."""

import os

import typer

from ._app import JsonOption, app


@app.command("config")
def config_command(json_: JsonOption = False) -> None:
    """Show the settings in force and where each comes from (environment or file)."""
    from .. import _settings

    configuration = _settings.active()
    rows: list[tuple[str, object, str]] = []
    for name, setting in _settings.SETTINGS.items():
        env = next((var for var in setting.envs if os.environ.get(var)), None)
        if env is not None:
            rows.append((name, os.environ[env], f"environment {env}"))
            continue
        found = configuration.lookup(name)
        if found is not None:
            rows.append((name, found[0], found[1].describe()))
        else:
            rows.append((name, None, "default"))
    if json_:
        import json

        data = [{"name": n, "value": v, "source": src} for n, v, src in rows]
        typer.echo(
            json.dumps(
                {"files": [f.describe() for f in configuration.files], "settings": data}, indent=2
            )
        )
        return
    for file in configuration.files:
        typer.echo(f"# reading {file.describe()}")
    if not configuration.files:
        typer.echo("# no configuration file")
    for name, value, source in rows:
        shown = "(not set)" if value is None else _toml(value)
        typer.echo(f"{name} = {shown}  # {source}")


def _toml(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(str(v)) for v in value) + "]"
    return json.dumps(str(value))
