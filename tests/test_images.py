"""Sandbox images: building them through the Engine API (cached, ordered, failing clearly),
making the Debian base offline, listing them, and real tasks on them (tools, uid 1000, the
agent's commit landing on the task branch), plus which image a new task gets.

Real engine, real builds, real git: nothing here is mocked.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from backend import docker_client
from backend.config import DEFAULT_IMAGE, parse_jsonc
from backend.errors import CorralError, ImageMissingError
from backend.images.builder import build_images, plan
from backend.images.catalog import LABEL_DIGEST, recipe_for, recipes
from backend.images.offline_base import ensure_parent, make_debian_base
from backend.service import TaskService
from tests.conftest import BASE, DEV, ROOT, TINY, corral, git, require_image, unique

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def dev_image(engine: None) -> str:
    return require_image(DEV)


def _image_id(tag: str) -> str:
    return str(docker_client.client().images.get(tag).id)


def _labels(tag: str) -> dict[str, str]:
    return dict(docker_client.client().images.get(tag).attrs["Config"]["Labels"] or {})


def _remove_image(tag: str) -> None:
    with contextlib.suppress(Exception):
        docker_client.client().images.remove(tag, force=True)


# -- building ---------------------------------------------------------------------------------


def test_rebuild_goes_through_the_engine_and_a_second_run_is_skipped(
    base_image: str, dev_image: str
) -> None:
    before = {t: _image_id(t) for t in (BASE, DEV)}
    rebuilt = corral("images-build", "base", "developer", "--rebuild", "--json", timeout=900)
    assert rebuilt.returncode == 0, rebuilt.stderr
    outcomes = json.loads(rebuilt.stdout)["images"]
    assert [(o["name"], o["action"]) for o in outcomes] == [
        ("base", "built"),
        ("developer", "built"),
    ]
    # Unchanged Dockerfiles: every step came from the cache, so the images are the same ones.
    assert {t: _image_id(t) for t in (BASE, DEV)} == before

    started = time.monotonic()
    again = corral("images", "build", "developer", "--json")
    took = time.monotonic() - started
    assert again.returncode == 0, again.stderr
    assert [o["action"] for o in json.loads(again.stdout)["images"]] == ["skipped"]
    assert took < 15, f"a cached images build took {took:.1f}s"

    for tag, recipe in ((BASE, "sandbox-base"), (DEV, "sandbox-developer")):
        labels = _labels(tag)
        assert labels["corral.image"] == recipe
        assert labels["corral.uid"] == "1000"
        assert labels[LABEL_DIGEST] == recipe_for(recipe).digest()


def test_images_list_shows_both_with_size_and_age(base_image: str, dev_image: str) -> None:
    out = corral("images", "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    for name in (BASE, DEV):
        assert rows[name]["tag"] == "latest"
        assert rows[name]["size_bytes"] > 50 * 1024**2
        assert rows[name]["created_at"]
    assert rows[DEV]["size_bytes"] > rows[BASE]["size_bytes"]
    assert TINY not in rows  # not one of Corral's recipes
    human = corral("images", "list")
    assert "corral/sandbox-developer" in human.stdout and "MiB" in human.stdout


def _recipe(root: Path, name: str, dockerfile: str) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "Dockerfile").write_text(dockerfile)


def test_a_child_builds_its_missing_parent_first_and_failures_name_the_step(
    tiny_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = unique("t")
    parent, child, broken = f"sandbox-p{tag}", f"sandbox-c{tag}", f"sandbox-x{tag}"
    _recipe(tmp_path, parent, f"FROM {TINY}\nUSER 0\nRUN echo parent > /parent\n")
    _recipe(tmp_path, child, f"FROM corral/{parent}\nRUN cat /parent > /child\n")
    _recipe(tmp_path, broken, f'FROM {TINY}\nUSER 0\nRUN echo "about to fail" && false\n')
    monkeypatch.setenv("CORRAL_IMAGES_DIR", str(tmp_path))
    try:
        short = child.removeprefix("sandbox-")
        assert [r.recipe for r in plan([short], rebuild=False)] == [parent, child]
        steps: list[str] = []
        result = build_images([short], report=lambda s: steps.append(s.text))
        assert [o.action for o in result.images] == ["built", "built"]
        assert any("Step 2/" in s and "RUN cat /parent" in s for s in steps)
        # With the parent there, the child alone is planned.
        assert [r.recipe for r in plan([short], rebuild=False)] == [child]

        failed = corral("images-build", broken.removeprefix("sandbox-"))
        assert failed.returncode == 1
        err = failed.stderr.strip().splitlines()[-1]  # after the plain step lines
        assert err.startswith("corral: error: building"), failed.stderr
        assert f"corral: {broken.removeprefix('sandbox-')}: Step 1/5 : FROM" in failed.stderr
        assert "failed at step 3/" in err and "RUN echo" in err and "exit code 1" in err
        assert "last output: about to fail" in err
    finally:
        for name in (child, parent, broken):
            _remove_image(f"corral/{name}:latest")


def test_unknown_recipe_is_a_usage_error() -> None:
    out = corral("images-build", "nosuch")
    assert out.returncode == 2
    assert "known: base, developer" in out.stderr


# -- the offline Debian base --------------------------------------------------------------------


def test_debian_base_is_made_offline_with_debootstrap(engine: None) -> None:
    tag = f"corral-test/debian-bootstrap:{unique('d')}"
    lines: list[str] = []
    try:
        make_debian_base(tag, lines.append)
        assert any("Retrieving" in ln or "Extracting" in ln for ln in lines)
        out = docker_client.client().containers.run(
            tag,
            ["sh", "-c", "cat /etc/apt/sources.list; ls /var/lib/apt/lists; cat /etc/os-release"],
            remove=True,
            network_mode="none",
        )
        text = out.decode()
        for suite in ("bookworm main", "bookworm-updates main", "bookworm-security main"):
            assert suite in text
        assert "VERSION_CODENAME=bookworm" in text
        assert "Packages" not in text  # apt lists were stripped
        config = docker_client.client().images.get(tag).attrs["Config"]
        assert config["Cmd"] == ["bash"]
        assert any(e.startswith("PATH=/usr/local/sbin:") for e in config["Env"])
    finally:
        _remove_image(tag)


def test_making_the_base_without_root_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(CorralError, match=r"needs root .*sudo corral images build base"):
        make_debian_base("corral-test/never:1", lambda _l: None)


def test_an_unpullable_foreign_base_fails_in_one_line(engine: None) -> None:
    started = time.monotonic()
    with pytest.raises(CorralError, match="cannot be pulled"):
        ensure_parent(f"corral-test/not-anywhere:{unique('x')}", lambda _l: None)
    assert time.monotonic() - started < 30  # fails fast without a registry


# -- tasks on the images ------------------------------------------------------------------------


async def test_developer_sandbox_has_the_tools_and_the_agents_commit_lands_on_the_branch(
    service: TaskService, repo: Path, dev_image: str
) -> None:
    task = await service.create_task(unique("dev"), repo=str(repo), image=DEV)
    assert task.image == DEV
    probe = await service.exec(
        task.name,
        "id -u; id -g; git --version; python3 --version; tmux -V; node --version; rg --version;"
        " jq --version; echo made > /workspace/from-agent.txt && echo wrote",
    )
    assert probe.exit_code == 0, probe.output
    lines = probe.output.splitlines()
    assert lines[:2] == ["1000", "1000"]
    for tool in ("git version", "Python 3", "tmux ", "v1", "ripgrep", "jq-"):
        assert any(ln.startswith(tool) for ln in lines), (tool, probe.output)
    assert lines[-1] == "wrote"
    ws = Path(task.workspace or "")
    assert (ws / "from-agent.txt").read_text() == "made\n"
    assert (ws / "from-agent.txt").stat().st_uid == 1000

    commit = await service.exec(
        task.name,
        "git add from-agent.txt && git commit -q -m 'agent: add a file' && git rev-parse HEAD",
    )
    assert commit.exit_code == 0, commit.output
    head = commit.output.strip().splitlines()[-1]
    assert git(repo, "rev-parse", task.branch) == head
    assert git(repo, "log", "-1", "--format=%s", task.branch) == "agent: add a file"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # the checkout is untouched


async def test_image_precedence_command_repo_user_default(
    home: Path, tmp_path: Path, repo: Path, tiny_image: str, base_image: str
) -> None:
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[sandbox]\nimage = "{TINY}"\n')
    svc = await TaskService.open(home)
    try:
        assert svc.settings.sandbox.image == TINY
        from_user = await svc.create_task(unique("u"), repo=str(repo))
        assert from_user.image == TINY

        # A devcontainer.json (with comments and a trailing comma) beats the user config ...
        (repo / ".devcontainer").mkdir()
        (repo / ".devcontainer" / "devcontainer.json").write_text(
            '{\n  // the sandbox\n  "image": "' + BASE + '", /* sic */\n  "features": {},\n}\n'
        )
        from_devcontainer = await svc.create_task(unique("dc"), repo=str(repo))
        assert from_devcontainer.image == BASE

        # ... .corral.toml beats the devcontainer, and the command beats them all.
        (repo / ".corral.toml").write_text(f'[sandbox]\nimage = "{TINY}"\n')
        from_repo = await svc.create_task(unique("r"), repo=str(repo))
        assert from_repo.image == TINY
        from_command = await svc.create_task(unique("c"), repo=str(repo), image=BASE)
        assert from_command.image == BASE
        who = await svc.exec(from_command.name, "id -un")
        assert who.output.strip() == "agent"
    finally:
        await svc.close()


async def test_the_default_image_is_developer_and_a_missing_one_says_how_to_build_it(
    service: TaskService, repo: Path
) -> None:
    assert DEFAULT_IMAGE == DEV
    with pytest.raises(ImageMissingError, match=r"corral images build nosuch\b"):
        await service.create_task(unique("m"), repo=str(repo), image="corral/sandbox-nosuch")
    assert await service.list_tasks() == []


def test_devcontainer_jsonc_parses() -> None:
    text = '{\n // c\n "image": "x//y", /* b\n */ "a": [1, 2,],\n "s": "q\\" // k",\n}'
    assert parse_jsonc(text) == {"image": "x//y", "a": [1, 2], "s": 'q" // k'}


def test_the_recipes_in_the_tree(engine: None) -> None:
    found = recipes()
    assert list(found)[:2] == ["base", "developer"]
    assert found["base"].parent == "debian:bookworm-slim"
    assert found["developer"].parent == BASE
    assert (ROOT / "docker-images" / "README.md").is_file()
    assert shutil.which("debootstrap") or Path("/usr/sbin/debootstrap").exists()
    script = ROOT / "scripts" / "build-test-images"
    assert "images-build base developer" in script.read_text()
    assert subprocess.run([str(script)], capture_output=True, timeout=120).returncode == 0
