"""Running hidden tests in sandbox sessions; the verdict is given elsewhere (``scoring.code_tests``).

Every case is its own step: its setup and expression run, the encoded value stays in a session
variable, and separate steps read it back in chunks small enough for the step's output cap. The
expected values never travel: the session only computes and reports. A case that overruns its
time limit and gets its session killed is recorded as failed, and the module is loaded again
into the fresh session for the next case.

- ``run_function_tests``: a fresh session with the sample's resources, the spliced submission
  loaded as ``__main__``, then ``prelude``, then the cases. The agent's own session is never used.
- ``run_namespace_tests``: the episode's session after its last step, with the agent's variables.
- ``read_session_file``: a file the agent wrote (a predictions file), read in its own session.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from medagentgym.catalog.sample import CodeTests, Resource, TestCase
from medagentgym.codetests import probe
from medagentgym.sandbox import SandboxServer, Session
from medagentgym.sandbox.results import ExecResult
from medagentgym.scoring.code_tests import CaseResult
from medagentgym.scoring.predictions import SessionFile

_OUT = "_medagentgym_out"
_PROBE = "_medagentgym_probe"
#: Longest encoded observation read back from a session (characters); longer ones fail the case.
MAX_OBSERVATION_CHARS = 4_000_000
#: Time allowed to load the probe, the module or the prelude (seconds).
LOAD_TIMEOUT_S = 30.0


@cache
def _probe_loader() -> str:
    """A step defining the encoder in the session, under one private name, plus ``workdir``."""
    source = inspect.getsource(probe)
    return (
        f"{_PROBE} = {{'__name__': 'medagentgym_probe'}}\n"
        f"exec(compile({source!r}, '<probe>', 'exec'), {_PROBE})\n"
        f"import os as _medagentgym_os\nworkdir = _medagentgym_os.getcwd()\ndel _medagentgym_os\n"
    )


def _case_code(case: TestCase) -> str:
    """The step of one case: run it and keep a JSON report in ``_OUT`` (nothing printed by us)."""
    body = case.setup if case.setup.strip() else "pass"
    lines = [
        f"{_OUT} = None",
        "try:",
        *("    " + line for line in body.splitlines()),
    ]
    if case.expr:
        lines.append(
            f"    {_OUT} = {_PROBE}['json'].dumps({{'ok': True, 'value': {_PROBE}['encode']("
            f"({case.expr}))}}, ensure_ascii=True, allow_nan=False)"
        )
    else:
        lines.append(f"    {_OUT} = '{{\"ok\": true}}'")
    lines += [
        "except BaseException as _medagentgym_exc:",
        f"    {_OUT} = {_PROBE}['json'].dumps({{'ok': False, 'error': "
        "type(_medagentgym_exc).__name__ + ': ' + str(_medagentgym_exc)[:300]}, ensure_ascii=True)",
    ]
    return "\n".join(lines) + "\n"


def _last_line(result: ExecResult) -> str:
    text = (result.error or result.stderr or result.status).strip().splitlines()
    return text[-1][:300] if text else result.status


class _Driver:
    """Steps on one session, reloading what a killed session lost."""

    def __init__(self, session_factory: Callable[[], Session], timeout_s: float, loaders: Sequence[str]) -> None:
        self._factory = session_factory
        self._timeout_s = timeout_s
        self._loaders = list(loaders)
        self.session = session_factory()
        self.load_error: str | None = None

    def load(self) -> None:
        """Run the loaders (probe, module, prelude); the first failure is the load error."""
        for i, code in enumerate(self._loaders):
            result = self.session.run_python(code, timeout_s=LOAD_TIMEOUT_S)
            if result.status != "ok":
                what = "the checker" if i == 0 else "the submitted code" if i == 1 else "the test setup"
                self.load_error = f"{what} failed to load: {_last_line(result)}"
                return

    def run_case(self, case: TestCase) -> CaseResult:
        if self.load_error is not None:
            return CaseResult(name=case.name, ok=False, error=self.load_error)
        result = self.session.run_python(_case_code(case), timeout_s=self._timeout_s)
        if result.session_restarted or not self.session.alive:
            self.load()  # the fresh session lost the module; the next case needs it again
        if result.status == "timeout" or result.timed_out:
            return CaseResult(name=case.name, ok=False, error=f"time limit of {self._timeout_s:g} s reached")
        if result.status != "ok":
            return CaseResult(name=case.name, ok=False, error=_last_line(result))
        printed = result.stdout
        report = self._read_report()
        if report is None:
            return CaseResult(name=case.name, ok=False, error="the case's result could not be read back")
        if not report.get("ok"):
            return CaseResult(name=case.name, ok=False, error=str(report.get("error", "failed"))[:400])
        if not case.expr:
            if result.truncated:
                return CaseResult(name=case.name, ok=False, error="printed output over the step's cap")
            return CaseResult(name=case.name, ok=True, value=printed)
        return CaseResult(name=case.name, ok=True, value=report.get("value"))

    def _read_report(self) -> dict | None:
        """Read ``_OUT`` back: its length and first chunk in one step, the rest chunk by chunk."""
        chunk = max(256, self.session.limits.output_bytes // 2)
        first = self.session.run_python(
            f"print(str(len({_OUT})) + ':' + {_OUT}[:{chunk}] if isinstance({_OUT}, str) else '-1:', end='')",
            timeout_s=10,
        )
        head, sep, text = first.stdout.partition(":") if first.status == "ok" and not first.truncated else ("", "", "")
        try:
            total = int(head) if sep else -1
        except ValueError:
            return None
        if total < 0:
            return None
        if total > MAX_OBSERVATION_CHARS:
            return {"ok": False, "error": "value too large to check"}
        parts = [text]
        for start in range(chunk, total, chunk):
            part = self.session.run_python(f"print({_OUT}[{start}:{start + chunk}], end='')", timeout_s=10)
            if part.status != "ok" or part.truncated:
                return None
            parts.append(part.stdout)
        try:
            report = json.loads("".join(parts))
        except (ValueError, RecursionError):
            return None
        return report if isinstance(report, dict) else None


def run_function_tests(
    sandbox: SandboxServer,
    resources: Sequence[Resource],
    tests: CodeTests,
    module_source: str,
) -> list[CaseResult]:
    """Load ``module_source`` (the spliced submission) in a fresh session and run every case."""
    loaders = [_probe_loader(), module_source]
    if tests.prelude.strip():
        loaders.append(tests.prelude)
    driver = _Driver(lambda: sandbox.open_session(resources), tests.timeout_s, loaders)
    try:
        driver.load()
        return [driver.run_case(case) for case in tests.cases]
    finally:
        driver.session.close()


def run_namespace_tests(session: Session | None, tests: CodeTests) -> list[CaseResult]:
    """Run every case in the episode's own session (None: it never ran code, every case fails)."""
    if session is None or not session.alive:
        why = "the session holds no variables (no code ran in this episode)"
        return [CaseResult(name=case.name, ok=False, error=why) for case in tests.cases]
    driver = _Driver(lambda: session, tests.timeout_s, [_probe_loader()])
    driver.load()
    results = []
    for case in tests.cases:
        if not session.alive:
            results.append(CaseResult(name=case.name, ok=False, error="the session ended"))
            continue
        results.append(driver.run_case(case))
    return results


def read_session_file(session: Session | None, path: Any, max_bytes: int) -> SessionFile:
    """Read a file the agent wrote, *inside* the episode's session, as text.

    Reading in the session means the harness never follows a path of the agent's choosing on
    the host: whatever the session can read, the agent could have printed anyway. The text comes
    back in chunks (``_Driver``), so a file far over a step's output cap is read whole.
    """
    if not isinstance(path, str) or not path.strip() or len(path) > 500 or "\x00" in path:
        return SessionFile(path=str(path)[:80], error="submit the name of your predictions file as a JSON string")
    path = path.strip()
    if session is None or not session.alive:
        return SessionFile(path=path, error=f"{path} does not exist: no code ran in this episode")
    case = TestCase(
        name=f"read {path}",
        setup=(
            f"with open({path!r}, 'rb') as _medagentgym_file:\n"
            f"    _medagentgym_bytes = _medagentgym_file.read({max_bytes + 1})"
        ),
        expr="_medagentgym_bytes.decode('utf-8', 'replace')",
    )
    driver = _Driver(lambda: session, 30.0, [_probe_loader()])
    driver.load()
    result = driver.run_case(case)
    if not result.ok:
        return SessionFile(path=path, error=f"{path} could not be read: {result.error}")
    if not isinstance(result.value, str):
        return SessionFile(path=path, error=f"{path} could not be read back")
    if len(result.value.encode("utf-8", "replace")) > max_bytes:
        return SessionFile(path=path, error=f"{path} is over {max_bytes:,} bytes")
    return SessionFile(path=path, text=result.value)
