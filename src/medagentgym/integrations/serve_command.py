"""``medagentgym serve``: run the environment server (``integrations.server``) with uvicorn.

A separate module so the CLI imports nothing of FastAPI until the command runs, and so the
server can be started as ``python -m medagentgym.integrations.serve_command`` (benchmarks and
tests start it in its own process that way). Refusals (a public address without a token, a short
token, an unknown dataset) end with one ``error:`` line and exit status 2, never a traceback.
"""

# No ``from __future__ import annotations``: typer reads the evaluated annotations.
from typing import Annotated, Any

import typer

TOKEN_ENV = "MEDAGENTGYM_SERVE_TOKEN"


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on; any non-loopback address needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    token: Annotated[
        str | None,
        typer.Option(envvar=TOKEN_ENV, help=f"Bearer token every request must carry (prefer the {TOKEN_ENV} variable)."),
    ] = None,
    max_sessions: Annotated[int, typer.Option(help="Most live episodes at once; over it a create gets 503.")] = 256,
    idle_timeout_s: Annotated[float, typer.Option(help="Close an episode after this many seconds without a request.")] = 600.0,
    action_format: Annotated[str, typer.Option(help="Default action format of new episodes: json or tools.")] = "json",
    max_turns_cap: Annotated[int, typer.Option(help="Largest max_turns a client may ask for.")] = 50,
    step_timeout_cap_s: Annotated[float, typer.Option(help="Largest step_timeout_s a client may ask for.")] = 120.0,
    split: Annotated[
        list[str] | None, typer.Option(help="Splits clients may open (repeat; default: train and test).")
    ] = None,
    dataset: Annotated[
        list[str] | None,
        typer.Option(help="Selection for AgentGym's data_idx and seeded draws: dataset (repeat)."),
    ] = None,
    category: Annotated[list[str] | None, typer.Option(help="Selection: category (repeat).")] = None,
    selection_split: Annotated[str, typer.Option(help="Selection: which split.")] = "test",
    limit_per_category: Annotated[int | None, typer.Option(help="Selection: samples per category.")] = None,
    seed: Annotated[int, typer.Option(help="Selection: generation seed.")] = 0,
    samples_file: Annotated[str | None, typer.Option(help="Selection: an imported samples file instead.")] = None,
    workers: Annotated[int, typer.Option(help="Threads running env steps (blocking while agent code runs).")] = 64,
) -> None:
    """Serve live MedAgentGym episodes over HTTP: the native API at /v1, AgentGym's at /agentgym,
    OpenEnv's at /openenv; the OpenAPI schema at /openapi.json and its page at /docs."""
    # Here, not at the top: `medagentgym --help` registers this command without loading the env.
    from medagentgym.integrations.server import ServeError, ServeSettings, check_bind, create_app

    try:
        check_bind(host, token)
        if action_format not in ("json", "tools"):
            raise ServeError(f"unknown action format {action_format!r} (json or tools)")
        if not 0 < port < 65536:
            raise ServeError(f"port {port} is out of range")
        splits = tuple(split or ("train", "test"))
        for name in (*splits, selection_split):
            if name not in ("train", "test"):
                raise ServeError(f"unknown split {name!r} (train or test)")
        settings = ServeSettings(
            token=token or None,
            max_episodes=max_sessions,
            idle_timeout_s=idle_timeout_s,
            action_format=action_format,  # type: ignore[arg-type]
            max_turns_cap=max_turns_cap,
            step_timeout_cap_s=step_timeout_cap_s,
            splits=splits,
            workers=workers,
        )
        samples = _selection(dataset, category, selection_split, limit_per_category, seed, samples_file)
        app = create_app(settings, samples=samples)
    except (ServeError, RuntimeError, KeyError, ValueError) as exc:
        typer.echo(f"error: {exc.args[0] if exc.args else exc}", err=True)
        raise typer.Exit(2) from None
    import uvicorn

    typer.echo(f"serving MedAgentGym at http://{host}:{port} (docs at /docs; Ctrl-C stops)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=10)


def _selection(
    datasets: list[str] | None,
    categories: list[str] | None,
    split: str,
    limit_per_category: int | None,
    seed: int,
    samples_file: str | None,
) -> Any:
    """The lazy selection (generated at the first data_idx), or None without --dataset/--samples-file."""
    if not datasets and not samples_file:
        return None
    from medagentgym.catalog.selection import SelectedSamples, checked_selection

    # unknown names fail here, not at the first request
    return SelectedSamples(checked_selection(datasets, categories, split, limit_per_category, seed, samples_file))


def main() -> None:  # pragma: no cover - console entry
    typer.run(serve_command)


if __name__ == "__main__":  # pragma: no cover
    main()
