"""A self-contained static HTML report of one or more runs, with a trajectory viewer.

Layout of ``out_dir``::

    index.html                 leaderboard, per-dataset comparison, charts, links to the runs
    metrics.json               ReportMetrics: the RunMetrics of every run
    runs/r1/index.html         one run: its numbers, charts and an index of episodes with filters
    runs/r1/metrics.json       that run's RunMetrics
    runs/r1/episodes/e0001.html   one episode, step by step

Why static and self-contained: reports are read on machines without network (clusters, air-gapped
hospitals) and shared as a folder or a zip. So: inline CSS, charts as inline SVG, a few lines of
inline JavaScript for the filters, and a Content-Security-Policy that forbids every fetch.

Everything that comes from a run is untrusted (model output, answers, even names in the manifest)
and goes through ``html.escape``; nothing from a run is ever placed inside a <script> element.
File names are numbers, never sample ids.
"""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
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
    load_runs,
    pct,
    scaling_rows,
    selector_names,
    with_ci,
)
from medagentgym.runs.schema import StepRecord, Trajectory
from medagentgym.scoring.metrics import GroupMetrics, RunMetrics, Selector, episode_cost
from medagentgym.untrusted import clean_text, model_json

__all__ = ["DEFAULT_MAX_EPISODES", "ReportMetrics", "select_episodes", "write_html_report"]

DEFAULT_MAX_EPISODES = 500  # episode pages per run: a 72k-episode run must not write 72k files
MAX_BLOCK_CHARS = 100_000  # one text block (a model output, stdout) is cut beyond this

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


class ReportMetrics(BaseModel):
    """What ``metrics.json`` at the top of a report holds."""

    medagentgym_version: str = __version__
    runs: list[RunMetrics]


# ------------------------------------------------------------------------------------------------
# HTML helpers


def esc(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _cut(text: str) -> str:
    if len(text) <= MAX_BLOCK_CHARS:
        return text
    return text[:MAX_BLOCK_CHARS] + f"\n… [cut: {len(text) - MAX_BLOCK_CHARS} more characters not shown]"


def pre(text: Any, cls: str = "") -> str:
    """A <pre> block of untrusted text, cut to MAX_BLOCK_CHARS."""
    body = text if isinstance(text, str) else json.dumps(text, indent=2, ensure_ascii=False, default=str)
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<pre{attr}>{esc(_cut(body))}</pre>"


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def answer_block(value: Any) -> str:
    """A submitted answer as JSON, so the string "2.0" and the number 2.0 look different."""
    indent = 2 if isinstance(value, (list, dict)) and len(_json_text(value)) > 80 else None
    return pre(json.dumps(value, indent=indent, ensure_ascii=False, default=str))


def _short(value: Any, limit: int = 60) -> str:
    text = _json_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


CSS = """
:root { --fg:#1d2330; --muted:#5b6474; --line:#d9dde5; --bg:#ffffff; --soft:#f5f7fa;
  --ok:#1a7f37; --bad:#c0392b; --warn:#b7791f; --accent:#0b5cad; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--fg); background: var(--bg); margin: 0; }
header.top { background: #14213d; color: #fff; padding: 10px 24px; }
header.top a { color: #cfe3ff; }
header.top .crumbs { font-size: 13px; }
main { padding: 12px 24px 48px; max-width: 1400px; }
h1 { font-size: 22px; margin: 6px 0 4px; } h2 { font-size: 18px; margin: 26px 0 8px;
  border-bottom: 1px solid var(--line); padding-bottom: 3px; } h3 { font-size: 15px; margin: 16px 0 6px; }
a { color: var(--accent); }
.muted { color: var(--muted); } .small { font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; display: block; max-width: 100%; overflow-x: auto; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:hover td { background: #fafbfd; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 130px; background: var(--soft); }
.card .v { font-size: 20px; font-weight: 600; } .card .l { font-size: 12px; color: var(--muted); }
.charts { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff;
  max-width: 100%; overflow-x: auto; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
figure.chart figcaption { font-size: 12px; color: var(--muted); padding: 2px 4px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 8px;
  white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", monospace;
  max-height: 480px; overflow: auto; }
pre.code { background: #0f1724; color: #e6edf3; border-color: #0f1724; }
pre.raw { background: #fffbea; border-color: #f0e0a0; }
pre.err { background: #fff1f0; border-color: #f3c1bb; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; font-weight: 600;
  background: #e8ecf2; color: var(--fg); white-space: nowrap; }
.badge.ok, .badge.success { background: #dcf3e3; color: var(--ok); }
.badge.fail { background: #fde2df; color: var(--bad); }
.badge.max_turns, .badge.timeout, .badge.parse_error { background: #fdf0d5; color: var(--warn); }
.badge.infra_error { background: #e7e3f8; color: #4b3aa8; }
.step { border: 1px solid var(--line); border-radius: 6px; margin: 12px 0; }
.step > .head { background: var(--soft); padding: 6px 10px; border-bottom: 1px solid var(--line); font-weight: 600; }
.step > .body { padding: 6px 10px; }
.label { font-size: 12px; font-weight: 600; color: var(--muted); margin-top: 6px; text-transform: uppercase; letter-spacing: .03em; }
.scroll { overflow-x: auto; max-width: 100%; }
.nowrap { white-space: nowrap; }
table.facts td:first-child { white-space: nowrap; width: 1%; }
.filters { display: flex; gap: 12px; flex-wrap: wrap; align-items: center; margin: 8px 0; }
.filters label { font-size: 13px; } .filters select { font-size: 13px; }
details > summary { cursor: pointer; color: var(--accent); }
.note { background: #fffbea; border: 1px solid #f0e0a0; padding: 6px 10px; border-radius: 4px; }
nav.pager { margin: 12px 0; display: flex; gap: 16px; }
"""

# Plain JS, no data inside: filters read data-* attributes of the episode rows.
FILTER_JS = """
function applyFilters() {
  var wanted = {};
  document.querySelectorAll('select[data-filter]').forEach(function (s) { wanted[s.dataset.filter] = s.value; });
  var shown = 0;
  document.querySelectorAll('#episodes tbody tr').forEach(function (tr) {
    var keep = Object.keys(wanted).every(function (k) { return !wanted[k] || tr.dataset[k] === wanted[k]; });
    tr.hidden = !keep; if (keep) { shown += 1; }
  });
  document.getElementById('shown').textContent = String(shown);
}
function filtersToHash() {
  var parts = [];
  document.querySelectorAll('select[data-filter]').forEach(function (s) {
    if (s.value) { parts.push(encodeURIComponent(s.dataset.filter) + '=' + encodeURIComponent(s.value)); }
  });
  history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname);
}
function hashToFilters() {
  // e.g. index.html#status=max_turns&success=no (a link to a filtered view)
  location.hash.replace(/^#/, '').split('&').forEach(function (pair) {
    var kv = pair.split('=');
    if (kv.length !== 2) { return; }
    var select = document.querySelector('select[data-filter="' + CSS.escape(decodeURIComponent(kv[0])) + '"]');
    if (select) { select.value = decodeURIComponent(kv[1]); }
  });
}
document.querySelectorAll('select[data-filter]').forEach(function (s) {
  s.addEventListener('change', function () { applyFilters(); filtersToHash(); });
});
hashToFilters();
applyFilters();
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def page(title: str, body: str, *, crumbs: Sequence[tuple[str, str | None]] = (), script: str = "") -> str:
    """A complete HTML document; ``crumbs`` is (text, href or None) from the report index down."""
    trail = " › ".join(f'<a href="{esc(h)}">{esc(t)}</a>' if h else esc(t) for t, h in crumbs)
    script_tag = f"<script>{script}</script>" if script else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<header class="top"><div class="crumbs">{trail}</div></header>'
        f"<main>{body}</main>{script_tag}</body></html>\n"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[int] = (), attrs: str = "") -> str:
    """A table whose cells are already-escaped HTML; columns listed in ``numeric`` align right."""
    num = set(numeric)
    head = "".join(f'<th class="num">{esc(h)}</th>' if i in num else f"<th>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def chart(svg: str | None, caption: str, empty: str) -> str:
    if svg is None:
        return f'<figure class="chart"><figcaption>{esc(caption)}</figcaption><p class="muted">{esc(empty)}</p></figure>'
    return f'<figure class="chart">{svg}<figcaption>{esc(caption)}</figcaption></figure>'


def badge(status: str) -> str:
    return f'<span class="badge {esc(status)}">{esc(status)}</span>'


def verdict(trajectory: Trajectory) -> str:
    if trajectory.status == "infra_error":
        return '<span class="badge infra_error">not scored</span>'
    return '<span class="badge success">correct</span>' if trajectory.success else '<span class="badge fail">wrong</span>'


# ------------------------------------------------------------------------------------------------
# Numbers shown in several places


def _at(values: dict[int, float], k: int) -> str:
    return pct(values.get(k)) if k in values else "-"


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


def _tokens(t: Trajectory) -> int:
    return t.usage.prompt_tokens + t.usage.completion_tokens


def _bests(group: GroupMetrics, names: Sequence[str], k: int) -> list[str]:
    """best@k of each selector with its interval, escaped cells."""
    return [esc(with_ci(best_values(group, n, i == 0), group.best_at_k_ci_by.get(n, {}), k)) for i, n in enumerate(names)]


def _group_rows(groups: Sequence[GroupMetrics], k: int, names: Sequence[str]) -> list[list[str]]:
    rows = []
    for g in groups:
        problems = [f"{s} {n}" for s, n in g.by_status.items() if s not in ("ok", "infra_error")]
        problems += [f"infra:{kind} {n}" for kind, n in g.infra_by_kind.items()]
        rows.append(
            [
                esc(g.name),
                str(g.episodes),
                str(g.tasks),
                esc(pct(g.success_rate)),
                esc(ci(g)),
                esc(_at(g.pass_at_k, 1)),
                esc(with_ci(g.pass_at_k, g.pass_at_k_ci, k)),
                *_bests(g, names, k),
                f"{g.mean_turns:.1f}",
                esc(", ".join(problems) or "-"),
            ]
        )
        if any(h.balanced_accuracy is not None for h in groups):
            balanced = "-" if g.balanced_accuracy is None else f"{pct(g.balanced_accuracy)} ({g.yes_no_answers})"
            rows[-1].insert(5, esc(balanced))
    return rows


def _group_table(groups: Sequence[GroupMetrics], k: int, names: Sequence[str]) -> str:
    headers = [
        "group", "episodes", "tasks", "success", "95% CI", "pass@1", f"pass@{k}",
        *(f"best@{k} ({n})" for n in names), "turns", "problems",
    ]  # fmt: skip
    if any(g.balanced_accuracy is not None for g in groups):
        headers.insert(5, "balanced acc. (yes/no answers)")
    return table(headers, _group_rows(groups, k, names), numeric=range(1, len(headers) - 1))


def _run_cell(label: str, run_id: str | None, href: str) -> str:
    return f'<a href="{esc(href)}" class="nowrap">{esc(label)}</a><div class="small muted">{esc(run_id)}</div>'


def _leaderboard(runs: Sequence[LoadedRun], links: Sequence[str], labels: Sequence[str]) -> str:
    """One row per run, best success first: quality, effort and cost."""
    ranked = sorted(range(len(runs)), key=lambda i: (-runs[i].metrics.overall.success_rate, i))
    names = _all_selectors(runs)
    rows = []
    for i in ranked:
        m, o, k = runs[i].metrics, runs[i].metrics.overall, runs[i].metrics.samples_per_task
        own = selector_names(m)
        bests = [
            esc(with_ci(best_values(o, n, own.index(n) == 0), o.best_at_k_ci_by.get(n, {}), k)) if n in own else "-"
            for n in names
        ]
        t = m.tokens
        planned = f" / {m.episodes_planned}" if m.episodes_planned else ""
        not_ok = sum(n for status, n in o.by_status.items() if status != "ok")
        rows.append(
            [
                _run_cell(labels[i], m.run_id, links[i]),
                f"{m.episodes}{esc(planned)}",
                str(m.tasks),
                str(k),
                f"<b>{esc(pct(o.success_rate))}</b>",
                esc(ci(o)),
                esc(_at(o.pass_at_k, 1)),
                esc(with_ci(o.pass_at_k, o.pass_at_k_ci, k)),
                *bests,
                f"{o.mean_turns:.1f}",
                f"{t.mean_prompt_tokens:.0f} + {t.mean_completion_tokens:.0f}",
                esc(cost_cell(m)),
                esc(pct(not_ok / o.episodes if o.episodes else None)),
            ]
        )
    headers = [
        "run", "episodes", "tasks", "K", "success", "95% CI", "pass@1", "pass@K (95% CI)",
        *(f"best@K ({n})" for n in names), "turns", "tokens/episode (prompt + completion)", "cost", "status not ok",
    ]  # fmt: skip
    return '<div class="scroll">' + table(headers, rows, numeric=range(1, len(headers))) + "</div>"


def _all_selectors(runs: Sequence[LoadedRun]) -> list[str]:
    names: list[str] = []
    for run in runs:
        names += [n for n in selector_names(run.metrics) if n not in names]
    return names


def _failure_overview(runs: Sequence[LoadedRun], links: Sequence[str], labels: Sequence[str]) -> str:
    """One row per run: every way an episode can go wrong, as rates with their denominators."""
    rows = []
    for i, run in enumerate(runs):
        f = run.metrics.failures
        infra = (
            f"{pct(f.infra_rate)}: " + ", ".join(f"{kind} {n}" for kind, n in f.infra_by_kind.items())
            if f.infra_episodes
            else "-"
        )
        retries = ", ".join(f"{kind} {n}" for kind, n in f.api_retries_by_kind.items())
        rows.append(
            [
                _run_cell(labels[i], run.metrics.run_id, links[i]),
                esc(pct(f.parse_error_step_rate)),
                esc(pct(f.parse_error_rate)),
                esc(pct(f.timeout_rate)),
                esc(pct(f.max_turns_rate)),
                esc(pct(f.not_submitted / f.episodes if f.episodes else None)),
                str(f.exec_timeout_steps),
                esc(infra),
                esc(f"{retries} (in {f.episodes_with_retries} episodes)" if retries else "-"),
            ]
        )
    headers = [
        "run", "parse errors (of steps)", "ended by parse errors", "timed out", "turn limit", "no submission",
        "code timeouts (steps)", "infrastructure failures (not scored)", "API retries absorbed",
    ]  # fmt: skip
    return '<div class="scroll">' + table(headers, rows, numeric=range(1, 7)) + "</div>"


def _ci_note(intervals: dict[int, list[float]], k: int) -> str:
    bounds = intervals.get(k)
    return f", 95% CI {100 * bounds[0]:.0f}-{100 * bounds[1]:.0f}%" if bounds else ""


def _curves(m: RunMetrics) -> list[plots.Curve]:
    o = m.overall
    curves: list[plots.Curve] = [("pass@k", o.pass_at_k, o.pass_at_k_ci)]
    for i, name in enumerate(selector_names(m)):
        curves.append((f"best@k ({name})", best_values(o, name, i == 0), o.best_at_k_ci_by.get(name, {})))
    return curves


def _cards(m: RunMetrics) -> str:
    o, k, t, f = m.overall, m.samples_per_task, m.tokens, m.failures
    items = [
        (pct(o.success_rate), f"success ({o.successes}/{o.scored} scored)"),
        (ci(o), "95% Wilson interval"),
        (_at(o.pass_at_k, 1), "pass@1"),
        (_at(o.pass_at_k, k), f"pass@{k}" + _ci_note(o.pass_at_k_ci, k)),
        *(
            (_at(best_values(o, n, i == 0), k), f"best@{k} ({n})" + _ci_note(o.best_at_k_ci_by.get(n, {}), k))
            for i, n in enumerate(selector_names(m))
        ),
        (f"{o.mean_turns:.1f}", "mean turns"),
        (f"{t.mean_total_tokens:.0f}", "tokens per episode"),
        (cost_cell(m), "cost (USD)"),
        (pct(f.parse_error_step_rate), "steps with a parse error"),
        (pct(f.max_turns_rate), "episodes at the turn limit"),
        (pct(f.timeout_rate), "episodes timed out"),
        (pct(f.infra_rate), "infra failures (not scored)"),
    ]
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="v">{esc(v)}</div><div class="l">{esc(label)}</div></div>' for v, label in items
    ) + "</div>"


def _charts(runs: Sequence[LoadedRun], labels: Sequence[str]) -> str:
    metrics = [r.metrics for r in runs]
    parts = [
        chart(
            plots.success_bars(list(zip(labels, (m.datasets for m in metrics))), title="Success by dataset"),
            "Success by dataset, Wilson 95% intervals (infrastructure failures not scored).",
            "No scored episode.",
        ),
        chart(
            plots.pass_at_k_curve([(lab, _curves(m)) for lab, m in zip(labels, metrics)]),
            "Unbiased pass@k and best@k of each selector over tasks, k = 1..K; shaded: 95% bootstrap intervals over tasks.",
            "No scored task.",
        ),
        chart(
            plots.histogram(
                [(lab, [len(t.steps) for t in r.trajectories]) for lab, r in zip(labels, runs)],
                title="Turns per episode",
                xlabel="turns",
                integer=True,
            ),
            "Turns (env steps) per episode.",
            "No episode took a turn.",
        ),
        chart(
            plots.histogram(
                # a run that recorded no usage gets an empty series: it keeps its colour, draws nothing
                [
                    (lab, [_tokens(t) for t in r.trajectories] if r.metrics.tokens.mean_total_tokens else [])
                    for lab, r in zip(labels, runs)
                ],
                title="Tokens per episode",
                xlabel="prompt + completion tokens",
            ),
            "Tokens per episode (prompt + completion); runs that recorded no usage are left out.",
            "No token usage was recorded (e.g. the oracle or a scripted policy).",
        ),
        chart(
            plots.failure_bars(
                [(lab, _failure_counts(r.trajectories)) for lab, r in zip(labels, runs)], title="What went wrong"
            ),
            "Episodes per failure kind; 'had a parse error' and 'absorbed API retries' overlap the others.",
            "Nothing went wrong: every episode submitted a correct answer.",
        ),
        chart(
            plots.success_bars(
                list(zip(labels, (m.categories for m in metrics))), title="Success by category", horizontal=True
            ),
            "Success by dataset/category, Wilson 95% intervals.",
            "No scored episode.",
        ),
    ]
    return '<div class="charts">' + "".join(parts) + "</div>"


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


def _assistant_messages(trajectory: Trajectory) -> list[dict[str, Any]]:
    return [m for m in trajectory.messages if m.get("role") == "assistant"]


def _task_messages(trajectory: Trajectory) -> tuple[str, str]:
    system = next((m.get("content") for m in trajectory.messages if m.get("role") == "system"), "") or ""
    task = next((m.get("content") for m in trajectory.messages if m.get("role") == "user"), "") or ""
    return str(system), str(task)


def _content_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return _json_text(content)  # a list of content parts


def _action_html(step: StepRecord) -> str:
    if step.action is None:
        reason = step.parse_error or "no action"
        return f'<div class="label">action not parsed</div><pre class="err">{esc(_cut(reason))}</pre>'
    name = step.action.get("name", "?")
    params = dict(step.action.get("params") or {})
    parts = [f'<div class="label">parsed action: <code>{esc(name)}</code></div>']
    for key in ("code", "query"):
        if isinstance(params.get(key), str):
            parts.append(f'<div class="small muted">{esc(key)}</div>{pre(params.pop(key), "code")}')
    if params:
        parts.append(pre(params))
    if step.parse_error:
        parts.append(f'<div class="label">parse error</div><pre class="err">{esc(_cut(step.parse_error))}</pre>')
    return "".join(parts)


def _execution_html(step: StepRecord) -> str:
    ex = step.execution
    if ex is None:
        return ""
    flags = [f"status {ex.status}", f"{1000 * ex.duration_s:.1f} ms"]
    flags += [name for name in ("timed_out", "truncated", "session_restarted") if getattr(ex, name)]
    parts = [f'<div class="label">execution</div><div class="small">{" · ".join(esc(f) for f in flags)}</div>']
    for name, cls in (("stdout", ""), ("stderr", "err"), ("value_repr", ""), ("error", "err")):
        value = getattr(ex, name)
        if value:
            parts.append(f'<div class="small muted">{esc(name)}</div>{pre(value, cls)}')
    return f"<details><summary>raw execution result</summary>{''.join(parts)}</details>"


def _step_html(step: StepRecord, message: dict[str, Any] | None) -> str:
    parts = []
    if message is not None:
        parts.append(f'<div class="label">model output (raw)</div>{pre(_content_text(message) or "(empty)", "raw")}')
        if message.get("tool_calls"):
            parts.append(f'<div class="small muted">tool calls</div>{pre(message["tool_calls"], "raw")}')
    parts.append(_action_html(step))
    parts.append(f'<div class="label">observation (what the agent saw)</div>{pre(step.observation)}')
    parts.append(_execution_html(step))
    head = f"Step {step.index} <span class='muted small'>({step.duration_s:.2f} s)</span>"
    return f'<section class="step" id="step-{step.index}"><div class="head">{head}</div><div class="body">{"".join(parts)}</div></section>'


def _episode_page(
    t: Trajectory, *, run_label: str, run_href: str, index_href: str, prev_href: str | None, next_href: str | None
) -> str:
    system, task = _task_messages(t)
    messages = _assistant_messages(t)
    steps_html = [_step_html(step, messages[i] if i < len(messages) else None) for i, step in enumerate(t.steps)]
    for extra in messages[len(t.steps) :]:  # model output that never became a step
        steps_html.append(
            '<section class="step"><div class="head">Model output without a step</div>'
            f'<div class="body">{pre(_content_text(extra) or "(empty)", "raw")}</div></section>'
        )
    score = t.score
    cost = episode_cost(t)
    facts = [
        ("status", badge(t.status) + " " + verdict(t)),
        ("submitted answer", answer_block(t.submitted_answer) if t.submitted else '<span class="muted">nothing submitted</span>'),
        ("score", esc(f"{score.value:g} ({'correct' if score.correct else 'wrong'}), as {score.answer_type}") if score else "-"),
        ("explanation", esc(score.explanation) if score else "-"),
        ("parsed answer", answer_block(score.parsed) if score and score.parsed is not None else "-"),
        ("error", pre(t.error, "err") if t.error else "-"),
        ("failure kind", esc(t.failure or "-")),
        ("API retries absorbed", esc(", ".join(f"{k} {n}" for k, n in t.api_retries.items()) or "-")),
        ("tokens", esc(f"{t.usage.prompt_tokens} prompt + {t.usage.completion_tokens} completion")
         + (esc(f" (${cost:.5f})") if cost is not None else "")),
        ("turns", str(len(t.steps))),
        ("time", esc(f"{t.timing.duration_s:.2f} s, {t.timing.started_at} → {t.timing.ended_at}")),
        ("sample", esc(f"{t.sample_id} ({t.dataset}/{t.category}, split {t.split}), epoch {t.epoch}, seed {t.seed}")),
        ("policy", esc(run_label) + f' <span class="small muted">{esc(_json_text(t.policy.sampling))}</span>'),
        ("sandbox", esc(t.sandbox_level or "-")),
    ]  # fmt: skip
    pager = '<nav class="pager">' + (
        f'<a href="{esc(prev_href)}">← previous episode</a>' if prev_href else '<span class="muted">← previous</span>'
    ) + f'<a href="{esc(run_href)}#episodes">episode index</a>' + (
        f'<a href="{esc(next_href)}">next episode →</a>' if next_href else '<span class="muted">next →</span>'
    ) + "</nav>"
    body = (
        f"<h1>{esc(t.sample_id)} <span class='muted small'>epoch {t.epoch}</span></h1>{pager}"
        "<h2>Outcome</h2>"
        + '<table class="facts"><tbody>'
        + "".join(f"<tr><td><b>{esc(k)}</b></td><td>{v}</td></tr>" for k, v in facts)
        + "</tbody></table>"
        + "<h2>Task</h2>"
        + (f"<details><summary>system prompt</summary>{pre(system)}</details>" if system else "")
        + pre(task or "(no user message recorded)")
        + f"<h2>Steps ({len(t.steps)})</h2>"
        + ("".join(steps_html) or '<p class="muted">No step was taken.</p>')
        + "<h2>Final answer</h2>"
        + (answer_block(t.submitted_answer) if t.submitted else '<p class="muted">Nothing was submitted.</p>')
        + (f"<p>{verdict(t)} {esc(score.explanation)}</p>" if score else f"<p>{badge(t.status)}</p>")
        + pager
    )
    return page(
        f"{t.sample_id} #{t.epoch}",
        body,
        crumbs=[("report", index_href), (run_label, run_href), (f"{t.sample_id} epoch {t.epoch}", None)],
    )


def _options(name: str, label: str, values: Sequence[str]) -> str:
    opts = '<option value="">all</option>' + "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)
    return f'<label>{esc(label)} <select data-filter="{esc(name)}">{opts}</select></label>'


def _episode_index(run: LoadedRun, chosen: Sequence[Trajectory], files: Sequence[str]) -> str:
    rows = []
    for t, href in zip(chosen, files):
        success = "yes" if t.success else ("not scored" if t.status == "infra_error" else "no")
        attrs = (
            f' data-dataset="{esc(t.dataset)}" data-category="{esc(t.dataset + "/" + t.category)}"'
            f' data-status="{esc(t.status)}" data-success="{esc(success)}"'
        )
        answer = _short(t.submitted_answer) if t.submitted else "—"
        cells = [
            f'<a href="{esc(href)}">{esc(t.sample_id)}</a>',
            str(t.epoch),
            esc(t.dataset),
            esc(t.category),
            badge(t.status),
            verdict(t),
            str(len(t.steps)),
            str(_tokens(t)),
            f"<code>{esc(answer)}</code>",
        ]
        rows.append(f"<tr{attrs}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    headers = ["sample", "epoch", "dataset", "category", "status", "verdict", "turns", "tokens", "answer"]
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    filters = (
        '<div class="filters">'
        + _options("dataset", "dataset", sorted({t.dataset for t in chosen}))
        + _options("category", "category", sorted({f"{t.dataset}/{t.category}" for t in chosen}))
        + _options("status", "status", sorted({t.status for t in chosen}))
        + _options("success", "correct", ["yes", "no", "not scored"])
        + f'<span class="muted">showing <span id="shown">{len(chosen)}</span> of {len(chosen)}</span></div>'
    )
    total = len(run.trajectories)
    note = (
        f'<p class="note">{len(chosen)} of {total} episodes have a page: every category in turn, '
        "unsuccessful episodes first. The numbers above count all episodes.</p>"
        if len(chosen) < total
        else ""
    )
    return (
        f'<h2 id="episode-index">Episodes</h2>{note}{filters}'
        f'<table id="episodes"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _run_page(run: LoadedRun, label: str, chosen: Sequence[Trajectory], files: Sequence[str], charts: str) -> str:
    m = run.metrics
    k = m.samples_per_task
    manifest = run.manifest
    names = selector_names(m)
    pass_rows = [[esc(cell) for cell in row] for row in scaling_rows(m)]
    f = m.failures
    failure_rows = [
        ["steps with a parse error", f"{f.parse_error_steps} / {f.steps}", esc(pct(f.parse_error_step_rate))],
        ["episodes ended by parse errors", f"{f.parse_error_episodes} / {f.episodes}", esc(pct(f.parse_error_rate))],
        ["episodes timed out", f"{f.timeout_episodes} / {f.episodes}", esc(pct(f.timeout_rate))],
        ["episodes at the turn limit", f"{f.max_turns_episodes} / {f.episodes}", esc(pct(f.max_turns_rate))],
        ["episodes without a submission", f"{f.not_submitted} / {f.episodes}", esc(pct(f.not_submitted / f.episodes if f.episodes else None))],
        ["code executions that hit the time limit", str(f.exec_timeout_steps), "-"],
        ["infrastructure failures (not scored)", f"{f.infra_episodes} / {f.episodes}", esc(pct(f.infra_rate))],
    ]
    failure_rows += [[esc(f"  infra: {kind}"), str(n), "-"] for kind, n in f.infra_by_kind.items()]
    failure_rows += [[esc(f"  API retries absorbed: {kind}"), str(n), "-"] for kind, n in f.api_retries_by_kind.items()]
    failure_rows.append(["episodes with absorbed API retries", str(f.episodes_with_retries), "-"])
    t = m.tokens
    token_rows = [
        ["prompt tokens", str(t.prompt_tokens), f"{t.mean_prompt_tokens:.1f}"],
        ["completion tokens", str(t.completion_tokens), f"{t.mean_completion_tokens:.1f}"],
        ["cost (USD)", esc(cost_cell(m)), esc("-" if t.mean_cost_usd is None else f"${t.mean_cost_usd:.5f}")],
    ]
    note = ""
    if m.max_samples_per_task > k:
        note = (
            f'<p class="note">Some tasks have fewer scored samples ({k}) than others ({m.max_samples_per_task}), '
            f"so pass@k and best@k stop at k={k}. Resuming the run retries infrastructure failures.</p>"
        )
    if run.problems:
        shown = "".join(f"<li>{esc(problem)}</li>" for problem in run.problems[:50])
        more = f"<li>... and {len(run.problems) - 50} more</li>" if len(run.problems) > 50 else ""
        note += f'<div class="note">Lines that could not be read (not counted):<ul>{shown}{more}</ul></div>'
    planned = f" of {m.episodes_planned} planned" if m.episodes_planned else ""
    body = (
        f"<h1>{esc(label)}</h1>"
        f'<p class="muted">run {esc(m.run_id)} · {esc(run.run_dir)} · created {esc(manifest.created_at)} · '
        f"{m.episodes}{esc(planned)} episodes over {m.tasks} tasks · K = {k} · medagentgym {esc(manifest.medagentgym_version)}</p>"
        + note
        + _cards(m)
        + f"<details><summary>manifest</summary>{pre(manifest.model_dump(mode='json'))}</details>"
        + "<h2>Charts</h2>"
        + charts
        + "<h2>By dataset</h2>"
        + _group_table(m.datasets, k, names)
        + "<h2>By category</h2>"
        + _group_table(m.categories, k, names)
        + "<h2>pass@k and best@k</h2>"
        + '<p class="muted small">Inference-time scaling: pass@k (an oracle picks) beside best@k of each selector '
        "(the selector picks one of k samples without seeing the grade), 95% bootstrap intervals over tasks in "
        "parentheses.</p>"
        + table(["k", "pass@k", *(f"best@k ({n})" for n in names)], pass_rows, numeric=range(len(names) + 2))
        + "<h2>What went wrong</h2>"
        + table(["", "count", "rate"], failure_rows, numeric=(1, 2))
        + "<h2>Tokens and cost</h2>"
        + table(["", "total", "per episode"], token_rows, numeric=(1, 2))
        + _episode_index(run, chosen, files)
    )
    return page(label, body, crumbs=[("report", "../../index.html"), (label, None)], script=FILTER_JS)


def _index_page(runs: Sequence[LoadedRun], labels: Sequence[str], links: Sequence[str], charts: str) -> str:
    legend = "".join(
        f'<li><a href="{esc(href)}">{esc(lab)}</a> <span class="muted small">{esc(r.run_dir)}</span></li>'
        for lab, href, r in zip(labels, links, runs)
    )
    names = sorted({g.name for r in runs for g in r.metrics.datasets})
    comparison = []
    for name in names:
        row = [esc(name)]
        for r in runs:
            g = r.metrics.dataset(name)
            row.append("-" if g is None or not g.scored else f"<b>{esc(pct(g.success_rate))}</b> <span class='muted small'>{esc(ci(g))}</span>")
        comparison.append(row)
    published = "".join(
        f"<h3>{esc(title)}</h3>" + table(["", "%"], [[esc(a), esc(b)] for a, b in rows], numeric=(1,))
        for title, rows in PUBLISHED.items()
    )
    body = (
        "<h1>MedAgentGym report</h1>"
        f'<p class="muted">{len(runs)} run(s) · medagentgym {esc(__version__)} · '
        "success counts scored episodes (infrastructure failures are listed, not scored) · "
        'numbers also in <a href="metrics.json">metrics.json</a></p>'
        f"<ol>{legend}</ol>"
        "<h2>Leaderboard</h2>"
        + _leaderboard(runs, links, labels)
        + "<h2>What went wrong</h2>"
        + _failure_overview(runs, links, labels)
        + "<h2>Success by dataset</h2>"
        + table(["dataset", *labels], comparison, numeric=range(1, len(runs) + 1))
        + "<h2>Charts</h2>"
        + charts
        + "<h2>Published numbers of the original system</h2>"
        + "<details><summary>for orientation only: the original benchmark used credentialed data and other task "
        "instances, so these numbers are not comparable with the runs above</summary>"
        + published
        + "</details>"
    )
    return page("MedAgentGym report", body, crumbs=[("report", None)])


# ------------------------------------------------------------------------------------------------
# Entry point


def _labels(runs: Sequence[LoadedRun]) -> list[str]:
    """#i label: numbered, so two runs of the same policy stay apart in legends."""
    return [f"#{i} {r.metrics.label}" for i, r in enumerate(runs, 1)]


def _write(path: Path, text: str) -> None:
    """Write one report file as valid UTF-8 (a lone surrogate from a run becomes U+FFFD)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(clean_text(text), encoding="utf-8")


def write_html_report(
    run_dirs: Sequence[Path] | Path,
    out_dir: Path,
    *,
    max_episodes: int = DEFAULT_MAX_EPISODES,
    selectors: Sequence[Selector] | None = None,
) -> Path:
    """Write the static report of ``run_dirs`` into ``out_dir``; returns the path of index.html.

    ``max_episodes`` caps the episode pages per run (see ``select_episodes``); metrics always
    count every episode. ``selectors`` give best@k side by side (default: majority vote only).
    """
    runs = load_runs(run_dirs, selectors=selectors)
    if not runs:
        raise ValueError("no run to report")
    out_dir = Path(out_dir)
    labels = _labels(runs)
    links = [f"runs/r{i}/index.html" for i in range(1, len(runs) + 1)]
    for i, (run, label) in enumerate(zip(runs, labels), 1):
        run_dir = out_dir / "runs" / f"r{i}"
        chosen = select_episodes(run.trajectories, max_episodes)
        files = [f"episodes/e{n:04d}.html" for n in range(1, len(chosen) + 1)]
        # A report rebuilt into the same folder must not keep pages of episodes it no longer has.
        for stale in sorted((run_dir / "episodes").glob("e[0-9]*.html")):
            if f"episodes/{stale.name}" not in files:
                stale.unlink()
        for n, t in enumerate(chosen):
            html_text = _episode_page(
                t,
                run_label=label,
                run_href="../index.html",
                index_href="../../../index.html",
                prev_href=f"e{n:04d}.html" if n > 0 else None,
                next_href=f"e{n + 2:04d}.html" if n + 1 < len(chosen) else None,
            )
            _write(run_dir / files[n], html_text)
        run_charts = _charts([run], [label])
        _write(run_dir / "index.html", _run_page(run, label, chosen, files, run_charts))
        _write(run_dir / "metrics.json", model_json(run.metrics, indent=2))
    _write(out_dir / "metrics.json", model_json(ReportMetrics(runs=[r.metrics for r in runs]), indent=2))
    index = out_dir / "index.html"
    # One run: its charts are the index's charts; draw them once (they are most of the build time).
    charts = run_charts if len(runs) == 1 else _charts(runs, labels)
    _write(index, _index_page(runs, labels, links, charts))
    return index
