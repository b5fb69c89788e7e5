"""A checkpoint is whole or absent: a real `corral` process killed between its parts leaves
parts that reconcile removes; a row whose parts vanished goes too. Also the CLI faces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend import checkpoints
from backend.checkpoints import container
from backend.checkpoints.faults import ENV
from backend.models import Task
from backend.reconcile import reconcile
from backend.sandbox import status
from backend.service import TaskService
from backend.workspace import run_git
from tests.conftest import corral, git, make_repo, unique


@pytest.fixture
async def task(service: TaskService, tmp_path: Path, tiny_image: str) -> Task:
    repo = make_repo(tmp_path / "src")
    return await service.create_task(unique("crash"), repo=str(repo), image=tiny_image)


def parts(task: Task, home: Path) -> tuple[str, str, list[str]]:
    ws = Path(task.workspace or "")
    prefix = f"refs/corral/checkpoints/{task.id}"
    ws_refs = run_git(ws, "for-each-ref", "--format=%(refname)", prefix, uid=1000)
    root_refs = git(Path(task.repo), "for-each-ref", "--format=%(refname)", prefix)
    tags = [t for i in container.labelled_images(home) for t in i.tags if t.startswith(task.id)]
    return ws_refs, root_refs, tags


@pytest.mark.parametrize("point", ["ref", "image", "mirror"])
async def test_killed_between_parts_leaves_nothing_after_reconcile(
    service: TaskService, task: Task, home: Path, point: str
) -> None:
    await service.exec(task.id, "echo changed > /tmp/outside.txt; echo w > work.txt")
    proc = corral("checkpoint", task.name, env={ENV: point})
    assert proc.returncode == 137, proc.stderr
    ws_refs, root_refs, tags = parts(task, home)
    assert ws_refs  # the crash really left a part behind ...
    # Parts are made in this order: workspace ref, image, ref mirrored to the user's repo.
    assert bool(tags) == (point != "ref") and bool(root_refs) == (point == "mirror")
    assert await checkpoints.list_checkpoints(service, task.id) == []

    report = await reconcile(service, remove=True)
    kinds = {o.kind for o in report.removed}
    assert kinds == {"checkpoint"}
    assert parts(task, home) == ("", "", [])
    assert status(task.container_id or "") == "running"
    cp = await checkpoints.create(service, task.id)  # and the next one is whole
    assert cp.n == 2 and cp.image_id  # number 1 is never reused
    assert (await reconcile(service, remove=True)).removed == []


async def test_row_whose_parts_vanished_is_removed(
    service: TaskService, task: Task, home: Path
) -> None:
    cp = await checkpoints.create(service, task.id)
    git(Path(task.repo), "update-ref", "-d", cp.git_ref)
    run_git(Path(task.workspace or ""), "update-ref", "-d", cp.git_ref, uid=1000)
    report = await reconcile(service, remove=False)
    assert [o.detail for o in report.orphans if o.kind == "checkpoint"] == [
        "checkpoint row whose commit ref is gone"
    ]
    assert await checkpoints.list_checkpoints(service, task.id)  # only reported so far
    await reconcile(service, remove=True)
    assert await checkpoints.list_checkpoints(service, task.id) == []


async def test_cli_faces(task: Task) -> None:
    made = corral("checkpoint", task.name, "-m", "first one", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["n"] == 1
    listed = json.loads(corral("checkpoints", task.name, "--json").stdout)
    assert [(c["n"], c["message"]) for c in listed] == [(1, "first one")]
    human = corral("checkpoints", task.name)
    assert "first one" in human.stdout and "manual" in human.stdout
    diff = json.loads(corral("diff", task.name, "--json").stdout)
    assert diff["from_n"] == 1 and diff["files"] == []
    restored = corral("restore-checkpoint", task.name, "1", "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["safety"] == 2
    missing = corral("restore-checkpoint", task.name, "99")
    assert missing.returncode == 3 and "no checkpoint 99" in missing.stderr
    pruned = corral("prune-checkpoints", task.name, "--keep", "0", "--json")
    assert json.loads(pruned.stdout)["removed"] == [1]  # the safety checkpoint stays
    assert corral("prune-checkpoints", task.name).returncode == 2
