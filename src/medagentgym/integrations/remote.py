"""``RemoteEnv``: a gymnasium env whose episodes live in a MedAgentGym server (``medagentgym serve``).

The agent process then needs neither the datasets nor a sandbox: a trainer on a GPU node can
play episodes that run on a CPU machine. ``reset`` / ``step`` return what an in-process
``MedAgentEnv`` returns for the same sample and actions (observation, reward, flags, ``info``);
only timings differ (the ``[ok; 1.2 ms]`` header of an execution and ``info["execution"]
["duration_s"]``).

One ``RemoteEnv`` holds at most one server episode: the first ``reset`` creates it, later ones
reset it to another sample, ``close`` deletes it. Errors keep the in-process types: a sample the
server does not know raises ``IntegrationError`` (a ``ValueError``, as ``MedAgentEnv.reset``
raises), a step after the end raises ``RemoteEnvError`` (a ``RuntimeError``, as
``MedAgentEnv.step`` does). httpx is a core dependency, so this needs no extra.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import gymnasium as gym
import httpx

from medagentgym.catalog.sample import Sample
from medagentgym.env.env import MAX_TEXT, _AnyText
from medagentgym.integrations.common import IntegrationError

#: Env settings a create request may carry (the server caps them).
CREATE_SETTINGS = frozenset(
    {"action_format", "max_turns", "step_timeout_s", "max_observation_chars", "reveal_verdict", "enable_debug_hint"}
)
#: Ways to name a sample, in ``__init__`` (the default for every reset) or in reset ``options``.
SAMPLE_KEYS = frozenset({"sample_id", "dataset", "category", "split", "seed", "index", "data_idx"})


class RemoteEnvError(RuntimeError):
    """The server refused a call (``status`` is its HTTP status) or could not be reached (``status`` 0)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class RemoteEnv(gym.Env[str, Any]):
    """A MedAgentGym episode played on a server: ``RemoteEnv("http://host:8080", token=...)``.

    ``create_kwargs`` are the env settings (``action_format``, ``max_turns``, ``step_timeout_s``,
    ...) and optionally a default sample (``sample_id`` or dataset/category/split/seed/index).
    ``reset(seed=, options={"sample_id": ...})`` as in ``MedAgentEnv`` (``{"sample": Sample}``
    sends the sample's id); without a named sample the server draws from its selection with
    ``seed``. ``step_timeout_s`` of the request is the env's plus ``http_timeout_s``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": [], "render_fps": 1}

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        http_timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        **create_kwargs: Any,
    ) -> None:
        unknown = set(create_kwargs) - CREATE_SETTINGS - SAMPLE_KEYS
        if unknown:
            raise TypeError(f"RemoteEnv got unknown settings: {', '.join(sorted(unknown))}")
        self.base_url = base_url.rstrip("/")
        self.settings = {k: v for k, v in create_kwargs.items() if k in CREATE_SETTINGS}
        self.default_sample = {k: v for k, v in create_kwargs.items() if k in SAMPLE_KEYS}
        step_timeout = float(create_kwargs.get("step_timeout_s") or 30.0)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(step_timeout + http_timeout_s),
            transport=transport,
        )
        self.observation_space = _AnyText(max_length=MAX_TEXT)
        self.action_space = _AnyText(max_length=MAX_TEXT)
        self.episode_id: str | None = None
        self.done = False
        self._closed = False

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if self._closed:
            raise RemoteEnvError("the RemoteEnv is closed")
        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise RemoteEnvError(f"the server at {self.base_url} could not be reached ({type(exc).__name__}: {exc})") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text[:300]
            message = detail if isinstance(detail, str) else str(detail)[:300]
            if response.status_code in (400, 422) and path.endswith(("/episodes", "/reset")):
                raise IntegrationError(message)
            raise RemoteEnvError(f"{response.status_code}: {message}", response.status_code)
        return response.json()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        sample = options.pop("sample", None)
        if isinstance(sample, Sample):
            options["sample_id"] = sample.id
        elif sample is not None:
            raise TypeError("options['sample'] must be a Sample")
        named = {k: v for k, v in options.items() if k in SAMPLE_KEYS}
        choice = named or dict(self.default_sample)
        if seed is not None:
            choice["draw_seed"] = seed
        if self.episode_id is None:
            reply = self._call("POST", "/v1/episodes", {**choice, **self.settings})
            self.episode_id = reply["episode_id"]
        else:
            reply = self._call("POST", f"/v1/episodes/{self.episode_id}/reset", choice)
        self.done = False
        return reply["observation"], reply["info"]

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.episode_id is None:
            raise RuntimeError("call reset() before step()")
        reply = self._call("POST", f"/v1/episodes/{self.episode_id}/step", {"action": action})
        self.done = bool(reply["terminated"] or reply["truncated"])
        return reply["observation"], float(reply["reward"]), bool(reply["terminated"]), bool(reply["truncated"]), reply["info"]

    def close(self) -> None:
        """Delete the server episode (idempotent; an episode the server already expired is fine)."""
        if self._closed:
            return
        try:
            if self.episode_id is not None:
                try:
                    self._client.delete(f"/v1/episodes/{self.episode_id}")
                except httpx.HTTPError:
                    pass  # the server is gone: so is the episode
        finally:
            self.episode_id = None
            self._closed = True
            self._client.close()
            super().close()

    def __del__(self) -> None:
        # Best effort at garbage collection (the interpreter may be tearing down httpx): the
        # server's idle sweeper frees an episode this misses.
        with contextlib.suppress(Exception):
            self.close()
