"""The foundation end to end on a real engine: create, harden, exec, branch, delete, reconcile."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend import docker_client, paths
from backend.errors import ConflictError, ImageMissingError, NotFoundError, UsageError
from backend.models import TaskState
from backend.reconcile import reconcile
from backend.service import TaskService
from tests.conftest import git, make_repo


def checkout_fingerprint(repo: Path) -> tuple[str, str, str, bytes]:
    """Everything of the user's checkout that Corral must never change."""
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "symbolic-ref", "HEAD"),
        git(repo, "status", "--porcelain", "--untracked-files=all"),
        (repo / ".git" / "index").read_bytes(),
    )


async def test_create_is_hardened_and_leaves_checkout_alone(
    service: TaskService, repo: Path, tiny_image: str
) -> None:
    (repo / "untracked.txt").write_text("mine\n")  # the user's own work in progress
    before = checkout_fingerprint(repo)
    task = await service.create_task("Fix Login Bug!", repo=str(repo), image=tiny_image,
                                     cpus=0.5, memory="128m")  # fmt: skip
    assert task.state == TaskState.RUNNING
    assert task.branch == "corral/fix-login-bug"
    assert git(repo, "rev-parse", task.branch) == git(repo, "rev-parse", "HEAD")
    ws = paths.workspace_dir(service.home, task.id)
    assert git(ws, "-c", "safe.directory=*", "rev-parse", "--abbrev-ref", "HEAD") == task.branch
    assert checkout_fingerprint(repo) == before

    probe = (
        "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; id -u; ls /sys/class/net; "
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; "
        "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; "
        "test -e /var/run/docker.sock && echo SOCKET || echo nosocket; "
        "cat /proc/1/comm; touch /workspace/written && echo wrote"
    )
    result = await service.exec(task.name, probe)
    out = result.output.split()
    assert result.exit_code == 0, result.output
    assert out[out.index("CapEff:") + 1] == "0000000000000000"
    assert out[out.index("NoNewPrivs:") + 1] == "1"
    assert "1000" in out  # the image's non-root user
    assert "lo" in out and "eth0" not in out  # network none
    assert str(128 * 1024 * 1024) in out
    assert str(512) in out  # pids limit default
    assert "nosocket" in out and "SOCKET" not in out
    assert out[-2] in ("docker-init", "tini") and out[-1] == "wrote"

    attrs = docker_client.client().containers.get(task.container_id).attrs
    host = attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["NetworkMode"] == "none"
    assert host["NanoCpus"] == 500_000_000
    assert host["LogConfig"]["Config"]["max-size"]
    assert attrs["Config"]["Labels"]["corral.task"] == task.id
    assert attrs["Config"]["Labels"]["corral.home"] == str(service.home)


async def test_exec_streams_records_and_times_out(
    service: TaskService, repo: Path, tiny_image: str
) -> None:
    task = await service.create_task(
        "execs", repo=str(repo), image=tiny_image, env={"TOKEN": "s3cr3t-value"}
    )
    seen: list[bytes] = []
    r = await service.exec(
        task.name,
        ["sh", "-c", "echo one; echo two >&2; echo $TOKEN; exit 3"],
        on_output=seen.append,
    )
    assert r.exit_code == 3
    assert b"one" in b"".join(seen) and "two" in r.output
    assert "s3cr3t-value" not in r.output and "***" in r.output  # secrets are redacted
    slow = await service.exec(task.name, "sleep 30; echo never", timeout=1)
    assert slow.timed_out and slow.exit_code is None and slow.duration_ms < 5000
    after = await service.exec(task.name, "ps | grep -c '[s]leep 30' || true")
    assert after.output.strip() == "0"  # the timed-out command and its children were killed
    runs = await service.executions(task.name)
    assert [x.exit_code for x in runs] == [3, None, 0]
    assert runs[1].timed_out
    logs = "\n".join(ln.text for ln in await service.logs(task.name))
    assert "one" in logs and "$ sleep 30; echo never" in logs and "s3cr3t-value" not in logs
    # Nothing of the secret reached the database either.
    db = paths.db_path(service.home).read_bytes()
    wal = paths.db_path(service.home).with_name("corral.db-wal")
    assert b"s3cr3t-value" not in db + (wal.read_bytes() if wal.exists() else b"")


async def test_in_container_commit_lands_on_the_branch(
    service: TaskService, repo: Path, base_image: str
) -> None:
    task = await service.create_task("agent-commit", repo=str(repo), image=base_image)
    r = await service.exec(
        task.name,
        "id -u && echo 'print(1)' > app.py && git add app.py && git commit -qm 'agent: add app' && git log --oneline | head -1",
    )
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == "1000"
    assert git(repo, "log", "-1", "--format=%s", task.branch) == "agent: add app"
    assert git(repo, "show", f"{task.branch}:app.py") == "print(1)"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # the user's checkout stays
    assert not (repo / "app.py").exists()


async def test_lifecycle_rules_and_delete_leaves_nothing(
    service: TaskService, repo: Path, tiny_image: str
) -> None:
    task = await service.create_task("life", repo=str(repo), image=tiny_image)
    stopped = await service.stop_task("life")
    assert stopped.state == TaskState.STOPPED
    with pytest.raises(ConflictError, match="it is stopped"):
        await service.exec("life", "true")
    resumed = await service.resume_task("life")
    assert resumed.state == TaskState.RUNNING
    assert (await service.exec("life", "echo back")).output.strip() == "back"
    with pytest.raises(ConflictError, match="it is running; stop it first"):
        await service.cleanup_task("life")
    deleted = await service.delete_task("life")
    assert deleted.state == TaskState.DELETED
    cli = docker_client.client()
    assert cli.containers.list(all=True, filters={"label": f"corral.task={task.id}"}) == []
    assert not paths.workspace_dir(service.home, task.id).exists()
    assert not paths.env_file(service.home, task.id).exists()
    kinds = [e.kind for e in await service.history(task.id)]
    assert kinds[0] == "task.created" and kinds[-1] == "task.deleted"  # history kept
    assert git(repo, "branch", "--list", task.branch)  # the branch is the user's work: kept
    with pytest.raises(NotFoundError):
        await service.get("life")
    await service.delete_task(task.id, purge=True)
    assert not paths.task_dir(service.home, task.id).exists()
    assert git(repo, "branch", "--list", task.branch) == ""
    assert await service.store.task_events(task.id) == []


async def test_bad_input_is_refused_and_changes_nothing(
    service: TaskService, repo: Path, tiny_image: str, tmp_path: Path
) -> None:
    await service.create_task("taken", repo=str(repo), image=tiny_image)
    before_branches = git(repo, "branch", "--list")
    mine = {"label": f"corral.home={service.home}"}
    before_containers = len(docker_client.client().api.containers(all=True, filters=mine))
    cases: list[tuple[dict[str, object], type[Exception], str]] = [
        ({"name": "taken"}, ConflictError, "already exists"),
        ({"name": "bad/name"}, UsageError, "path separator"),
        ({"name": "ok", "repo": str(tmp_path)}, UsageError, "not inside a git repository"),
        (
            {"name": "ok", "image": "corral/nope:latest"},
            ImageMissingError,
            "corral images build nope",
        ),
        (
            {"name": "ok", "image": "someone/else:1"},
            ImageMissingError,
            "docker pull someone/else:1",
        ),
        ({"name": "ok", "cpus": 999.0}, UsageError, "--cpus 999.0 is out of range"),
        ({"name": "ok", "memory": "1k"}, UsageError, "below the 8m minimum"),
        ({"name": "ok", "memory": "lots"}, UsageError, "not a size"),
        ({"name": "ok", "base": "no-such-ref"}, UsageError, "is not a commit"),
        ({"name": "ok", "network": "no-such-net"}, UsageError, "does not exist"),
        ({"name": "ok", "agent": "nobody"}, UsageError, "unknown agent preset"),
    ]
    for kwargs, exc_type, says in cases:
        kw = {"repo": str(repo), "image": tiny_image, **kwargs}
        name = str(kw.pop("name"))
        with pytest.raises(exc_type) as err:
            await service.create_task(name, **kw)  # type: ignore[arg-type]
        assert says in str(err.value), (kwargs, str(err.value))
        assert "\n" not in str(err.value)
    assert git(repo, "branch", "--list") == before_branches
    assert len(docker_client.client().api.containers(all=True, filters=mine)) == before_containers
    assert [t.name for t in await service.list_tasks(include_all=True)] == ["taken"]


async def test_slug_collisions_and_existing_branches(
    service: TaskService, repo: Path, tiny_image: str
) -> None:
    git(repo, "branch", "corral/fix-bug")  # a branch the user already has
    a = await service.create_task("Fix Bug", repo=str(repo), image=tiny_image)
    b = await service.create_task("fix bug!", repo=str(repo), image=tiny_image)
    assert (a.branch, b.branch) == ("corral/fix-bug-2", "corral/fix-bug-3")


async def test_engine_unreachable_is_one_clear_line(
    home: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{home}/no-docker.sock")
    docker_client.reset()
    try:
        svc = await TaskService.open(home)
        try:
            with pytest.raises(Exception) as err:
                await svc.create_task("x", repo=str(repo), image="corral/test-tiny")
        finally:
            await svc.close()
        msg = str(err.value)
        assert "Docker engine not reachable at unix://" in msg and "start it" in msg
        assert "\n" not in msg
    finally:
        monkeypatch.delenv("DOCKER_HOST")
        docker_client.reset()


async def test_reconcile_finds_orphans_and_vanished(
    service: TaskService, repo: Path, tiny_image: str
) -> None:
    task = await service.create_task("vanish", repo=str(repo), image=tiny_image)
    cli = docker_client.client()
    orphan = cli.containers.create(
        tiny_image, ["true"], labels={"corral.home": str(service.home), "corral.task": "ghost"}
    )
    cli.containers.get(task.container_id).remove(force=True)  # gone behind Corral's back
    stray = paths.task_dir(service.home, "deadbeef0000")
    stray.mkdir(parents=True)
    report = await reconcile(service)
    assert "vanish" in report.vanished
    assert {o.kind for o in report.orphans} == {"container", "workspace"}
    assert (await service.get("vanish")).state == TaskState.FAILED
    assert "resume-task" in ((await service.get("vanish")).reason or "")
    report = await reconcile(service, remove=True)
    assert len(report.removed) == 2
    assert not stray.exists()
    assert cli.containers.list(all=True, filters={"id": orphan.id}) == []
    resumed = await service.resume_task("vanish")  # a fresh sandbox on the same workspace
    assert resumed.state == TaskState.RUNNING and resumed.container_id != task.container_id


async def test_repo_with_submodule(service: TaskService, tmp_path: Path, tiny_image: str) -> None:
    lib = make_repo(tmp_path / "lib", {"lib.txt": "library\n"})
    main = make_repo(tmp_path / "main")
    git(main, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    git(main, "commit", "-qm", "add submodule")
    task = await service.create_task("with-sub", repo=str(main), image=tiny_image)
    r = await service.exec(task.name, "cat vendor/lib/lib.txt")
    assert r.output.strip() == "library"


def test_backend_runs_as_root_here() -> None:
    """The hard-link-safe chown of workspaces is exercised only as root, as CI runs."""
    assert os.geteuid() == 0


async def test_merge_moves_only_the_ref_when_base_is_not_checked_out(
    service: TaskService, repo: Path, base_image: str
) -> None:
    git(repo, "checkout", "-q", "-b", "elsewhere")  # the user works on another branch
    (repo / "wip.txt").write_text("uncommitted\n")
    await service.create_task("m", repo=str(repo), base="main", image=base_image)
    r = await service.exec("m", "echo merged > new.txt && git add new.txt && git commit -qm add")
    assert r.exit_code == 0, r.output
    done, result = await service.complete_task("m", merge=True)
    assert result is not None and result.merged and result.into == "main"
    assert git(repo, "show", "main:new.txt") == "merged"  # fast-forwarded ref
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "elsewhere"  # checkout untouched
    assert (repo / "wip.txt").read_text() == "uncommitted\n" and not (repo / "new.txt").exists()
    assert done.state == TaskState.COMPLETED


async def test_merge_refuses_a_dirty_checkout_of_the_base(
    service: TaskService, repo: Path, base_image: str
) -> None:
    await service.create_task("d", repo=str(repo), image=base_image)
    await service.exec("d", "echo x > x.txt && git add x.txt && git commit -qm x")
    (repo / "README.md").write_text("edited by the user\n")  # uncommitted change on main
    with pytest.raises(ConflictError, match="uncommitted changes"):
        await service.complete_task("d", merge=True)
    assert (repo / "README.md").read_text() == "edited by the user\n"
    assert (await service.get("d")).state == TaskState.RUNNING  # refused before any change
