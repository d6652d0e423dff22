"""The ``medagentgym`` command line: noun, then verb.

Inputs (task files, run folders, snippets) may be corrupt or hostile, so a command that cannot
go on ends with one ``error:`` line naming the file and a non-zero exit, never a traceback, and
everything printed is valid UTF-8 (``untrusted.clean_text`` / ``model_json``) with rich markup in
messages escaped. Options are checked before any work starts: a value out of range or not among
the accepted ones is one line saying which flag, what was given and what is accepted (exit 2).
"""

from __future__ import annotations

import inspect
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medagentgym import __version__
from medagentgym.catalog import SPLITS, all_datasets, get_dataset
from medagentgym.catalog.import_command import import_command
from medagentgym.catalog.registry import UnknownDatasetError
from medagentgym.catalog.selection import (
    SamplesFileError,
    Selection,
    check_split,
    find_sample,
    select_samples,
)
from medagentgym.catalog.corpus_command import corpus_app  # its commands import pyarrow lazily
from medagentgym.integrations.serve_command import serve_command
from medagentgym.paths import cache_dir
from medagentgym.policies.models_command import models_app
from medagentgym.training.commands import export_app, train_app
from medagentgym.untrusted import UntrustedJSONError, clean_json, clean_text, loads_bounded, model_json

app = typer.Typer(no_args_is_help=True, help="MedAgentGym: biomedical coding tasks for LLM agents.")
tasks_app = typer.Typer(no_args_is_help=True, help="Browse the task catalog.")
data_app = typer.Typer(no_args_is_help=True, help="Build embedded data into the user cache.")
app.add_typer(tasks_app, name="tasks")
sandbox_app = typer.Typer(no_args_is_help=True, help="Inspect and try the code sandbox.")
fhir_app = typer.Typer(no_args_is_help=True, help="The FHIR record store (medagentbench).")
app.add_typer(data_app, name="data")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(fhir_app, name="fhir")
app.add_typer(export_app, name="export")
app.add_typer(train_app, name="train")
app.add_typer(models_app, name="models")
app.add_typer(corpus_app, name="corpus")
app.command("serve")(serve_command)
app.command("import")(import_command)
# Piped output (logs, CI) gets a width that fits the report tables instead of rich's 80 columns.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/] {escape(clean_text(message))}")
    return typer.Exit(code)


def _warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(clean_text(message))}")


def _one_of(value: str, flag: str, accepted: tuple[str, ...] | list[str]) -> None:
    """Refuse a value outside ``accepted`` with one line naming the flag."""
    if value not in accepted:
        raise _fail(f"{flag} {value!r}: not accepted (accepted: {', '.join(accepted)})")


def _at_least(value: float | None, flag: str, minimum: float, *, above: bool = False) -> None:
    """Refuse a number below ``minimum`` (or not above it, with ``above``); None means unset.

    Written as ``not value >= minimum`` so that NaN is refused too."""
    if value is None:
        return
    fine = value > minimum if above else value >= minimum
    if not fine:
        bound = f"> {minimum:g}" if above else f">= {minimum:g}"
        raise _fail(f"{flag} {value:g}: out of range (accepted: {bound})")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"medagentgym {__version__}")
        raise typer.Exit(0)


@app.callback()
def _check_settings(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_show_version),
    ] = False,
) -> None:
    """Settings read from the environment are checked before any command runs, so a bad value
    is one clear line (exit 2), not a traceback in the middle of a build or a run."""
    from medagentgym.world import WorldSizeError, world_size

    try:
        world_size()
    except WorldSizeError as exc:
        raise _fail(str(exc)) from None


@tasks_app.command("list")
def tasks_list(
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Only this dataset.")] = None,
    scale: Annotated[str, typer.Option(help="default, full (the paper's full split) or leaderboard.")] = "default",
) -> None:
    """Datasets, their categories and instance counts per split."""
    from medagentgym.catalog.dataset import SCALES, category_counts

    _one_of(scale, "--scale", SCALES)
    try:
        datasets = [get_dataset(dataset)] if dataset else all_datasets()
    except UnknownDatasetError as exc:
        raise _fail(str(exc)) from None
    table = Table(title="MedAgentGym task catalog" + ("" if scale == "default" else f" ({scale} scale)"))
    for column in ("dataset", "category", "answer type", *SPLITS):
        table.add_column(column, justify="right" if column in SPLITS else "left")
    totals = dict.fromkeys(SPLITS, 0)
    n_categories = 0
    for ds in datasets:
        by_split = {s: category_counts(ds, s, scale) for s in SPLITS}  # type: ignore[arg-type]
        for category in ds.categories():
            counts = [by_split[s][category.name] for s in SPLITS]
            n_categories += any(counts)
            for split, n in zip(SPLITS, counts, strict=True):
                totals[split] += n
            table.add_row(ds.name, category.name, category.answer_type.value, *map(str, counts))
    table.add_section()
    table.add_row("total", f"{n_categories} categories", "", *(str(totals[s]) for s in SPLITS))
    console.print(table)


@tasks_app.command("show")
def tasks_show(
    sample_id: Annotated[str, typer.Argument(help="dataset/category/split/seed/index, or an imported id")],
    reveal: Annotated[bool, typer.Option(help="Also show the hidden target and the solution.")] = False,
    samples: Annotated[Optional[Path], typer.Option(help="Imported samples file holding the id.")] = None,
) -> None:
    """One sample as the agent sees it (the target stays hidden unless --reveal)."""
    try:
        sample = find_sample(sample_id, samples)
    except (KeyError, SamplesFileError) as exc:  # SampleIdError and UnknownDatasetError are KeyErrors
        raise _fail(str(exc)) from None
    view = sample.model_dump(mode="json") if reveal else sample.public_view()
    typer.echo(json.dumps(clean_json(view), indent=2, ensure_ascii=False))


@data_app.command("build")
def data_build(
    datasets: Annotated[Optional[list[str]], typer.Argument(help="Datasets to build (default: all).")] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if present.")] = False,
) -> None:
    """Build databases and files of datasets into the user cache."""
    try:
        chosen = [get_dataset(n) for n in datasets] if datasets else all_datasets()
    except UnknownDatasetError as exc:
        raise _fail(str(exc)) from None
    for ds in chosen:
        ds.build(force=force)
        console.print(f"built {ds.name} in {cache_dir()}")


def _selection(
    dataset: list[str] | None,
    category: list[str] | None,
    split: list[str] | None,
    limit_per_category: int | None,
    seed: int,
    samples: Path | None,
    scale: str = "default",
    corpus: Path | None = None,
) -> Selection:
    from medagentgym.catalog.dataset import SCALES

    _one_of(scale, "--scale", SCALES)
    if corpus is not None and samples is not None:
        raise _fail("--corpus and --samples are two sample sources: give one")
    if corpus is not None and scale != "default":
        raise _fail("--scale applies to generated samples; a --corpus has its own scale")
    return Selection(
        datasets=dataset or [],
        categories=category or [],
        splits=split or ["test"],  # type: ignore[arg-type]
        limit_per_category=limit_per_category,
        seed=seed,
        samples_file=str(samples) if samples else None,
        scale=scale,  # type: ignore[arg-type]
        corpus=str(corpus) if corpus else None,
    )


ScaleOpt = Annotated[str, typer.Option(help="default, full (the paper's full split) or leaderboard.")]
CorpusOpt = Annotated[
    Optional[Path], typer.Option(help="A corpus folder (`medagentgym corpus build`) as the sample source.")
]


def _check_splits(splits: list[str] | None) -> None:
    """Each --split given, checked before any sample is generated."""
    for name in splits or []:
        try:
            check_split(name, "--split")
        except ValueError as exc:
            raise _fail(str(exc)) from None


DatasetOpt = Annotated[Optional[list[str]], typer.Option("--dataset", "-d", help="Dataset (repeatable).")]
CategoryOpt = Annotated[Optional[list[str]], typer.Option("--category", "-c", help="Category (repeatable).")]
SplitOpt = Annotated[Optional[list[str]], typer.Option("--split", help="train or test (repeatable).")]


def _policy_options(
    policy: str,
    action_format: str,
    model: str | None,
    base_url: str | None,
    api_key_env: str | None,
    temperature: float | None,
    top_p: float | None,
    max_tokens: int | None,
    request_timeout: float | None,
) -> dict[str, object]:
    """Only the options the user set (and the action format): each policy validates its own."""
    options: dict[str, object] = {"action_format": action_format}
    given = {
        "model": model,
        "base_url": base_url,
        "api_key_env": api_key_env,
        "temperature": temperature,
        "top_p": top_p,
        "max_tokens": max_tokens,
        "timeout_s": request_timeout,
    }
    options.update({k: v for k, v in given.items() if v is not None})
    return options


#: The flag behind each policy option, to name it when a policy does not take it.
OPTION_FLAGS = {
    "action_format": "--action-format",
    "model": "--model",
    "temperature": "--temperature",
    "top_p": "--top-p",
    "max_tokens": "--max-tokens",
}


def _check_taken(policy: str, options: dict[str, object]) -> None:
    """Refuse options a policy's ``from_options`` has no parameter for, naming the flags.

    Without this the oracle given ``--temperature`` fails with Python's "unexpected keyword
    argument"; a policy that takes ``**options`` checks its own (and names them itself)."""
    from medagentgym.policies import UnknownPolicyError, policy_class

    try:
        parameters = inspect.signature(policy_class(policy).from_options).parameters.values()
    except UnknownPolicyError as exc:
        raise _fail(str(exc)) from None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    takes = [p.name for p in parameters]
    untaken = [OPTION_FLAGS.get(key, f"--policy-option {key}") for key in options if key not in takes]
    if untaken:
        which = "these" if len(untaken) > 1 else "this"
        raise _fail(f"{', '.join(untaken)}: the {policy} policy does not take {which} (it takes: {', '.join(takes) or 'nothing'})")


#: Characters of ``--extra-body``: server knobs are a few keys, never a document.
MAX_EXTRA_BODY_CHARS = 100_000


def _openai_options(
    policy: str,
    given: dict[str, object],
    price_input: float | None,
    price_output: float | None,
    context_window: int | None,
    extra_body: str | None,
    seeded: bool | None,
) -> dict[str, object]:
    """The openai-only flags as options of ``OpenAIChatPolicy.from_options``.

    Another policy given one of them would fail far from the cause (or ignore it), so it is
    refused here, naming the flags."""
    values = {
        "--base-url": given.get("base_url"),
        "--api-key-env": given.get("api_key_env"),
        "--request-timeout": given.get("timeout_s"),
        "--price-input": price_input,
        "--price-output": price_output,
        "--context-window": context_window,
        "--extra-body": extra_body,
        "--seeded" if seeded else "--no-seeded": seeded,
    }
    used = [flag for flag, value in values.items() if value is not None]
    if used and policy != "openai":
        raise _fail(f"{', '.join(used)}: only the openai policy takes {'these' if len(used) > 1 else 'this'} (policy: {policy})")
    options: dict[str, object] = {}
    if (price_input is None) != (price_output is None):
        raise _fail("--price-input and --price-output go together (USD per million prompt and completion tokens)")
    if price_input is not None and price_output is not None:
        _at_least(price_input, "--price-input", 0)
        _at_least(price_output, "--price-output", 0)
        options["prices"] = {"prompt": price_input, "completion": price_output}
    if context_window is not None:
        _at_least(context_window, "--context-window", 1)
        options["context_tokens"] = context_window
    if extra_body is not None:
        try:
            body = loads_bounded(extra_body, max_chars=MAX_EXTRA_BODY_CHARS)
        except UntrustedJSONError as exc:
            raise _fail(f"--extra-body: {exc}; accepted: a JSON object, e.g. '{{\"top_k\": 20}}'") from None
        if not isinstance(body, dict):
            raise _fail(f"--extra-body: a JSON {type(body).__name__}, not an object (accepted: a JSON object)")
        options["extra_body"] = body
    if seeded is not None:
        options["seeded"] = seeded
    return options


def _key_values(pairs: list[str], flag: str) -> dict[str, str]:
    """KEY=VALUE strings as a dict (each policy converts and checks its own values)."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise _fail(f"{flag} {pair!r}: expected KEY=VALUE")
        options[key.strip()] = value
    return options


@app.command("run")
def run_cmd(
    policy: Annotated[str, typer.Option(help="oracle, wrong-answer, openai or transformers.")] = "oracle",
    dataset: DatasetOpt = None,
    category: CategoryOpt = None,
    split: SplitOpt = None,
    limit_per_category: Annotated[Optional[int], typer.Option(help="Samples per category.")] = 2,
    seed: Annotated[int, typer.Option(help="Generation seed of the samples.")] = 0,
    samples: Annotated[Optional[Path], typer.Option(help="Imported samples JSONL instead.")] = None,
    scale: ScaleOpt = "default",
    corpus: CorpusOpt = None,
    epochs: Annotated[int, typer.Option("--epochs", "-k", help="Episodes per sample (K).")] = 1,
    concurrency: Annotated[int, typer.Option(help="Episodes (sandbox sessions) alive at once.")] = 8,
    warm_sessions: Annotated[
        Optional[int],
        typer.Option(help="Sandbox sessions kept forked and hardened ahead of need (default: min(concurrency, 8); 0: none)."),
    ] = None,
    max_model_calls: Annotated[Optional[int], typer.Option(help="Model calls in flight (default: concurrency).")] = None,
    episode_timeout: Annotated[Optional[float], typer.Option(help="Wall-clock limit per episode, s.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Run folder (resumes if it exists).")] = None,
    extend: Annotated[
        bool,
        typer.Option("--extend", help="Add to an existing --out made with other settings (recorded in its manifest)."),
    ] = False,
    max_turns: Annotated[int, typer.Option(help="Turn limit per episode.")] = 15,
    action_format: Annotated[str, typer.Option(help="json or tools.")] = "json",
    reveal_verdict: Annotated[bool, typer.Option(help="Tell the agent whether it was right.")] = False,
    debug_hint: Annotated[bool, typer.Option(help="Enable the debug_hint action.")] = False,
    model: Annotated[Optional[str], typer.Option(help="Model name (openai) or local dir / 'smollm2' (transformers).")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1.")] = None,
    api_key_env: Annotated[Optional[str], typer.Option(help="Name of the env variable holding the API key.")] = None,
    temperature: Annotated[Optional[float], typer.Option(help="Sampling temperature.")] = None,
    top_p: Annotated[Optional[float], typer.Option(help="Nucleus sampling.")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="Tokens per model reply.")] = None,
    request_timeout: Annotated[Optional[float], typer.Option(help="Seconds per model request.")] = None,
    price_input: Annotated[
        Optional[float], typer.Option(help="USD per million prompt tokens (openai; with --price-output): fills the cost column.")
    ] = None,
    price_output: Annotated[Optional[float], typer.Option(help="USD per million completion tokens (openai).")] = None,
    context_window: Annotated[
        Optional[int], typer.Option(help="The model's context window in tokens; the conversation is fitted into it (openai).")
    ] = None,
    extra_body: Annotated[
        Optional[str], typer.Option(help='JSON object merged into each request, e.g. \'{"top_k": 20}\' (openai).')
    ] = None,
    seeded: Annotated[
        Optional[bool], typer.Option("--seeded/--no-seeded", help="Send each episode's seed with its requests (openai).")
    ] = None,
    backend: Annotated[str, typer.Option(help="local or ray.")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="Existing Ray cluster (default: start a local one).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a live progress line.")] = True,
    policy_option: Annotated[
        Optional[list[str]],
        typer.Option("--policy-option", help="KEY=VALUE passed to the policy (repeatable), e.g. recovery=0.3."),
    ] = None,
) -> None:
    """Run a policy over a selection of samples into a resumable run folder, then report.

    Exits 2 before any episode when an option is invalid or the policy's pre-flight check fails
    (endpoint unreachable, key refused, unknown model), and 1 when every episode this invocation
    wrote ended in an infrastructure error (the folder keeps them; a resume retries them).
    """
    from medagentgym.env.env import EnvConfig  # the env (gymnasium, numpy) only for a run
    from medagentgym.policies import PolicySpec, UnknownPolicyError, make_policy, preflight
    from medagentgym.policies.base import PreflightError
    from medagentgym.rollout import RolloutConfig
    from medagentgym.runs.report import print_report
    from medagentgym.runs.store import (
        ManifestError,
        RunIdentityError,
        RunLockedError,
        RunManifest,
        RunStore,
        run_identity,
    )

    _check_splits(split)
    _one_of(action_format, "--action-format", ("json", "tools"))
    _one_of(backend, "--backend", ("local", "ray"))
    for value, flag, minimum in (
        (epochs, "--epochs", 1),
        (concurrency, "--concurrency", 1),
        (warm_sessions, "--warm-sessions", 0),
        (max_model_calls, "--max-model-calls", 1),
        (max_turns, "--max-turns", 1),
        (limit_per_category, "--limit-per-category", 1),
        (max_tokens, "--max-tokens", 1),
        (seed, "--seed", 0),
    ):
        _at_least(value, flag, minimum)
    _at_least(episode_timeout, "--episode-timeout", 0, above=True)
    if warm_sessions is not None and warm_sessions > 256:
        raise _fail(f"--warm-sessions {warm_sessions}: out of range (accepted: <= 256)")
    _at_least(request_timeout, "--request-timeout", 0, above=True)
    given = _policy_options(
        policy, action_format, model, base_url, api_key_env, temperature, top_p, max_tokens, request_timeout
    )
    given.update(_openai_options(policy, given, price_input, price_output, context_window, extra_body, seeded))
    spec = PolicySpec(name=policy, options={**given, **_key_values(policy_option or [], "--policy-option")})
    _check_taken(policy, spec.options)
    selection = _selection(dataset, category, split, limit_per_category, seed, samples, scale, corpus)
    try:
        chosen = list(select_samples(selection))
    except (UnknownDatasetError, SamplesFileError, ValueError) as exc:  # CorpusError is a ValueError
        raise _fail(str(exc)) from None
    if not chosen:
        raise _fail("the selection holds no samples")
    try:
        env_config = EnvConfig(
            max_turns=max_turns,
            action_format=action_format,  # type: ignore[arg-type]
            reveal_verdict=reveal_verdict,
            enable_debug_hint=debug_hint,
        )
        config = RolloutConfig(
            epochs=epochs,
            max_sessions=concurrency,
            warm_sessions=warm_sessions,
            max_model_calls=max_model_calls or concurrency,
            max_episode_s=episode_timeout,
            env=env_config,
            progress=progress,
        )
        the_policy = make_policy(spec)
    except (UnknownPolicyError, ValueError, TypeError) as exc:
        raise _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    try:
        preflight(the_policy)  # before any folder exists: a dead endpoint leaves nothing behind
    except PreflightError as exc:
        raise _fail(str(exc)) from None
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + f"-{policy}"
    run_dir = out or Path("runs") / run_id
    policy_info = the_policy.info.model_dump()
    manifest = RunManifest(
        run_id=run_id,
        created_at=datetime.now(UTC).isoformat(),
        policy=policy_info,
        selection=selection.model_dump(),
        env=env_config.model_dump(),
        episodes_planned=len(chosen) * epochs,
        identity=run_identity(
            policy_info, _identity_selection(selection), env_config.model_dump(), epochs=epochs, samples=len(chosen)
        ),
    )
    planned = {(sample.id, epoch) for sample in chosen for epoch in range(epochs)}
    try:
        store = RunStore(run_dir, manifest, extend=extend, planned=planned)
    except (RunLockedError, ManifestError, RunIdentityError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{run_dir}: cannot open the run folder ({exc.strerror or exc})") from None
    with store:
        shown_dir = escape(clean_text(str(run_dir)))
        for problem in store.problems:
            _warn(f"{problem}; its episode runs again")
        if store.changes:
            console.print(
                f"extended {shown_dir} ({escape(clean_text('; '.join(store.changes)))}); "
                f"{store.manifest.episodes_planned} episodes planned in all"
            )
        if store.done:
            console.print(f"resuming {shown_dir}: {len(store.done)} episodes already done")
        if backend == "ray":
            from medagentgym.rollout.ray_backend import run_rollouts_ray

            summary = run_rollouts_ray(chosen, spec, store, config, address=ray_address)
        else:
            from medagentgym.rollout import run_rollouts

            summary = run_rollouts(chosen, the_policy, store, config)
        failures = dict(store.appended_failures)
    console.print(
        f"ran {summary.written} episodes ({summary.skipped} already done), "
        f"{summary.successes} successful; statuses {summary.by_status}"
    )
    print_report(run_dir, console)
    infra = summary.by_status.get("infra_error", 0)
    if summary.written and infra == summary.written:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(failures.items()))
        raise _fail(
            f"all {infra} episodes of this run ended in infrastructure errors ({kinds}); "
            f"{run_dir} keeps them and running the same command again retries them",
            code=1,
        )


def _identity_selection(selection: Selection) -> dict[str, object]:
    """The selection as a run's identity records it: a samples file by its absolute path, so a
    resume from another directory is the same run."""
    if selection.samples_file:
        selection = selection.model_copy(update={"samples_file": str(Path(selection.samples_file).resolve())})
    # scale and corpus are recorded only when set, so runs made before they existed still resume;
    # a corpus by its version, so the run cites the instances it ran on
    dump = selection.model_dump(exclude={"scale", "corpus"})
    if selection.scale != "default":
        dump["scale"] = selection.scale
    if selection.corpus:
        from medagentgym.catalog.corpus import checked_manifest

        dump["corpus"] = checked_manifest(Path(selection.corpus)).corpus_version
    return dump


@app.command("report")
def report_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Run folder(s); several make a leaderboard.")],
    html: Annotated[Optional[Path], typer.Option(help="Also write an HTML report (with plots and a trajectory viewer) here.")] = None,
    terminal: Annotated[bool, typer.Option(help="Print the terminal tables.")] = True,
    verifier: Annotated[
        Optional[Path],
        typer.Option(help="A trained verifier (train verifier's model folder): best@k by it beside majority vote."),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option("--watch", help="With --html: rewrite the HTML report whenever a run changes, until Ctrl-C (a run in progress)."),
    ] = False,
) -> None:
    """Success by dataset and category, pass@k, best@k, failures; a leaderboard for several runs."""
    from medagentgym.runs.report import load_runs, print_report
    from medagentgym.runs.store import ManifestError

    if watch and html is None:
        raise _fail("--watch rewrites an HTML report: give --html DIR too")
    selectors = None
    if verifier is not None:
        from medagentgym.scoring.metrics import MajorityVote
        from medagentgym.training.verifier import VerifierLoadError, VerifierSelector

        try:
            selectors = [MajorityVote(), VerifierSelector(verifier)]
        except (VerifierLoadError, ImportError) as exc:
            raise _fail(clean_text(str(exc))) from None
    try:
        if terminal:
            print_report(runs, console, selectors=selectors)
        else:
            # still refuse folders that are not runs, and still name lines that could not be read
            for loaded in load_runs(runs, selectors=selectors):
                for problem in loaded.problems:
                    _warn(problem)
        if html is not None and watch:
            _watch_html(runs, html, selectors)
        elif html is not None:
            from medagentgym.runs.html_report import write_html_report

            index = write_html_report(runs, html, selectors=selectors)
            console.print(f"HTML report: {escape(clean_text(str(index)))}")
    except (FileNotFoundError, ManifestError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or 'report'}: {exc.strerror or exc}") from None


def _watch_html(runs: list[Path], html: Path, selectors: object) -> None:
    """Keep the HTML report of runs in progress current; Ctrl-C ends the watch with exit 0."""
    from medagentgym.runs.html_report import watch_html_report

    def written(index: Path) -> None:
        console.print(f"HTML report: {escape(clean_text(str(index)))}")

    err.print(f"watching {len(runs)} run(s) (Ctrl-C stops)")
    try:
        watch_html_report(runs, html, selectors=selectors, on_write=written)  # type: ignore[arg-type]
    except KeyboardInterrupt:  # the watch returns on Ctrl-C itself; one arriving between polls too
        pass
    err.print("stopped watching")


@app.command("validate")
def validate_cmd(
    dataset: DatasetOpt = None,
    category: CategoryOpt = None,
    split: SplitOpt = None,
    limit_per_category: Annotated[
        Optional[int], typer.Option(help="Samples per category (default: all).")
    ] = None,
    seed: int = 0,
    samples: Annotated[Optional[Path], typer.Option(help="Validate imported samples instead.")] = None,
    scale: ScaleOpt = "default",
    corpus: CorpusOpt = None,
    concurrency: Annotated[int, typer.Option(help="Episodes at once (per worker).")] = 4,
    workers: Annotated[int, typer.Option(help="Worker processes (each with its own sandbox server).")] = 1,
    out: Annotated[
        Optional[Path], typer.Option(help="Keep the episodes in this run folder; rerunning continues a killed validation.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a live progress line.")] = True,
) -> None:
    """Run the oracle over the catalog: every sample must score 1 (exit 1 otherwise)."""
    from medagentgym.runs.store import RunLockedError
    from medagentgym.validation import ValidationWorkerError, validate

    _check_splits(split)
    _at_least(limit_per_category, "--limit-per-category", 1)
    _at_least(concurrency, "--concurrency", 1)
    _at_least(workers, "--workers", 1)
    _at_least(seed, "--seed", 0)
    selection = _selection(dataset, category, split or list(SPLITS), limit_per_category, seed, samples, scale, corpus)
    try:
        result = validate(selection, concurrency=concurrency, progress=progress, workers=workers, out=out)
    except (UnknownDatasetError, SamplesFileError, ValueError, RunLockedError, ValidationWorkerError) as exc:
        raise _fail(str(exc)) from None  # CorpusError, ManifestError and RunIdentityError are ValueErrors
    except OSError as exc:
        raise _fail(f"{out}: cannot open the run folder ({exc.strerror or exc})") from None
    if len(result.counts) <= 200:
        console.print(result.table())
    if len(result.counts) > 200 or workers > 1:
        console.print(result.dataset_table())
    resumed = f", {result.resumed} found done in {escape(clean_text(str(out)))}" if result.resumed else ""
    console.print(f"validated {result.total} samples in {result.wall_s:.1f}s{resumed}")
    if result.failures:
        for failure in result.failures[:20]:
            err.print(f"[red]FAIL[/] {escape(clean_text(failure))}")
        raise typer.Exit(1)
    console.print(f"[green]all {result.total} samples score 1 with the oracle[/]")


@sandbox_app.command("check")
def sandbox_check_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Layers this kernel offers, the level chosen, and a self-test of attacks in real sessions.

    Exits 1 unless the level is strong (landlock+seccomp or seccomp+bwrap) and every attack of
    the self-test was contained.
    """
    from medagentgym.sandbox.check import sandbox_check

    report = sandbox_check()
    typer.echo(model_json(report, indent=2) if as_json else clean_text(report.render()))
    if not report.ok:
        raise typer.Exit(1)


@sandbox_app.command("exec")
def sandbox_exec_cmd(
    source: Annotated[str, typer.Argument(help="A Python file, or - for standard input.")] = "-",
    timeout: Annotated[float, typer.Option(help="Wall-clock limit, s.")] = 30.0,
    allow_insecure: Annotated[
        bool, typer.Option(help="Run even if only a weak isolation level is available.")
    ] = False,
) -> None:
    """Run a Python snippet in a fresh session at the chosen level; print the result as JSON."""
    from medagentgym.sandbox import SandboxLimits
    from medagentgym.sandbox.check import exec_snippet

    if source == "-":
        stream = getattr(sys.stdin, "buffer", None)
        data = stream.read() if stream is not None else sys.stdin.read().encode("utf-8", "surrogateescape")
    else:
        path = Path(source)
        if not path.is_file():
            raise _fail(f"no such file: {source}")
        data = path.read_bytes()
    try:
        code = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(f"{'standard input' if source == '-' else source}: not valid UTF-8 (byte {exc.start + 1})") from None
    result = exec_snippet(code, SandboxLimits(timeout_s=timeout), allow_insecure=allow_insecure or None)
    # The snippet controls every byte of its output: print it as valid UTF-8 whatever it holds.
    typer.echo(model_json(result, indent=2))
    if result.status == "infra_error":
        raise typer.Exit(2)


@fhir_app.command("serve")
def fhir_serve_cmd(
    split: Annotated[str, typer.Option(help="Which split's record store to serve.")] = "test",
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    dataset: Annotated[str, typer.Option(help="Dataset whose template store is served.")] = "medagentbench",
) -> None:
    """Serve a private copy of a split's FHIR store over HTTP at http://HOST:PORT/fhir/.

    Reads (search, read by id, metadata) and creates behave as in the gym's fhir_get/fhir_post;
    writes go to the copy and are gone when the server stops. Needs FastAPI and uvicorn.
    """
    if split not in SPLITS:
        raise _fail(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    if not 0 < port < 65536:
        raise _fail(f"port {port} is out of range")
    try:
        ds = get_dataset(dataset)
    except UnknownDatasetError as exc:
        raise _fail(str(exc)) from None
    template = getattr(ds, "template", None)
    if template is None:
        raise _fail(f"{dataset} has no FHIR record store")
    from medagentgym.fhir.server import serve

    path = template(split)
    err.print(f"serving {escape(dataset)} ({split}) at http://{escape(host)}:{port}/fhir/ (Ctrl-C stops)")
    try:
        serve(path, host=host, port=port)
    except (RuntimeError, OSError) as exc:
        raise _fail(str(exc)) from None


def main() -> None:  # pragma: no cover - console entry
    app(prog_name="medagentgym")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
