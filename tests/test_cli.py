"""Every command end to end through the real `corral` CLI, as a subprocess, on the real engine."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import TINY, corral, git, make_repo
from tests.test_agents import SCRIPT

TASK_KEYS = {"id", "name", "state", "branch", "image", "container_id", "created_at"}


def ok(*args: str, cwd: Path) -> object:
    r = corral("--json", *args, cwd=cwd)
    assert r.returncode == 0, f"{args}: {r.stderr}"
    return json.loads(r.stdout)


def fails(code: int, *args: str, cwd: Path, says: str) -> str:
    r = corral(*args, cwd=cwd)
    assert r.returncode == code, (args, r.returncode, r.stderr)
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1, err  # one line, no traceback
    assert err.startswith("corral: error: ") and says in err, err
    return err


def test_task_lifecycle_through_the_cli(home: Path, repo: Path, tiny_image: str) -> None:
    task = ok("create-task", "Fix Login", "--image", TINY, "--memory", "128m", "--cpus", "0.5",
              "--env", "API_TOKEN=abcd-secret", "--description", "login breaks on empty password",
              cwd=repo)  # fmt: skip
    assert isinstance(task, dict) and task.keys() >= TASK_KEYS
    assert task["state"] == "running" and task["branch"] == "corral/fix-login"
    assert "abcd-secret" not in json.dumps(task)  # env values never leave the env file

    listed = ok("list-tasks", cwd=repo)
    assert isinstance(listed, list) and [t["name"] for t in listed] == ["Fix Login"]
    assert listed[0].keys() >= TASK_KEYS

    r = corral("exec", "Fix Login", "--", "sh", "-c", "echo out; echo $API_TOKEN; exit 0", cwd=repo)
    assert (
        r.returncode == 0
        and "out" in r.stdout
        and "***" in r.stdout
        and "abcd-secret" not in r.stdout
    )
    r = corral("exec", "Fix Login", "--", "sh", "-c", "exit 7", cwd=repo)
    assert r.returncode == 1 and "exited with code 7" in r.stderr
    r = corral("--json", "exec", task["id"][:6], "--timeout", "1", "--", "sleep", "20", cwd=repo)
    assert r.returncode == 1 and json.loads(r.stdout)["timed_out"] is True

    logs = ok("logs", "Fix Login", "--grep", "^out$", cwd=repo)
    assert isinstance(logs, list) and [ln["text"] for ln in logs] == ["out"]
    assert ok("logs", "Fix Login", "--since", "10m", "--tail", "2", cwd=repo)
    execs = ok("task-executions", "Fix Login", cwd=repo)
    assert isinstance(execs, list) and [x["exit_code"] for x in execs] == [0, 7, None]

    ok("task-decisions", "Fix Login", "--add", "reject empty passwords with bcrypt", cwd=repo)
    found = ok("find-task", "bcrypt", cwd=repo)
    assert isinstance(found, list) and [t["name"] for t in found] == ["Fix Login"]
    assert [t["name"] for t in ok("find-task", "empty password", cwd=repo)] == ["Fix Login"]  # type: ignore[union-attr]

    status = ok("task-status", "Fix Login", cwd=repo)
    assert isinstance(status, dict) and status["container_status"] == "running"
    assert ok("stop-task", "Fix Login", cwd=repo)["state"] == "stopped"  # type: ignore[index]
    fails(4, "exec", "Fix Login", "--", "true", cwd=repo, says="it is stopped")
    assert ok("resume-task", "Fix Login", cwd=repo)["state"] == "running"  # type: ignore[index]
    stats = ok("task-stats", cwd=repo)
    assert isinstance(stats, dict) and stats["by_state"] == {"running": 1}
    assert stats["tasks"][0]["executions"] == 3

    history = ok("task-history", "Fix Login", cwd=repo)
    kinds = [e["kind"] for e in history]  # type: ignore[union-attr]
    assert kinds[0] == "task.created" and "task.stopped" in kinds and "task.resumed" in kinds
    assert "abcd-secret" not in json.dumps(history)

    assert ok("delete-task", "Fix Login", cwd=repo)["state"] == "deleted"  # type: ignore[index]
    assert ok("list-tasks", cwd=repo) == []
    assert [t["state"] for t in ok("list-tasks", "--all", cwd=repo)] == ["deleted"]  # type: ignore[union-attr]


def test_agent_commands_with_the_scripted_agent(
    home: Path, tmp_path: Path, base_image: str
) -> None:
    repo = make_repo(tmp_path / "r", {"scripted_agent.sh": SCRIPT})
    ok("create-task", "agent", "--image", base_image, cwd=repo)
    t = ok("attach-agent", "agent", "--agent-cmd", "sh scripted_agent.sh", cwd=repo)
    assert isinstance(t, dict) and t["agent_state"] == "running"
    for _ in range(50):
        lines = [ln["text"] for ln in ok("logs", "agent", cwd=repo)]  # type: ignore[union-attr]
        if "agent: committed" in lines:
            break
        time.sleep(0.2)
    assert "agent: committed" in lines
    fails(4, "attach-agent", "agent", "shell", cwd=repo, says="already has a running agent")
    assert ok("task-status", "agent", cwd=repo)["agent_running"] is True  # type: ignore[index]
    assert ok("detach", "agent", cwd=repo)["agent_state"] == "detached"  # type: ignore[index]
    ok("attach-agent", "agent", "shell", cwd=repo)
    ok("stop-task", "agent", cwd=repo)
    t = ok("resume-task", "agent", cwd=repo)
    assert isinstance(t, dict) and t["agent_state"] == "running"
    assert git(repo, "log", "-1", "--format=%s", "corral/agent") == "agent: fix"


def test_complete_merge_and_cleanup(home: Path, tmp_path: Path, base_image: str) -> None:
    repo = make_repo(tmp_path / "r", {"app.txt": "v1\n", "other.txt": "x\n"})
    ok("create-task", "clean", "--image", base_image, cwd=repo)
    ok("create-task", "clash", "--image", base_image, cwd=repo)
    ok("create-task", "plain", "--image", base_image, cwd=repo)
    commit = "git commit -qam change"
    assert (
        corral(
            "exec", "clean", "--", "sh", "-c", f"echo new > other.txt && {commit}", cwd=repo
        ).returncode
        == 0
    )
    assert (
        corral(
            "exec", "clash", "--", "sh", "-c", f"echo theirs > app.txt && {commit}", cwd=repo
        ).returncode
        == 0
    )
    ok("task-decisions", "clean", "--add", "rewrite other.txt", cwd=repo)
    # Meanwhile the user changes app.txt on main: "clash" can no longer merge cleanly.
    (repo / "app.txt").write_text("mine\n")
    git(repo, "commit", "-qam", "user change")
    main_before = git(repo, "rev-parse", "main")

    err = fails(4, "complete-task", "clash", "--merge", cwd=repo, says="conflicts in app.txt")
    assert "nothing changed" in err
    assert git(repo, "rev-parse", "main") == main_before
    assert ok("task-status", "clash", cwd=repo)["task"]["state"] == "running"  # type: ignore[index]

    done = ok("complete-task", "clean", "--merge", cwd=repo)
    assert isinstance(done, dict) and done["merge"]["merged"] is True
    assert (repo / "other.txt").read_text() == "new\n"  # merged into the checked-out main
    assert "rewrite other.txt" in git(repo, "show", "main:decisions.md")
    assert done["task"]["state"] == "completed"

    plain = ok("complete-task", "plain", cwd=repo)
    assert (
        isinstance(plain, dict)
        and plain["merge"] is None
        and git(repo, "rev-parse", "corral/plain")
    )
    cleaned = ok("cleanup-task", "--completed", cwd=repo)
    assert sorted(t["name"] for t in cleaned) == ["clean", "plain"]  # type: ignore[union-attr]
    assert git(repo, "branch", "--list", "corral/clean")  # branch kept
    fails(2, "cleanup-task", cwd=repo, says="give a TASK or --completed")


def test_usage_errors_and_exit_codes(
    home: Path, repo: Path, tiny_image: str, tmp_path: Path
) -> None:
    fails(2, "creat-task", "x", cwd=repo, says="did you mean create-task?")
    fails(2, "create-task", cwd=repo, says="usage: create-task NAME")
    fails(2, "create-task", "x", "--cpus", "lots", cwd=repo, says="cpus")
    fails(2, "create-task", "x", "--env", "NOEQUALS", cwd=repo, says="is not K=V")
    fails(2, "list-tasks", "--state", "sleepy", cwd=repo, says="invalid choice")
    fails(3, "task-status", "ghost", cwd=repo, says="no task named 'ghost'")
    fails(2, "create-task", "x", cwd=tmp_path, says="not inside a git repository")
    fails(
        1,
        "create-task",
        "x",
        "--image",
        "corral/missing",
        cwd=repo,
        says="corral images build missing",
    )
    ok("create-task", "dup", "--image", tiny_image, cwd=repo)
    fails(4, "create-task", "dup", "--image", tiny_image, cwd=repo, says="already exists")
    fails(2, "exec", "dup", cwd=repo, says="put it after --")
    fails(2, "logs", "dup", "--grep", "(", cwd=repo, says="not a regular expression")
    r = corral("create-task", "x", "--json", "--image", "corral/missing", cwd=repo)
    assert r.returncode == 1 and json.loads(r.stdout)["error"]["kind"] == "image_missing"
    r = corral("--help", cwd=repo)
    assert r.returncode == 0 and "exit codes" in r.stdout and "create-task" in r.stdout
    r = corral("create-task", "--help", cwd=repo)
    assert (
        r.returncode == 0
        and "usage: corral create-task NAME" in r.stdout
        and "example:" in r.stdout
    )
    helped = ok("help", "exec", cwd=repo)
    assert isinstance(helped, list) and helped[0]["usage"].startswith("exec TASK")


def test_batch(home: Path, repo: Path, tiny_image: str) -> None:
    script = f"""
# a comment, then commands with and without the slash
/create-task b1 --image {TINY}
exec b1 -- echo from-batch
/task-status nope
create-task b2 --image {TINY}
"""
    r = corral("batch", "-", "--json", cwd=repo, input=script)
    assert r.returncode == 3  # the first failure's code
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [rec["ok"] for rec in records] == [True, True, False]  # stopped at the failure
    assert records[1]["result"]["output"].strip() == "from-batch"
    assert records[2]["line"] == 5 and records[2]["exit_code"] == 3
    r = corral(
        "batch",
        "-",
        "--keep-going",
        "--json",
        cwd=repo,
        input=script.replace("b1", "c1").replace("b2", "c2"),
    )
    assert r.returncode == 3
    assert [json.loads(line)["ok"] for line in r.stdout.splitlines()] == [True, True, False, True]
    fails(2, "batch", "/no/such/file", cwd=repo, says="cannot read batch file")
    r = corral("batch", "-", cwd=repo, input="/list-tasks\n")
    assert r.returncode == 0 and "c2" in r.stdout


def test_completion_scripts(repo: Path) -> None:
    for shell in ("bash", "zsh", "fish"):
        r = corral("completion", shell, cwd=repo)
        assert r.returncode == 0 and "create-task" in r.stdout
    assert "complete -F _corral corral" in corral("completion", "bash", cwd=repo).stdout


def test_concurrent_creates_from_many_processes(home: Path, repo: Path, tiny_image: str) -> None:
    """Six CLI processes create tasks at once whose names all slug to `race`: every one lands,
    on its own branch, with no error and no lost row."""
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "corral"
    names = ["race", "Race!", "race?", "RACE.", "race,", "(race)"]
    procs = [
        subprocess.Popen(
            [str(exe), "--json", "create-task", n, "--image", TINY],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in names
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(names), [e for _, e in outs]
    branches = sorted(json.loads(o)["branch"] for o, _ in outs)
    assert branches == sorted(["corral/race", *(f"corral/race-{i}" for i in range(2, 7))])
    listed = ok("list-tasks", cwd=repo)
    assert isinstance(listed, list) and len(listed) == len(names)
    for b in branches:
        assert git(repo, "rev-parse", "--verify", b)


def test_logs_follow_shows_history_then_live_lines(home: Path, repo: Path, tiny_image: str) -> None:
    import subprocess
    import sys

    ok("create-task", "follow-me", "--image", TINY, cwd=repo)
    assert corral("exec", "follow-me", "--", "echo", "before-follow", cwd=repo).returncode == 0
    exe = Path(sys.executable).parent / "corral"
    proc = subprocess.Popen([str(exe), "logs", "follow-me", "--follow"], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        time.sleep(1.0)
        assert corral("exec", "follow-me", "--", "echo", "during-follow", cwd=repo).returncode == 0
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert out.count("before-follow") == 2  # the command line and its output, once each
    assert "during-follow" in out
