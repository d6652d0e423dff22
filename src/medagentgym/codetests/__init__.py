"""Hidden tests of code answers: the encoder that runs in sessions (``probe``) and the steps that
run the tests there (``runner``). The verdict lives in ``medagentgym.scoring.code_tests``."""

from medagentgym.codetests.probe import ProbeError, encode, encode_json
from medagentgym.codetests.runner import read_session_file, run_function_tests, run_namespace_tests

__all__ = [
    "ProbeError",
    "encode",
    "encode_json",
    "read_session_file",
    "run_function_tests",
    "run_namespace_tests",
]
