"""Shared fixtures: a private cache per test session, a warm sandbox server, toy samples."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Built data must never land in the user's real cache during tests; a cache made here is removed
# when the session ends (set MEDAGENTGYM_CACHE yourself to keep one between runs). Under
# pytest-xdist the controller makes it before starting the workers, which inherit the variable:
# every worker shares one cache (builds take a lock, see world/build.py) and only the controller
# removes it.
_OWN_CACHE = None if os.environ.get("MEDAGENTGYM_CACHE") else tempfile.mkdtemp(prefix="medagentgym-test-cache-")
if _OWN_CACHE is not None:
    os.environ["MEDAGENTGYM_CACHE"] = _OWN_CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    if _OWN_CACHE is not None:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference" / "medagentgym-release"


@pytest.fixture(scope="session")
def world_cache() -> Iterator[Path]:
    """The test session's cache, holding the synthetic world built once: every EHR dataset's tests
    build their views into it, and catalog-wide tests (contract, validation) find it there too."""
    cache = Path(os.environ["MEDAGENTGYM_CACHE"])
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MEDAGENTGYM_WORLD_PATIENTS", raising=False)
        from medagentgym.world import build_world

        build_world()
    yield cache


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[object]:
    from medagentgym.sandbox import SandboxServer

    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="session")
def toy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("toy") / "toy.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("create table patients (subject_id integer, gender text, age integer, drug text)")
    rows = [
        (1, "F", 34, "metoprolol"),
        (2, "M", 71, "furosemide"),
        (3, "F", 58, "metoprolol"),
        (4, "M", 45, "insulin glargine"),
        (5, "F", 80, "heparin sodium"),
    ]
    conn.executemany("insert into patients values (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="session")
def toy_samples(toy_db: Path) -> list[object]:
    from medagentgym.catalog import AnswerType, Resource, Sample, Solution, Target

    db = Resource(kind="sqlite", name="toy", path=str(toy_db), description="toy patients table")
    query = "select count(*) from patients where gender = 'F'"
    sql_code = (
        "import sqlite3\n"
        "conn = sqlite3.connect(f\"file:{DATABASES['toy']}?mode=ro\", uri=True)\n"
        f"answer = conn.execute({query!r}).fetchone()[0]\n"
    )
    return [
        Sample(
            id="toy/count_female/test/0/0",
            dataset="toy",
            category="count_female",
            split="test",
            index=0,
            seed=0,
            prompt="How many female patients are in the toy database?",
            resources=(db,),
            target=Target(answer_type=AnswerType.INTEGER, value=3),
            solution=Solution(language="python", code=sql_code),
        ),
        Sample(
            id="toy/bmi/test/0/0",
            dataset="toy",
            category="bmi",
            split="test",
            index=0,
            seed=0,
            prompt="A patient weighs 70 kg and is 175 cm tall. What is the BMI in kg/m^2?",
            target=Target(answer_type=AnswerType.NUMBER, value=22.857, rel_tol=0.05),
            solution=Solution(language="python", code="answer = round(70 / 1.75 ** 2, 3)\n"),
        ),
        Sample(
            id="toy/drugs_female/test/0/0",
            dataset="toy",
            category="drugs_female",
            split="test",
            index=0,
            seed=0,
            prompt="Which drugs do female patients receive?",
            resources=(db,),
            target=Target(answer_type=AnswerType.STRING_SET, value=["heparin sodium", "metoprolol"]),
            solution=Solution(
                language="python",
                code=(
                    "import sqlite3\n"
                    "conn = sqlite3.connect(f\"file:{DATABASES['toy']}?mode=ro\", uri=True)\n"
                    "answer = sorted({r[0] for r in conn.execute(\"select drug from patients where gender='F'\")})\n"
                ),
            ),
        ),
    ]


# A tiny random-initialised chat model (Llama, byte-level BPE trained here on a few strings, a
# ChatML template without tool support): the transformers policy and the trainers are tested
# with it quickly and without any file from the internet.
_TINY_CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_TINY_TRAINING_TEXT = [
    'You are a careful biomedical data scientist. {"action": "execute_python", "code": "print(1)"}',
    'How many female patients are in the toy database? {"action": "submit", "answer": 3}',
    "Resources: toy (sqlite). Answer format: a single integer. list_tables describe_table sample_rows",
    "observation: exit code 0, stdout 42.7, the answer is 22.857 kg/m^2",
]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    import torch

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    core.train_from_iterator(_TINY_TRAINING_TEXT, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token="<|im_start|>"
    )
    tokenizer.chat_template = _TINY_CHATML
    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=len(tokenizer),
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
