"""A self-contained static HTML report of one or more runs, with a trajectory viewer.

Layout of ``out_dir``::

    index.html                    leaderboard, success per dataset, charts, samples across runs
    metrics.json                  ReportMetrics: the RunMetrics of every run
    assets/                       report.css, report.js, plotly.min.js (copied at write time)
    runs/r1/index.html            one run: the episode table first, then charts and tables
    runs/r1/metrics.json          that run's RunMetrics
    runs/r1/episodes/e0001.html   one episode: answer beside expected answer, then step by step
    compare/c0001.html            one sample across runs, side by side (reports of several runs)

Why static and self-contained: reports are read on machines without network (clusters, air-gapped
hospitals) and shared as a folder or a zip. So every asset sits in ``assets/`` (plotly.js comes
from the installed plotly package), and a Content-Security-Policy forbids every fetch.

Pages are jinja2 templates (``templates/``) with autoescaping on: everything that comes from a run
(model output, answers, code, even policy names in the manifest) is untrusted and is escaped by
the template engine; nothing from a run is placed inside a <script> element (chart data travels
in an escaped ``data-figure`` attribute and is read with JSON.parse). File names are numbers,
never sample ids.

A run in progress: ``write_html_report(..., refresh_s=N)`` makes the index and the page of an
unfinished run (fewer episodes written than planned) reload every N seconds, and
``watch_html_report`` rewrites the report whenever a run's trajectories file changes.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from medagentgym import __version__
from medagentgym.runs import plots
from medagentgym.runs.report import (
    LoadedRun,
    best_values,
    ci,
    cost_cell,
    failure_line,
    load_runs,
    overlap_line,
    pct,
    ranked,
    scaling_rows,
    selector_names,
    with_ci,
)
from medagentgym.runs.schema import StepRecord, Trajectory
from medagentgym.runs.store import MANIFEST, TRAJECTORIES
from medagentgym.scoring.metrics import GroupMetrics, RunMetrics, Selector, episode_cost
from medagentgym.untrusted import clean_text, model_json

__all__ = [
    "DEFAULT_MAX_EPISODES",
    "ReportMetrics",
    "expected_answer",
    "select_episodes",
    "watch_html_report",
    "write_html_report",
]

DEFAULT_MAX_EPISODES = 500  # episode pages per run (and compare pages): a 72k-episode run must not write 72k files
MAX_BLOCK_CHARS = 100_000  # one text block (a model output, stdout) is cut beyond this
SHORT_CHARS = 60  # an answer in a table cell

# From the MedAgentGym paper (see the project's design notes); for orientation only: the original
# benchmark ran on credentialed data and other task instances, so these are not comparable numbers.
PUBLISHED = {
    "Overall success rate, original leaderboard (approximate)": [
        ("gpt-4.1", "~70"),
        ("o4-mini", "~66"),
        ("gpt-4.1-mini", "~62"),
        ("gpt-4o", "~49"),
        ("gpt-4o-mini", "~37.5"),
        ("open models, average", "35.78"),
        ("API models, average", "56.75"),
    ],
    "Qwen2.5-7B-Instruct after training (overall %)": [
        ("base", "16.89"),
        ("+SFT", "53.87"),
        ("+DPO", "45.04"),
        ("+SFT then DPO (Med-Copilot-7B)", "59.90"),
    ],
    "Med-Copilot-7B per dataset (%)": [
        ("MIMIC-III", "64.13"),
        ("eICU", "66.91"),
        ("TREQS", "72.02"),
        ("MedCalc", "90.06"),
        ("MedAgentBench", "52.54"),
        ("BioCoder", "34.62"),
        ("BioDSBench", "69.39"),
        ("EHRSHOT", "29.55"),
    ],
    "Inference-time scaling, 7B sampler": [
        ("pass@1 / pass@16", "17.0 / 45.0"),
        ("best@1 / best@16 (trained verifier)", "17.0 / 41.7"),
    ],
}

# Scripts and styles only from the report's own assets/ folder; no fetch, no frame, no form.
# 'unsafe-inline' for styles only: plotly sets element styles, and run colours are style attributes.
CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'"
ASSETS = ("report.css", "report.js")


class ReportMetrics(BaseModel):
    """What ``metrics.json`` at the top of a report holds."""

    medagentgym_version: str = __version__
    runs: list[RunMetrics]


# ------------------------------------------------------------------------------------------------
# Text helpers


def _cut(text: str) -> str:
    if len(text) <= MAX_BLOCK_CHARS:
        return text
    return text[:MAX_BLOCK_CHARS] + f"\n… [cut: {len(text) - MAX_BLOCK_CHARS} more characters not shown]"


def _block(value: Any) -> str:
    """Untrusted text (or a JSON value) for a <pre> block, cut to MAX_BLOCK_CHARS."""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return _cut(text)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _answer_full(value: Any) -> str:
    """A submitted answer as JSON, so the string "2.0" and the number 2.0 look different."""
    indent = 2 if isinstance(value, (list, dict)) and len(_json_text(value)) > 80 else None
    return _cut(json.dumps(value, indent=indent, ensure_ascii=False, default=str))


def _short(text: str, limit: int = SHORT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


# The scorer's explanation names the gold answer for most answer types ("accepted range [a, b]",
# "expected X"); trajectories written before scores recorded it on its own are read from there.
_RANGE = re.compile(r"accepted range (\[[^\]]*\])")
_EXPECTED = re.compile(r"\bexpected (?:exactly )?(.+?)(?: \((?:rel_tol|case)[^)]*\))?(?:;|$)")


def expected_answer(trajectory: Trajectory) -> tuple[str | None, str | None]:
    """(the expected answer as text, where it came from) for an episode's page, or (None, None).

    A score that records the gold answer (``Score.expected``, when the scorer stores it) is shown
    as JSON; otherwise the answer the scorer's explanation names ("accepted range [a, b]",
    "expected X"), marked as read from the explanation. Hidden tests and prediction labels are
    never shown.
    """
    score = trajectory.score
    if score is None:
        return None, None
    recorded = getattr(score, "expected", None)
    if recorded is not None:
        return _answer_full(recorded), None
    explanation = score.explanation or ""
    found = _RANGE.search(explanation)
    if found:
        return f"a number in {found.group(1)}", "from the scorer's explanation"
    found = _EXPECTED.search(explanation)
    if found and "item(s)" not in found.group(1):  # "expected 3 item(s), got 2" names a count, not the answer
        return found.group(1).strip(), "from the scorer's explanation"
    return None, None


def _verdict(t: Trajectory) -> str:
    if t.status == "infra_error":
        return "not scored"
    return "correct" if t.success else "wrong"


def _model_times(t: Trajectory) -> list[float]:
    """Seconds of each policy call that produced a step (StepRecord.model_s; absent in old runs)."""
    return [v for v in (getattr(s, "model_s", None) for s in t.steps) if v is not None]


def _tokens(t: Trajectory) -> int:
    return t.usage.prompt_tokens + t.usage.completion_tokens


def _total(values: Sequence[float]) -> str:
    return f"{sum(values):.2f} s" if values else "-"


# ------------------------------------------------------------------------------------------------
# Templates and assets


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(template: str, **context: Any) -> str:
    context.setdefault("csp", CSP)
    context.setdefault("refresh_s", None)
    context.setdefault("charts", [])
    return _environment().get_template(template).render(**context)


def _write(path: Path, text: str) -> None:
    """Write one report file as valid UTF-8 (a lone surrogate from a run becomes U+FFFD)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(clean_text(text), encoding="utf-8")


def _copy_if_changed(source: Path, target: Path) -> None:
    if target.exists() and target.stat().st_size == source.stat().st_size and target.read_bytes() == source.read_bytes():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _write_assets(out_dir: Path) -> None:
    """The report's CSS and JS, and plotly.js from the installed plotly package (once per folder)."""
    static = Path(__file__).parent / "static"
    for name in ASSETS:
        _copy_if_changed(static / name, out_dir / "assets" / name)
    plotly_js = resources.files("plotly") / "package_data" / "plotly.min.js"
    with resources.as_file(plotly_js) as source:
        _copy_if_changed(Path(source), out_dir / "assets" / "plotly.min.js")


# ------------------------------------------------------------------------------------------------
# Pieces shared by pages


@dataclass(frozen=True)
class _RunView:
    """How one run appears everywhere in the report: its number, label, colour and links."""

    index: int  # 0-based place in the report
    label: str  # "#i policy:model"
    href: str  # from the report root
    colour: str

    @property
    def series(self) -> plots.Series:
        return (self.label, self.index)


def _figure(figure: plots.Figure | None) -> str | None:
    return None if figure is None else json.dumps(figure, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _chart(figure: plots.Figure | None, caption: str, empty: str, *, full: bool = False) -> dict[str, Any]:
    return {"figure": _figure(figure), "caption": caption, "empty": empty, "full": full}


def _failure_counts(trajectories: Sequence[Trajectory]) -> dict[str, int]:
    """Episodes per failure kind: non-ok statuses, infrastructure kinds, and 'no submission'."""
    counts: Counter[str] = Counter()
    for t in trajectories:
        if t.status == "infra_error":
            counts[f"infra: {t.failure or 'unknown'}"] += 1
        elif t.status != "ok":
            counts[t.status] += 1
        elif not t.success:
            counts["wrong answer"] += 1
        if any(s.parse_error for s in t.steps):
            counts["had a parse error"] += 1
        if any(t.api_retries.values()):
            counts["absorbed API retries"] += 1
    return dict(counts)


def _curves(m: RunMetrics) -> list[plots.Curve]:
    o = m.overall
    curves: list[plots.Curve] = [("pass@k", o.pass_at_k, o.pass_at_k_ci)]
    for i, name in enumerate(selector_names(m)):
        curves.append((f"best@k ({name})", best_values(o, name, i == 0), o.best_at_k_ci_by.get(name, {})))
    return curves


def _charts(runs: Sequence[LoadedRun], views: Sequence[_RunView]) -> list[dict[str, Any]]:
    """The charts of a page: each run in its own colour; failed runs only where they have data."""
    scored = [(r, v) for r, v in zip(runs, views) if not r.metrics.failed]
    charts = [
        _chart(
            plots.success_bars([(v.series, r.metrics.datasets) for r, v in scored], title="Success by dataset"),
            "Success by dataset, Wilson 95% intervals (infrastructure failures not scored); hover for counts.",
            "No scored episode.",
        ),
        _chart(
            plots.pass_at_k_curve([(v.series, _curves(r.metrics)) for r, v in scored]),
            "Unbiased pass@k and best@k of each selector over tasks, k = 1..K, with 95% bootstrap intervals over "
            "tasks; the line style tells the measure, the colour the run.",
            "No scored task.",
        ),
        _chart(
            plots.count_bars(
                [(v.series, [len(t.steps) for t in r.trajectories]) for r, v in scored],
                title="Turns per episode",
                xlabel="turns",
                integer=True,
            ),
            "Turns (env steps) per episode.",
            "No episode took a turn.",
        ),
        _chart(
            plots.count_bars(
                [(v.series, [_tokens(t) for t in r.trajectories] if r.metrics.tokens.mean_total_tokens else []) for r, v in scored],
                title="Tokens per episode",
                xlabel="prompt + completion tokens",
            ),
            "Tokens per episode (prompt + completion); runs that recorded no usage are left out.",
            "No token usage was recorded (e.g. the oracle or a scripted policy).",
        ),
        _chart(
            plots.latency_boxes(
                [
                    (
                        v.series,
                        {
                            "model call": [x for t in r.trajectories for x in _model_times(t)],
                            "env step": [s.duration_s for t in r.trajectories for s in t.steps],
                        },
                    )
                    for r, v in scored
                ]
            ),
            "Per-call latency: seconds per model call and per env step (box: quartiles, whiskers: min and max).",
            "No step was timed.",
        ),
        _chart(
            plots.failure_bars(
                [(v.series, _failure_counts(r.trajectories)) for r, v in zip(runs, views)], title="What went wrong"
            ),
            "Episodes per failure kind; 'had a parse error' and 'absorbed API retries' overlap the others.",
            "Nothing went wrong: every episode submitted a correct answer.",
        ),
        _chart(
            plots.success_bars(
                [(v.series, r.metrics.categories) for r, v in scored], title="Success by category", horizontal=True
            ),
            "Success by dataset/category, Wilson 95% intervals.",
            "No scored episode.",
            full=True,
        ),
    ]
    return charts


def _group_views(groups: Sequence[GroupMetrics], k: int, names: Sequence[str]) -> list[dict[str, Any]]:
    views = []
    for g in groups:
        problems = [f"{s} {n}" for s, n in g.by_status.items() if s not in ("ok", "infra_error")]
        problems += [f"infra:{kind} {n}" for kind, n in g.infra_by_kind.items()]
        views.append(
            {
                "name": g.name,
                "episodes": g.episodes,
                "tasks": g.tasks,
                "success": pct(g.success_rate) if g.scored else "-",
                "ci": ci(g),
                "balanced": "-" if g.balanced_accuracy is None else f"{pct(g.balanced_accuracy)} ({g.yes_no_answers})",
                "pass1": pct(g.pass_at_k[1]) if 1 in g.pass_at_k else "-",
                "passk": with_ci(g.pass_at_k, g.pass_at_k_ci, k),
                "bests": [with_ci(best_values(g, n, i == 0), g.best_at_k_ci_by.get(n, {}), k) for i, n in enumerate(names)],
                "turns": f"{g.mean_turns:.1f}",
                "problems": ", ".join(problems) or "-",
            }
        )
    return views


def _all_selectors(runs: Sequence[LoadedRun]) -> list[str]:
    names: list[str] = []
    for run in runs:
        names += [n for n in selector_names(run.metrics) if n not in names]
    return names


def _unfinished(run: LoadedRun) -> str | None:
    """'n of N episodes' while a run has fewer episodes written than planned, else None."""
    planned = run.manifest.episodes_planned
    done = len(run.trajectories)
    return f"{done} of {planned} episodes written" if planned and done < planned else None


# ------------------------------------------------------------------------------------------------
# Episode selection and pages


def _order(t: Trajectory) -> tuple[str, str, str, int]:
    return (t.dataset, t.category, t.sample_id, t.epoch)


def select_episodes(trajectories: Sequence[Trajectory], limit: int) -> list[Trajectory]:
    """Up to ``limit`` episodes to give pages: round-robin over categories, unsuccessful ones first.

    Why: a capped viewer should still show every category, and the episodes a person wants to
    read first are the ones that went wrong. The result is in report order (dataset, category,
    sample, epoch).
    """
    by_category: dict[tuple[str, str], list[Trajectory]] = defaultdict(list)
    for t in sorted(trajectories, key=_order):
        by_category[(t.dataset, t.category)].append(t)
    queues = [sorted(ts, key=lambda t: (t.success, _order(t))) for _, ts in sorted(by_category.items())]
    chosen: list[Trajectory] = []
    depth = 0
    while len(chosen) < limit and any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue) and len(chosen) < limit:
                chosen.append(queue[depth])
        depth += 1
    return sorted(chosen, key=_order)


def _content_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return _json_text(content)  # a list of content parts


def _exec_summary(step: StepRecord) -> str:
    ex = step.execution
    if ex is None:
        return "-"
    flags = [f"status {ex.status}", f"{1000 * ex.duration_s:.1f} ms"]
    flags += [name for name in ("timed_out", "truncated", "session_restarted") if getattr(ex, name)]
    return " · ".join(flags)


def _step_view(step: StepRecord, message: dict[str, Any] | None) -> dict[str, Any]:
    params = dict((step.action or {}).get("params") or {})
    code = [(key, _cut(params.pop(key))) for key in ("code", "query") if isinstance(params.get(key), str)]
    ex = step.execution
    execution = []
    if ex is not None:
        for name, cls in (("stdout", ""), ("stderr", "err"), ("value_repr", ""), ("error", "err")):
            value = getattr(ex, name)
            if value:
                execution.append((name, _block(value), cls))
    return {
        "index": step.index,
        "output": None if message is None else _cut(_content_text(message)),
        "tool_calls": _block(message["tool_calls"]) if message is not None and message.get("tool_calls") else None,
        "action_name": None if step.action is None else str(step.action.get("name", "?")),
        "code": code,
        "params": _block(params) if params else None,
        "parse_error": _cut(step.parse_error) if step.parse_error else None,
        "observation": _cut(step.observation),
        "execution": execution if ex is not None else None,
        "exec_summary": _exec_summary(step),
        "model_s": _seconds(getattr(step, "model_s", None)),
        "env_s": _seconds(step.duration_s),
    }


def _episode_view(t: Trajectory, href: str | None) -> dict[str, Any]:
    """What the episode table, the episode page and the compare page show of one episode."""
    expected, source = expected_answer(t)
    cost = episode_cost(t)
    model = _model_times(t)
    env = [s.duration_s for s in t.steps]
    answer = _json_text(t.submitted_answer) if t.submitted else "—"
    score = t.score
    return {
        "sample_id": t.sample_id,
        "epoch": t.epoch,
        "dataset": t.dataset,
        "category": t.category,
        "category_key": f"{t.dataset}/{t.category}",
        "status": t.status,
        "verdict": _verdict(t),
        "success": "yes" if t.success else ("not scored" if t.status == "infra_error" else "no"),
        "submitted": t.submitted,
        "answer": _short(answer),
        "answer_full": _answer_full(t.submitted_answer) if t.submitted else "",
        "expected": _short(expected) if expected else "-",
        "expected_full": expected,
        "expected_source": source,
        # Why no expected answer is shown: a graded answer whose type keeps it hidden, or none graded.
        "score_recorded": t.score is not None,
        "search": f"{t.sample_id} {answer}"[:2000],
        "turns": len(t.steps),
        "tokens": _tokens(t),
        "cost": "" if cost is None else f"${cost:.5f}",
        "cost_value": -1 if cost is None else cost,
        "model_s": _total(model).removesuffix(" s"),
        "model_value": sum(model) if model else -1,
        "env_s": f"{sum(env):.2f}",
        "model_total": _total(model),
        "env_total": _total(env),
        "duration": f"{t.timing.duration_s:.2f} s",
        "href": href,
        "score_text": f"score {score.value:g} as {score.answer_type}" if score else "",
        "explanation": score.explanation if score else "",
        "parsed": _answer_full(score.parsed) if score and score.parsed is not None else None,
        "error": _cut(t.error) if t.error else None,
    }


def _episode_page(
    t: Trajectory,
    *,
    run: _RunView,
    prev_href: str | None,
    next_href: str | None,
    compare_href: str | None,
) -> str:
    system = next((m.get("content") for m in t.messages if m.get("role") == "system"), "") or ""
    task = next((m.get("content") for m in t.messages if m.get("role") == "user"), "") or ""
    messages = [m for m in t.messages if m.get("role") == "assistant"]
    steps = [_step_view(step, messages[i] if i < len(messages) else None) for i, step in enumerate(t.steps)]
    extra = [_cut(_content_text(m)) for m in messages[len(t.steps) :]]  # model output that never became a step
    view = _episode_view(t, None)
    cost = episode_cost(t)
    facts = [
        ("failure kind", t.failure or "-"),
        ("API retries absorbed", ", ".join(f"{k} {n}" for k, n in t.api_retries.items()) or "-"),
        ("tokens", f"{t.usage.prompt_tokens} prompt + {t.usage.completion_tokens} completion"
         + (f" (${cost:.5f})" if cost is not None else "")),
        ("time", f"{t.timing.duration_s:.2f} s, {t.timing.started_at} → {t.timing.ended_at}"),
        ("sample", f"{t.sample_id} ({t.dataset}/{t.category}, split {t.split}), epoch {t.epoch}, seed {t.seed}"),
        ("policy", f"{run.label} {_json_text(t.policy.sampling)}"),
        ("sandbox", t.sandbox_level or "-"),
    ]  # fmt: skip
    return _render(
        "episode.html.j2",
        title=f"{t.sample_id} #{t.epoch}",
        root="../../../",
        crumbs=[("report", "../../../index.html"), (run.label, "../index.html"), (f"{t.sample_id} epoch {t.epoch}", None)],
        e=view,
        facts=facts,
        steps=steps,
        extra_outputs=extra,
        system=_cut(str(system)),
        task=_cut(str(task)),
        run_href="../index.html",
        prev_href=prev_href,
        next_href=next_href,
        compare_href=compare_href,
    )


# ------------------------------------------------------------------------------------------------
# Run page


def _cards(m: RunMetrics, latency: Sequence[float]) -> list[tuple[str, str]]:
    o, k, t, f = m.overall, m.samples_per_task, m.tokens, m.failures
    cards = [
        (pct(o.success_rate), f"success ({o.successes}/{o.scored} scored)"),
        (ci(o), "95% Wilson interval"),
    ]
    if k > 1:  # at K = 1, pass@1 is success over tasks: one card, not two
        cards.append((with_ci(o.pass_at_k, o.pass_at_k_ci, k), f"pass@{k} (95% CI)"))
        cards += [
            (with_ci(best_values(o, n, i == 0), o.best_at_k_ci_by.get(n, {}), k), f"best@{k} ({n})")
            for i, n in enumerate(selector_names(m))
        ]
    cards += [
        (f"{o.mean_turns:.1f}", "mean turns"),
        (f"{t.mean_total_tokens:.0f}", "tokens per episode"),
        (cost_cell(m), "cost (USD)"),
        (f"{sorted(latency)[len(latency) // 2]:.2f} s" if latency else "-", "median model call"),
        (pct(f.parse_error_step_rate), "steps with a parse error"),
        (pct(f.infra_rate), "infra failures (not scored)"),
    ]
    return cards


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _latency_rows(run: LoadedRun) -> list[list[str]]:
    rows = []
    for name, values in (
        ("model call (s)", [x for t in run.trajectories for x in _model_times(t)]),
        ("env step (s)", [s.duration_s for t in run.trajectories for s in t.steps]),
        ("episode (s)", [t.timing.duration_s for t in run.trajectories]),
    ):
        if values:
            rows.append(
                [name, str(len(values)), f"{_percentile(values, 0.5):.2f}", f"{_percentile(values, 0.9):.2f}",
                 f"{max(values):.2f}", f"{sum(values):.1f}"]
            )  # fmt: skip
        else:
            rows.append([name, "0", "-", "-", "-", "-"])
    return rows


def _run_page(
    run: LoadedRun,
    view: _RunView,
    chosen: Sequence[Trajectory],
    files: Sequence[str],
    charts: list[dict[str, Any]],
    refresh_s: int | None,
) -> str:
    m = run.metrics
    k = m.samples_per_task
    names = selector_names(m)
    f = m.failures
    failure_rows = [
        ["steps with a parse error", f"{f.parse_error_steps} / {f.steps}", pct(f.parse_error_step_rate)],
        ["episodes ended by parse errors", f"{f.parse_error_episodes} / {f.episodes}", pct(f.parse_error_rate)],
        ["episodes timed out", f"{f.timeout_episodes} / {f.episodes}", pct(f.timeout_rate)],
        ["episodes at the turn limit", f"{f.max_turns_episodes} / {f.episodes}", pct(f.max_turns_rate)],
        ["episodes without a submission", f"{f.not_submitted} / {f.episodes}", pct(f.not_submitted / f.episodes if f.episodes else None)],
        ["code executions that hit the time limit", str(f.exec_timeout_steps), "-"],
        ["infrastructure failures (not scored)", f"{f.infra_episodes} / {f.episodes}", pct(f.infra_rate)],
    ]  # fmt: skip
    failure_rows += [[f"  infra: {kind}", str(n), "-"] for kind, n in f.infra_by_kind.items()]
    failure_rows += [[f"  API retries absorbed: {kind}", str(n), "-"] for kind, n in f.api_retries_by_kind.items()]
    failure_rows.append(["episodes with absorbed API retries", str(f.episodes_with_retries), "-"])
    t = m.tokens
    token_rows = [
        ["prompt tokens", str(t.prompt_tokens), f"{t.mean_prompt_tokens:.1f}"],
        ["completion tokens", str(t.completion_tokens), f"{t.mean_completion_tokens:.1f}"],
        ["cost (USD)", cost_cell(m), "-" if t.mean_cost_usd is None else f"${t.mean_cost_usd:.5f}"],
    ]
    notes = []
    if m.max_samples_per_task > k:
        notes.append(
            f"Some tasks have fewer scored samples ({k}) than others ({m.max_samples_per_task}), so pass@k and "
            f"best@k stop at k={k}. Resuming the run retries infrastructure failures."
        )
    total = len(run.trajectories)
    episodes_note = (
        f"{len(chosen)} of {total} episodes have a page: every category in turn, unsuccessful episodes first. "
        "The numbers count all episodes."
        if len(chosen) < total
        else ""
    )
    episodes = [_episode_view(tr, href) for tr, href in zip(chosen, files)]
    latency = [x for tr in run.trajectories for x in _model_times(tr)]
    planned = f" of {m.episodes_planned} planned" if m.episodes_planned else ""
    live = _unfinished(run) if refresh_s else None
    return _render(
        "run.html.j2",
        title=view.label,
        root="../../",
        crumbs=[("report", "../../index.html"), (view.label, None)],
        refresh_s=refresh_s if live else None,
        live=live,
        run={
            "label": view.label,
            "colour": view.colour,
            "run_id": m.run_id,
            "run_dir": clean_text(str(run.run_dir)),
            "created_at": run.manifest.created_at,
            "episodes_text": f"{m.episodes}{planned} episodes",
            "tasks": m.tasks,
            "k": k,
            "version": run.manifest.medagentgym_version,
            "failed": failure_line(m, run.trajectories) if m.failed else None,
        },
        notes=notes,
        problems=run.problems[:50] + ([f"... and {len(run.problems) - 50} more"] if len(run.problems) > 50 else []),
        cards=_cards(m, latency),
        filters=[
            ("dataset", "dataset", sorted({tr.dataset for tr in chosen})),
            ("category", "category", sorted({f"{tr.dataset}/{tr.category}" for tr in chosen})),
            ("status", "status", sorted({tr.status for tr in chosen})),
            ("success", "correct", ["yes", "no", "not scored"]),
        ],
        episodes=episodes,
        episodes_note=episodes_note,
        has_cost=any(e["cost"] for e in episodes),
        charts=charts,
        datasets=_group_views(m.datasets, k, names),
        categories=_group_views(m.categories, k, names),
        balanced_datasets=any(g.balanced_accuracy is not None for g in m.datasets),
        balanced_categories=any(g.balanced_accuracy is not None for g in m.categories),
        selectors=names,
        scaling_headers=["k", "pass@k", *(f"best@k ({n})" for n in names)],
        scaling_rows=scaling_rows(m),
        scaling_numeric=tuple(range(len(names) + 2)),
        failure_rows=failure_rows,
        token_rows=token_rows,
        latency_rows=_latency_rows(run),
        manifest=_block(run.manifest.model_dump(mode="json")),
    )


# ------------------------------------------------------------------------------------------------
# Index and compare pages


def _leaderboard_rows(runs: Sequence[LoadedRun], views: Sequence[_RunView]) -> list[dict[str, Any]]:
    names = _all_selectors(runs)
    rows = []
    for i in ranked(runs):
        run, view = runs[i], views[i]
        m = run.ranked_metrics
        o, k = m.overall, m.samples_per_task
        own = selector_names(m)
        overlap = run.overlap
        t = run.metrics.tokens
        not_ok = sum(n for status, n in run.metrics.overall.by_status.items() if status != "ok")
        bests = []
        for n in names:
            values = best_values(o, n, n in own and own.index(n) == 0)
            bounds = o.best_at_k_ci_by.get(n, {}).get(k)
            bests.append(
                {
                    "text": pct(values[k]) if n in own and k in values else "-",
                    "value": values.get(k, -1) if n in own else -1,
                    "ci": f"{100 * bounds[0]:.0f}-{100 * bounds[1]:.0f}%" if bounds and n in own else "",
                }
            )
        pass_bounds = o.pass_at_k_ci.get(k)
        rows.append(
            {
                "number": i + 1,
                "label": view.label,
                "href": view.href,
                "colour": view.colour,
                "run_id": run.metrics.run_id,
                "episodes": f"{run.metrics.episodes}" + (f" / {run.metrics.episodes_planned}" if run.metrics.episodes_planned else ""),
                "tasks": run.metrics.tasks,
                "k": k if not run.metrics.failed else "-",
                "failed": run.metrics.failed,
                "failed_kinds": ", ".join(f"{kind} {n}" for kind, n in run.metrics.failures.infra_by_kind.items()),
                "success": pct(o.success_rate),
                "success_value": o.success_rate,
                "ci": ci(o),
                "common_n": len(overlap.common) if overlap and overlap.compared[i] else 0,
                "common": f"{len(overlap.common)} / {overlap.per_run[i]}" if overlap and overlap.compared[i] else "-",
                "own": "-" if run.metrics.failed else pct(run.metrics.overall.success_rate),
                "own_value": -1 if run.metrics.failed else run.metrics.overall.success_rate,
                "passk": pct(o.pass_at_k[k]) if k in o.pass_at_k else "-",
                "passk_value": o.pass_at_k.get(k, -1),
                "passk_ci": f"{100 * pass_bounds[0]:.0f}-{100 * pass_bounds[1]:.0f}%" if pass_bounds else "",
                "bests": bests,
                "turns": f"{run.metrics.overall.mean_turns:.1f}",
                "tokens": f"{t.mean_prompt_tokens:.0f} + {t.mean_completion_tokens:.0f}",
                "tokens_value": t.mean_total_tokens,
                "cost": cost_cell(run.metrics),
                "cost_value": -1 if t.cost_usd is None else t.cost_usd,
                "not_ok": pct(not_ok / run.metrics.episodes if run.metrics.episodes else None, 0),
            }
        )
    return rows


def _failure_overview(runs: Sequence[LoadedRun], views: Sequence[_RunView]) -> list[list[str]]:
    rows = []
    for run, view in zip(runs, views):
        f = run.metrics.failures
        infra = f"{pct(f.infra_rate)}: " + ", ".join(f"{kind} {n}" for kind, n in f.infra_by_kind.items()) if f.infra_episodes else "-"
        retries = ", ".join(f"{kind} {n}" for kind, n in f.api_retries_by_kind.items())
        rows.append(
            [
                view.label,
                pct(f.parse_error_step_rate),
                pct(f.parse_error_rate),
                pct(f.timeout_rate),
                pct(f.max_turns_rate),
                pct(f.not_submitted / f.episodes if f.episodes else None),
                str(f.exec_timeout_steps),
                infra,
                f"{retries} (in {f.episodes_with_retries} episodes)" if retries else "-",
            ]
        )
    return rows


def _compared_samples(runs: Sequence[LoadedRun], limit: int) -> list[str]:
    """Sample ids attempted by two or more runs, up to ``limit``: disagreements first, then by id."""
    per_run = [{t.sample_id for t in run.trajectories} for run in runs]
    counted = Counter(s for ids in per_run for s in ids)
    shared = [s for s, n in counted.items() if n >= 2]

    def agree(sample: str) -> bool:
        verdicts = {any(t.success for t in run.trajectories if t.sample_id == sample) for run, ids in zip(runs, per_run) if sample in ids}
        return len(verdicts) <= 1

    by_sample = {s: agree(s) for s in shared}
    return sorted(shared, key=lambda s: (by_sample[s], s))[:limit]


def _compare_pages(
    runs: Sequence[LoadedRun],
    views: Sequence[_RunView],
    pages: Sequence[dict[tuple[str, int], str]],
    samples: Sequence[str],
    out_dir: Path,
) -> list[dict[str, Any]]:
    """Write compare/cNNNN.html for each sample; returns the rows of the index's samples table."""
    by_run: list[dict[str, list[Trajectory]]] = []
    for run in runs:
        grouped: dict[str, list[Trajectory]] = defaultdict(list)
        for t in sorted(run.trajectories, key=lambda t: t.epoch):
            grouped[t.sample_id].append(t)
        by_run.append(grouped)
    files = [f"compare/c{n:04d}.html" for n in range(1, len(samples) + 1)]
    for stale in sorted((out_dir / "compare").glob("c[0-9]*.html")):
        if f"compare/{stale.name}" not in files:
            stale.unlink()
    rows = []
    for n, sample in enumerate(samples):
        columns = []
        cells = []
        first: Trajectory | None = None
        for run_index, (grouped, view) in enumerate(zip(by_run, views)):
            episodes = grouped.get(sample, [])
            first = first or (episodes[0] if episodes else None)
            scored = [t for t in episodes if t.status != "infra_error"]
            right = sum(t.success for t in scored)
            summary = f"{right} of {len(scored)} scored episodes correct" if episodes else "not attempted"
            columns.append(
                {
                    "label": view.label,
                    "colour": view.colour,
                    "href": "../" + view.href,
                    "summary": summary,
                    "episodes": [
                        _episode_view(t, ("../" + pages[run_index][t.key]) if t.key in pages[run_index] else None)
                        for t in episodes
                    ],
                }
            )
            cells.append(
                {"text": f"{right}/{len(scored)}" if episodes else "-", "value": right / len(scored) if scored else -1}
            )
        assert first is not None  # a compared sample is in two runs at least
        expected, source = next(
            (expected_answer(t) for grouped in by_run for t in grouped.get(sample, []) if expected_answer(t)[0]),
            (None, None),
        )
        _write(
            out_dir / files[n],
            _render(
                "compare.html.j2",
                title=f"{sample} across runs",
                root="../",
                crumbs=[("report", "../index.html"), (f"{sample} across runs", None)],
                sample_id=sample,
                dataset=first.dataset,
                category=first.category,
                expected=expected,
                expected_source=source,
                columns=columns,
                prev_href=f"c{n:04d}.html" if n > 0 else None,
                next_href=f"c{n + 2:04d}.html" if n + 1 < len(samples) else None,
            ),
        )
        verdicts = {c["value"] > 0 for c in cells if c["value"] >= 0}
        rows.append(
            {
                "sample_id": sample,
                "href": files[n],
                "dataset": first.dataset,
                "category": first.category,
                "category_key": f"{first.dataset}/{first.category}",
                "cells": cells,
                "agree": "yes" if len(verdicts) <= 1 else "no",
                "search": sample,
            }
        )
    return rows


def _index_page(
    runs: Sequence[LoadedRun],
    views: Sequence[_RunView],
    charts: list[dict[str, Any]],
    samples: list[dict[str, Any]],
    samples_note: str,
    refresh_s: int | None,
) -> str:
    dataset_names = sorted({g.name for r in runs for g in r.metrics.datasets})
    dataset_rows = []
    for name in dataset_names:
        row = [name]
        for r in runs:
            g = r.metrics.dataset(name)
            row.append("-" if g is None or not g.scored else f"{pct(g.success_rate)} ({ci(g)})")
        dataset_rows.append(row)
    overlap = runs[0].overlap
    live = ", ".join(f"{v.label}: {text}" for r, v in zip(runs, views) if (text := _unfinished(r))) if refresh_s else ""
    return _render(
        "index.html.j2",
        title="MedAgentGym report",
        root="",
        crumbs=[("report", None)],
        refresh_s=refresh_s if live else None,
        live=live,
        version=__version__,
        runs=[
            {
                "label": v.label,
                "href": v.href,
                "colour": v.colour,
                "run_dir": clean_text(str(r.run_dir)),
                "failed": failure_line(r.metrics, r.trajectories) if r.metrics.failed else None,
            }
            for r, v in zip(runs, views)
        ],
        overlap_warning=overlap_line(runs) if len(runs) > 1 else None,
        overlap_differs=bool(overlap and not overlap.identical and overlap.common),
        selectors=_all_selectors(runs),
        leaderboard=_leaderboard_rows(runs, views),
        # Token and cost columns only where some run recorded them: room for the ones that matter.
        has_tokens=any(r.metrics.tokens.mean_total_tokens for r in runs),
        has_cost=any(r.metrics.tokens.cost_usd is not None for r in runs),
        dataset_headers=["dataset", *(v.label for v in views)],
        dataset_rows=dataset_rows,
        dataset_numeric=tuple(range(1, len(runs) + 1)),
        charts=charts,
        samples=samples,
        samples_note=samples_note,
        sample_filters=[
            ("dataset", "dataset", sorted({s["dataset"] for s in samples})),
            ("category", "category", sorted({s["category_key"] for s in samples})),
            ("agree", "runs agree", ["yes", "no"]),
        ],
        failure_headers=[
            "run", "parse errors (of steps)", "ended by parse errors", "timed out", "turn limit", "no submission",
            "code timeouts (steps)", "infrastructure failures (not scored)", "API retries absorbed",
        ],  # fmt: skip
        failure_rows=_failure_overview(runs, views),
        failure_numeric=tuple(range(1, 7)),
        published=list(PUBLISHED.items()),
    )


# ------------------------------------------------------------------------------------------------
# Entry points


def _views(runs: Sequence[LoadedRun]) -> list[_RunView]:
    """#i label: numbered, so two runs of the same policy stay apart in legends."""
    return [
        _RunView(index=i, label=f"#{i + 1} {r.metrics.label}", href=f"runs/r{i + 1}/index.html", colour=plots.colour(i))
        for i, r in enumerate(runs)
    ]


def write_html_report(
    run_dirs: Sequence[Path] | Path,
    out_dir: Path,
    *,
    max_episodes: int = DEFAULT_MAX_EPISODES,
    selectors: Sequence[Selector] | None = None,
    refresh_s: float | None = None,
) -> Path:
    """Write the static report of ``run_dirs`` into ``out_dir``; returns the path of index.html.

    ``max_episodes`` caps the episode pages per run (see ``select_episodes``) and the compare
    pages; metrics always count every episode. ``selectors`` give best@k side by side (default:
    majority vote only). ``refresh_s``: the index and the page of a run with fewer episodes
    written than planned reload themselves every that many seconds (a run in progress).
    """
    runs = load_runs(run_dirs, selectors=selectors)
    if not runs:
        raise ValueError("no run to report")
    refresh = max(1, round(refresh_s)) if refresh_s else None
    out_dir = Path(out_dir)
    _write_assets(out_dir)
    views = _views(runs)
    pages: list[dict[tuple[str, int], str]] = []
    run_charts: list[dict[str, Any]] = []
    shared = _compared_samples(runs, max_episodes) if len(runs) > 1 else []
    compare = {sample: n for n, sample in enumerate(shared)}
    for run, view in zip(runs, views):
        run_dir = out_dir / "runs" / f"r{view.index + 1}"
        chosen = select_episodes(run.trajectories, max_episodes)
        files = [f"episodes/e{n:04d}.html" for n in range(1, len(chosen) + 1)]
        pages.append({t.key: f"runs/r{view.index + 1}/{name}" for t, name in zip(chosen, files)})
        # A report rebuilt into the same folder must not keep pages of episodes it no longer has.
        for stale in sorted((run_dir / "episodes").glob("e[0-9]*.html")):
            if f"episodes/{stale.name}" not in files:
                stale.unlink()
        for n, t in enumerate(chosen):
            _write(
                run_dir / files[n],
                _episode_page(
                    t,
                    run=view,
                    prev_href=f"e{n:04d}.html" if n > 0 else None,
                    next_href=f"e{n + 2:04d}.html" if n + 1 < len(chosen) else None,
                    compare_href=f"../../../compare/c{compare[t.sample_id] + 1:04d}.html" if t.sample_id in compare else None,
                ),
            )
        run_charts = _charts([run], [view])
        _write(run_dir / "index.html", _run_page(run, view, chosen, files, run_charts, refresh))
        _write(run_dir / "metrics.json", model_json(run.metrics, indent=2))
    _write(out_dir / "metrics.json", model_json(ReportMetrics(runs=[r.metrics for r in runs]), indent=2))
    samples: list[dict[str, Any]] = []
    note = ""
    if len(runs) > 1:
        samples = _compare_pages(runs, views, pages, shared, out_dir)
        total = len(_compared_samples(runs, 10**9))
        note = f"{len(shared)} of {total} shared samples have a page." if len(shared) < total else ""
    # One run: its charts are the index's charts.
    charts = run_charts if len(runs) == 1 else _charts(runs, views)
    index = out_dir / "index.html"
    _write(index, _index_page(runs, views, charts, samples, note, refresh))
    return index


def _signature(run_dirs: Sequence[Path]) -> tuple[tuple[int, int], ...]:
    """(mtime_ns, size) of each run's trajectories file and manifest: what a watch compares."""
    stamps = []
    for run_dir in run_dirs:
        for name in (TRAJECTORIES, MANIFEST):
            path = Path(run_dir) / name
            try:
                stat = path.stat()
                stamps.append((stat.st_mtime_ns, stat.st_size))
            except OSError:
                stamps.append((0, -1))
    return tuple(stamps)


def watch_html_report(
    run_dirs: Sequence[Path] | Path,
    out_dir: Path,
    *,
    interval_s: float = 2.0,
    selectors: Sequence[Selector] | None = None,
    stop: Callable[[], bool] | None = None,
    on_write: Callable[[Path], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Write the report now and again whenever a run's trajectories file changes; returns index.html.

    Polls file modification times every ``interval_s`` seconds (no inotify: run folders may sit on
    network filesystems). Pages of unfinished runs reload themselves at the same pace. Returns on
    Ctrl-C or when ``stop()`` is true, after one last write if something changed since the last.
    ``on_write`` is told each time the report was written (the CLI prints a line).
    """
    dirs = [Path(run_dirs)] if isinstance(run_dirs, (str, Path)) else [Path(d) for d in run_dirs]
    refresh = max(1.0, interval_s)
    seen = _signature(dirs)
    index = write_html_report(dirs, out_dir, selectors=selectors, refresh_s=refresh)
    if on_write is not None:
        on_write(index)
    try:
        while not (stop is not None and stop()):
            sleep(interval_s)
            now = _signature(dirs)
            if now != seen:
                seen = now
                index = write_html_report(dirs, out_dir, selectors=selectors, refresh_s=refresh)
                if on_write is not None:
                    on_write(index)
    except KeyboardInterrupt:
        pass
    return index
