"""recouvre's workflow sandbox: the case workflow is imported anew for every run, the
deterministic helpers it calls are the host's own modules, and replays still pass."""

from __future__ import annotations

import copy
import importlib
import importlib.util
import sys
from dataclasses import dataclass, is_dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    Replayer,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

import workflows.case_reducer
import workflows.facts
from schemas.case import CaseView
from tests.support.histories import HISTORIES
from workflows.collection_case import CollectionCaseWorkflow
from workflows.sandbox import PASSTHROUGH, WORKFLOW_MODULES, workflow_runner

HISTORY = HISTORIES / "collection_case_v4_updates_refused_then_paid.json"
"""A checked-in history: signals, updates, activities and timers, then the receipt."""
PROJECT = ("activities", "eventstore", "legal", "schemas", "workflows")


@dataclass
class Run:
    """What one workflow run saw from inside its sandbox."""

    workflow_class: type
    modules: dict[str, ModuleType]

    def workflow_module(self) -> ModuleType:
        return self.modules[self.workflow_class.__module__]


class RecordRuns(Interceptor):
    """Notes, from inside the sandbox, the workflow class each run executes and the
    sandbox's module table at that moment."""

    def __init__(self) -> None:
        self.runs: list[Run] = []

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        runs = self.runs

        class Inbound(WorkflowInboundInterceptor):
            async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
                runs.append(Run(input.type, sys.modules.copy()))
                return await super().execute_workflow(input)

        return Inbound


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


async def _replay(history: WorkflowHistory, times: int, recorder: RecordRuns) -> None:
    """Replay ``history`` ``times`` times, each with a new replay worker, as the audit
    and the replay tests do; every replay must pass."""
    replayer = Replayer(
        workflows=[CollectionCaseWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
        interceptors=[recorder],
    )
    for _ in range(times):
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"{history.workflow_id}: {result.replay_failure}"


def _configured_passthrough(name: str) -> bool:
    """The SDK's rule: a module is passed through if it or a package above it is listed."""
    passthrough = workflow_runner().restrictions.passthrough_modules
    parts = name.split(".")
    return any(".".join(parts[:end]) in passthrough for end in range(1, len(parts) + 1))


def test_no_module_of_the_workflow_itself_is_passed_through() -> None:
    assert CollectionCaseWorkflow.__module__ in WORKFLOW_MODULES
    mixins = {
        cls.__module__
        for cls in CollectionCaseWorkflow.__mro__
        if cls.__module__.split(".")[0] == "workflows"
    }
    assert mixins <= set(WORKFLOW_MODULES), "list a new mixin's module in WORKFLOW_MODULES"
    for name in WORKFLOW_MODULES:
        assert not _configured_passthrough(name), f"{name} must be re-imported per run"


def test_every_passed_through_module_exists() -> None:
    """A misspelt entry would silently pass nothing through."""
    for name in PASSTHROUGH:
        assert importlib.util.find_spec(name) is not None, name
    assert set(PASSTHROUGH) <= workflow_runner().restrictions.passthrough_modules


async def test_each_run_imports_the_workflow_anew_and_shares_its_helpers() -> None:
    recorder = RecordRuns()
    await _replay(_history(HISTORY), 2, recorder)
    assert len(recorder.runs) == 2
    first, second = recorder.runs

    # The workflow's own module: a new import per run, neither the host's nor shared.
    assert first.workflow_class is not CollectionCaseWorkflow
    assert first.workflow_class is not second.workflow_class
    host = sys.modules[CollectionCaseWorkflow.__module__]
    assert first.workflow_module() is not host
    assert first.workflow_module() is not second.workflow_module()

    for run in recorder.runs:
        # What the run's own workflow module calls is the host's module, not a copy.
        names = vars(run.workflow_module())
        assert names["reducer"] is workflows.case_reducer
        assert names["facts"] is workflows.facts
        assert names["CaseView"] is CaseView
        # Every project module the sandbox holds that is configured as passed through
        # is the very module object the host imported.
        shared = [
            name
            for name in run.modules
            if name.split(".")[0] in PROJECT and _configured_passthrough(name)
        ]
        assert "workflows.case_reducer" in shared and "schemas.case" in shared
        for name in shared:
            assert run.modules[name] is sys.modules[name], f"{name} was imported again"


def _module_state() -> dict[str, Any]:
    """A copy of the containers and models that passed-through project modules keep at
    module level: what a run could change and the next run would see."""
    state: dict[str, Any] = {}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] not in PROJECT or not _configured_passthrough(name):
            continue
        for attr, value in vars(module).items():
            mutable = isinstance(value, dict | list | set | bytearray | BaseModel) or (
                is_dataclass(value) and not isinstance(value, type)
            )
            if mutable and not attr.startswith("__"):
                state[f"{name}.{attr}"] = copy.deepcopy(value)
    return state


async def test_replays_leave_the_passed_through_modules_as_they_were() -> None:
    await _replay(_history(HISTORY), 1, RecordRuns())  # every helper imported on the host
    before = _module_state()
    assert "workflows.einvoicing._EFFECTS" in before
    await _replay(_history(HISTORY), 2, RecordRuns())
    after = _module_state()
    changed = sorted(key for key in before if after.get(key) != before[key])
    assert not changed, f"module state changed by a run: {changed}"
