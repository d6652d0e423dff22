"""The text an agent sees at the start of an episode: task, resources, answer format, actions."""

from __future__ import annotations

from medagentgym.catalog.sample import AnswerType, Sample, Target

ANSWER_FORMATS: dict[AnswerType, str] = {
    AnswerType.NUMBER: "a single number (e.g. 42.7), without units",
    AnswerType.INTEGER: "a single integer (e.g. 3)",
    AnswerType.STRING: "a single string",
    AnswerType.STRING_SET: 'a JSON list of strings holding every answer item and nothing else (e.g. ["a", "b"]); order does not matter',
    AnswerType.ORDERED_LIST: "a JSON list of strings in the asked order",
    AnswerType.DATE: 'a date as "YYYY-MM-DD" (or "YYYY-MM-DD HH:MM:SS" when a time is asked)',
    AnswerType.BOOLEAN: "true or false",
    AnswerType.WEEKS_DAYS: 'weeks and days as a JSON pair [weeks, days] with days 0-6 (e.g. [4, 3] for 4 weeks, 3 days)',
}

JSON_ACTIONS = """\
Reply with exactly one JSON object per turn, for example {"action": "execute_python", "code": "print(1)"}.
Actions:
- {"action": "list_tables", "database": optional name} lists tables with row counts.
- {"action": "describe_table", "table": T} shows columns and types.
- {"action": "distinct_values", "table": T, "column": C, "limit": 30} shows frequent values.
- {"action": "sample_rows", "table": T, "n": 5} shows the first rows.
- {"action": "search", "term": "text"} fuzzy-searches the database's text values (exact spellings).
- {"action": "list_files"} lists the task's files.
- {"action": "execute_python", "code": "..."} runs Python; variables persist between calls;
  pandas (pd), numpy (np), sqlite3 and json are imported; DATABASES maps database names to paths.
- {"action": "execute_sql", "query": "...", "database": optional name} runs a read-only SQL query.
{debug_line}- {"action": "submit", "answer": ...} submits the final answer and ends the episode.
Only the submitted answer is graded, never printed output."""

TOOL_ACTIONS = """\
Use the provided tools to inspect the data and run code; variables persist between execute_python
calls. Call `submit` with the final answer to end the episode: only the submitted answer is graded."""

# Samples with a FHIR record store: the FHIR actions instead of the database inspection ones.
FHIR_JSON_ACTIONS = """\
Reply with exactly one JSON object per turn, for example {"action": "fhir_get", "url": "Patient?family=Smith"}.
Actions:
- {"action": "fhir_get", "url": "..."} sends a GET to the FHIR server (a search or a read by id); the
  reply is its JSON, also saved as fhir_get_<n>.json in the working directory of execute_python.
- {"action": "fhir_post", "url": "Observation", "payload": {...}} creates a resource (a vital sign, an
  order). Every successful POST is a real record: post only what the task calls for, and only once.
- {"action": "execute_python", "code": "..."} runs Python (no network); variables persist; json is imported.
{debug_line}- {"action": "submit", "answer": ...} submits the final answer and ends the episode.
Only the submitted answer and the records you created are graded, never printed output."""

FHIR_TOOL_ACTIONS = """\
Use fhir_get to search and read the FHIR server, fhir_post to create a resource (every successful POST
is a real record: post only what the task calls for, and only once) and execute_python to compute
(GET replies are saved as fhir_get_<n>.json in its working directory). Call `submit` to end the
episode: only the submitted answer and the records you created are graded."""

def answer_format(target: Target) -> str:
    """How the answer to a question with ``target`` must be given (the prompt's last line)."""
    tests = target.tests
    if tests is not None and tests.mode == "function":
        where = "method" if tests.method else "function"
        return (
            f"the complete Python source of the {where} `{tests.entry}` as one JSON string (with the "
            "imports and helpers it needs); after you submit, it is loaded in a fresh session and run "
            "against hidden tests, so it must not rely on your session's variables"
        )
    if tests is not None:
        names = ", ".join(f"`{v}`" for v in tests.variables) or "the asked variables"
        return (
            f'anything (e.g. "done"): after you submit, hidden tests check {names} as left in your '
            "Python session, so compute them with execute_python first"
        )
    task = target.predictions
    if task is not None:
        header = ",".join(("id", *task.columns))
        what = {
            "binary": "`score` is your predicted probability (or any score, higher = more likely) of the positive label",
            "multiclass": "each class column holds your predicted probability (or score) of that class",
            "multilabel": "each label column holds your predicted probability (or score) that the label is present",
        }[task.kind]
        return (
            f"the name of a CSV file you wrote in your working directory (e.g. \"{task.file}\") with the "
            f"header `{header}` and one row per test example, every test id exactly once; {what}. It is "
            "read from your session after you submit and scored on hidden labels"
        )
    if not target.answer_graded:
        return UNGRADED_ANSWER_FORMAT
    return ANSWER_FORMATS[target.answer_type]


UNGRADED_ANSWER_FORMAT = (
    'anything (e.g. "done"): only the records you create are graded; submit when they are filed'
)


def render_task(
    sample: Sample,
    *,
    action_format: str = "json",
    debug_hint: bool = False,
    fhir_base_url: str | None = None,
) -> str:
    """The first observation of an episode (with the FHIR actions and API when the episode has a
    FHIR server at ``fhir_base_url``)."""
    parts = [sample.prompt.strip()]
    if sample.followups:
        n = 1 + len(sample.followups)
        parts.insert(0, (
            f"This task is a conversation of {n} questions, asked one at a time. Submit the answer "
            "to each question with the submit action; the next question follows (it may build on "
            "earlier ones; your variables persist). Every answer is graded.\n\nQuestion 1 of "
            f"{n}:"
        ))
    if sample.resources:
        lines = [f"- {r.name} ({r.kind}){': ' + r.description if r.description else ''}" for r in sample.resources]
        parts.append("Resources:\n" + "\n".join(lines))
    parts.append(f"Answer format: {answer_format(sample.target)}.")
    debug_line = '- {"action": "debug_hint"} explains the last error.\n' if debug_hint else ""
    if fhir_base_url is not None:
        from medagentgym.fhir.api import render_api

        actions = FHIR_JSON_ACTIONS.replace("{debug_line}", debug_line) if action_format == "json" else FHIR_TOOL_ACTIONS
        parts += [actions, render_api(fhir_base_url)]
    elif action_format == "json":
        parts.append(JSON_ACTIONS.replace("{debug_line}", debug_line))
    else:
        parts.append(TOOL_ACTIONS)
    return "\n\n".join(parts)


def render_followup(sample: Sample, index: int) -> str:
    """The observation that asks question ``index`` (0-based, >= 1) of a sequential sample."""
    question = sample.questions[index]
    n = len(sample.questions)
    return (
        f"Question {index + 1} of {n}: {question.prompt.strip()}\n\n"
        f"Answer format: {answer_format(question.target)}."
    )


# One system prompt per dataset family; a dataset names its family with a ``family`` attribute.
SYSTEM_PROMPTS: dict[str, str] = {
    "ehr_database": (
        "You are a clinical data analyst answering questions about patients from an electronic "
        "health record database. Work step by step: look at the tables and columns that matter, "
        "find the exact spellings of drugs, labs and diagnoses (values are often lowercase), then "
        "write SQL (or pandas) that answers the question exactly as asked. Check the result, then "
        "submit only the answer in the requested format."
    ),
    "clinical_calculation": (
        "You are a careful clinician who computes clinical scores and values from patient notes. "
        "Extract every value the calculation needs from the note, convert units explicitly, apply "
        "the published formula in Python, check the result is plausible, then submit the answer."
    ),
    "study_design": (
        "You are a biostatistician who plans clinical studies. Read the design carefully: the test, "
        "the effect size and its convention, sidedness, significance level, power or sample size, "
        "and the allocation between groups. Compute the answer in Python with a power-analysis "
        "library or the closed-form formula, check it, then submit the number."
    ),
    "fhir_workflow": (
        "You are a clinical informatics assistant working in an electronic health record through its "
        "FHIR R4 API. Search for the patient and the resources the task needs, read the returned "
        "Bundles carefully (dates, codes, units), create resources only when the task calls for them, "
        "with every required field, then submit the answer in the requested format."
    ),
    "bioinformatics_code": (
        "You are a bioinformatics software engineer. Write the requested Python function exactly to "
        "its specification (name, arguments, return type, edge cases), test it in the sandbox on "
        "small inputs of your own, including the edge cases, then submit its complete source."
    ),
    "data_science": (
        "You are a biomedical data scientist analysing a cancer genomics study (clinical, mutation, "
        "copy-number and survival files). Load the files you need, compute exactly what is asked "
        "with pandas, scipy, statsmodels or lifelines, store each result in the variable named in "
        "the task with the stated type, check it, then submit."
    ),
    "clinical_prediction": (
        "You are a clinical machine-learning researcher. Load the training examples and the test "
        "examples, look at the features and the label balance, fit a model in Python (scikit-learn "
        "is installed), check it by cross-validation on the training set, then write a predictions "
        "file for every test example in the requested format and submit its name."
    ),
    "note_consistency": (
        "You are a clinical documentation auditor. Read the note, find what it states about the "
        "named entity (values, times, events), query the admission's records in the database, "
        "compare each statement with the record, then submit the answer in the requested format."
    ),
    "general": (
        "You are a careful biomedical data scientist. Solve the task by inspecting the data and "
        "running code, then submit the final answer with the submit action."
    ),
}


def system_prompt(sample: Sample) -> str:
    """The system message of an episode, chosen by the sample's dataset family."""
    from medagentgym.catalog.registry import UnknownDatasetError, get_dataset

    try:
        family = getattr(get_dataset(sample.dataset), "family", "general")
    except UnknownDatasetError:
        family = "general"
    return SYSTEM_PROMPTS.get(family, SYSTEM_PROMPTS["general"])


def opening_messages(sample: Sample, *, action_format: str = "json") -> list[dict[str, str]]:
    """The system and task messages an episode of ``sample`` starts with, for a dataset's
    prompt column (trainers' rows). The env renders the same at ``reset`` (``info["messages"]``);
    a FHIR sample's live episode adds its server's address, which only exists once it is open."""
    from medagentgym.untrusted import clean_text

    return [
        {"role": "system", "content": clean_text(system_prompt(sample))},
        {"role": "user", "content": clean_text(render_task(sample, action_format=action_format))},
    ]
