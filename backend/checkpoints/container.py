"""The container half of a checkpoint: `docker commit` of the sandbox's filesystem outside the
bind mounts (/workspace and /corral are mounts, so a commit never includes them).

A commit is skipped when nothing changed since the last one. With overlay2 we read the
container's upper directory on the host (only changed files live there) and fingerprint it;
elsewhere `docker diff` decides. Images are tagged `corral/checkpoint:<task id>-<n>` (a tag per
checkpoint, so `docker image prune` leaves them alone) and labelled for reconcile.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.errors import APIError, ImageNotFound, NotFound

from backend import docker_client
from backend.errors import CorralError
from backend.sandbox import guard

REPOSITORY = "corral/checkpoint"
LABEL_TASK = "corral.checkpoint.task"
LABEL_N = "corral.checkpoint.n"
LABEL_HOME = "corral.home"
# Mount points Docker adds to the container's own layer; their contents are bind mounts.
_IGNORED_PREFIXES = ("workspace", "corral")
_IGNORED_FILES = {"sbin/docker-init", ".dockerenv"}


def tag_for(task_id: str, n: int) -> str:
    return f"{task_id}-{n}"


@dataclass
class ContainerState:
    image: str  # the image id the container was created from
    image_is_checkpoint: bool  # that image is one of ours (a restore or a fork made it)
    fingerprint: str | None  # of the changes in its own layer; "" = no change at all
    running: bool


def state(container_id: str) -> ContainerState | None:
    cli = docker_client.client()
    try:
        c = guard(lambda: cli.containers.get(container_id))
    except NotFound:
        return None
    image = str(c.attrs.get("Image") or "")
    ours = False
    try:
        labels = guard(lambda: cli.images.get(image)).labels or {}
        ours = LABEL_TASK in labels
    except ImageNotFound:
        pass
    driver = c.attrs.get("GraphDriver") or {}
    upper = (driver.get("Data") or {}).get("UpperDir")
    fingerprint = _fingerprint_upper(Path(upper)) if upper and Path(upper).is_dir() else None
    if fingerprint is None:
        fingerprint = _fingerprint_diff(c)
    return ContainerState(image, ours, fingerprint, c.status in ("running", "paused"))


def _fingerprint_upper(upper: Path) -> str:
    """Hash of (path, type, mode, size, mtime) of every non-directory entry of the container's
    own layer. Whiteouts (deletions) are character devices and count as entries."""
    entries: list[str] = []
    for dirpath, dirnames, filenames in os.walk(upper):
        rel_dir = os.path.relpath(dirpath, upper)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in _IGNORED_PREFIXES]
            rel_dir = ""
        for d in dirnames:  # a directory made opaque (deleted and re-created) is a change
            full = os.path.join(dirpath, d)
            try:
                if os.getxattr(full, "trusted.overlay.opaque", follow_symlinks=False) == b"y":
                    entries.append(f"opaque {os.path.join(rel_dir, d)}")
            except OSError:
                pass
        for f in filenames:
            rel = os.path.join(rel_dir, f)
            if rel in _IGNORED_FILES:
                continue
            try:
                st = os.lstat(os.path.join(dirpath, f))
            except FileNotFoundError:
                continue
            kind = stat.S_IFMT(st.st_mode)
            entries.append(f"{rel}\0{kind}\0{st.st_mode}\0{st.st_size}\0{st.st_mtime_ns}")
    if not entries:
        return ""
    entries.sort()
    return hashlib.sha1("\n".join(entries).encode(errors="surrogateescape")).hexdigest()


def _fingerprint_diff(c: Any) -> str:
    """Without overlay2 we only see which paths changed, not their contents: any change then
    counts as new (a commit is never skipped wrongly, only taken needlessly)."""
    changed = [
        d["Path"]
        for d in guard(c.diff) or []
        if not d["Path"].lstrip("/").startswith(_IGNORED_PREFIXES)
        and d["Path"].lstrip("/") not in _IGNORED_FILES
        and d["Path"] != "/sbin"
    ]
    return "" if not changed else f"diff-{os.urandom(8).hex()}"


def commit(container_id: str, task_id: str, n: int, home: Path) -> tuple[str, int]:
    """Commit the container's filesystem to a tagged, labelled image.
    Returns (image id, size of the new layer in bytes)."""
    cli = docker_client.client()
    c = guard(lambda: cli.containers.get(container_id))
    labels = {LABEL_TASK: task_id, LABEL_N: str(n), LABEL_HOME: str(home)}
    try:
        img = guard(
            lambda: c.commit(
                repository=REPOSITORY,
                tag=tag_for(task_id, n),
                message=f"corral checkpoint {n} of task {task_id}",
                pause=False,  # pausing races with `docker exec` and can wedge the engine
                conf={"Labels": labels},
            )
        )
    except APIError as exc:
        raise CorralError(f"docker commit of the sandbox failed: {exc.explanation or exc}") from exc
    size = int(img.attrs.get("Size") or 0)
    parent_size = _size_of(str(img.attrs.get("Parent") or "")) or _size_of(
        str(c.attrs.get("Image") or "")
    )
    return str(img.id), max(size - parent_size, 0)


def _size_of(image: str) -> int:
    if not image:
        return 0
    try:
        return int(guard(lambda: docker_client.client().images.get(image)).attrs.get("Size") or 0)
    except ImageNotFound:
        return 0


def tag(image_id: str, task_id: str, n: int) -> None:
    """A checkpoint that reuses an earlier image still gets its own tag."""
    img = guard(lambda: docker_client.client().images.get(image_id))
    guard(lambda: img.tag(REPOSITORY, tag_for(task_id, n)))


def image_exists(image_id: str) -> bool:
    try:
        guard(lambda: docker_client.client().images.get(image_id))
        return True
    except ImageNotFound:
        return False


def untag(task_id: str, n: int) -> None:
    """Drop one checkpoint's tag; the image goes with its last tag unless a container uses it
    (then it stays, untagged, until reconcile finds it unused)."""
    cli = docker_client.client()
    name = f"{REPOSITORY}:{tag_for(task_id, n)}"
    try:
        guard(lambda: cli.images.remove(name, noprune=False))
    except ImageNotFound:
        return
    except APIError as exc:
        if exc.status_code != 409:
            raise
        with contextlib.suppress(ImageNotFound, APIError):
            guard(lambda: cli.images.remove(name, force=True, noprune=False))


def remove_image(image_id: str) -> bool:
    try:
        guard(lambda: docker_client.client().images.remove(image_id, noprune=False))
        return True
    except (ImageNotFound, APIError):
        return False  # gone already, or a container still uses it


@dataclass
class LabelledImage:
    id: str
    tags: list[str]  # "<task id>-<n>" of our repository
    task_id: str


def labelled_images(home: Path) -> list[LabelledImage]:
    cli = docker_client.client()
    found = guard(
        lambda: cli.images.list(all=True, filters={"label": [f"{LABEL_HOME}={home}", LABEL_TASK]})
    )
    out: list[LabelledImage] = []
    for img in found:
        tags = [t.split(":", 1)[1] for t in img.tags if t.startswith(f"{REPOSITORY}:")]
        out.append(LabelledImage(str(img.id), tags, (img.labels or {}).get(LABEL_TASK, "")))
    return out


def images_in_use() -> set[str]:
    cli = docker_client.client()
    listed = guard(lambda: cli.containers.list(all=True, sparse=True))
    return {str(c.attrs.get("ImageID") or "") for c in listed}


def unpause_left_over(home: Path) -> list[str]:
    """A process killed while `docker commit` held the sandbox paused leaves it frozen."""
    cli = docker_client.client()
    paused = guard(
        lambda: cli.containers.list(
            all=True, filters={"label": f"{LABEL_HOME}={home}", "status": "paused"}
        )
    )
    for c in paused:
        guard(c.unpause)
    return [str(c.name) for c in paused]


def pause(container_id: str) -> bool:
    """Freeze the sandbox so the workspace and the container are copied at one instant.
    Returns whether we paused it (a stopped or already paused sandbox is left as it is)."""
    c = guard(lambda: docker_client.client().containers.get(container_id))
    if c.status != "running":
        return False
    guard(c.pause)
    return True


def unpause(container_id: str) -> None:
    try:
        c = guard(lambda: docker_client.client().containers.get(container_id))
        if c.status == "paused":
            guard(c.unpause)
    except NotFound:
        pass
