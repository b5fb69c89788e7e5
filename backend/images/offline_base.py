"""The Debian base without a registry: `debian:bookworm-slim` made with debootstrap and imported
into the engine under that very tag, so the Dockerfiles build unchanged on an offline machine.

Sync (subprocess + Docker SDK); callers run it through asyncio.to_thread.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker
from docker.errors import DockerException, ImageNotFound

from backend import docker_client
from backend.errors import CorralError

DEBIAN_BASE = "debian:bookworm-slim"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PULL_TIMEOUT_S = 20
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # as Docker's
MADE_NOTE = f"made {DEBIAN_BASE} locally with debootstrap: no registry reachable"

# Like Docker's official slim images: no docs, man pages or translations in later installs.
DPKG_SLIM = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""

Say = Callable[[str], None]


def image_exists(ref: str) -> bool:
    try:
        docker_client.client().images.get(ref)
        return True
    except ImageNotFound:
        return False


def try_pull(ref: str, timeout: int = PULL_TIMEOUT_S) -> bool:
    """Pull `ref`, giving up fast: offline machines fail at DNS, a black-holed one at the timeout."""
    repo, _, tag = ref.partition(":")
    api = docker.APIClient(base_url=docker_client.engine_address(), timeout=timeout)
    try:
        for msg in api.pull(repo, tag=tag or "latest", stream=True, decode=True):
            if "error" in msg:
                return False
        return image_exists(ref)
    except (DockerException, OSError):
        return False
    finally:
        api.close()


def ensure_parent(ref: str, on_line: Say) -> str | None:
    """Make sure the FROM image is on the engine; returns a note for the user when it had to
    be pulled or made; `on_line` gets progress. Corral's own images (corral/*) are the
    builder's business, not this."""
    if image_exists(ref):
        return None
    on_line(f"pulling {ref}")
    if try_pull(ref):
        return f"pulled {ref}"
    if ref != DEBIAN_BASE:
        raise CorralError(
            f"base image {ref} is not on this Docker engine and cannot be pulled; "
            f"load it (docker load -i FILE) or build FROM {DEBIAN_BASE}"
        )
    on_line(f"no registry reachable: making {DEBIAN_BASE} with debootstrap")
    make_debian_base(DEBIAN_BASE, on_line)
    return MADE_NOTE


def apt_mirrors() -> tuple[str, str]:
    """(main mirror, security mirror) from this host's apt sources, else Debian's defaults."""
    texts = []
    for path in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if path.is_file():
            texts.append(path.read_text())
    uris = re.findall(r"(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", "\n".join(texts), re.M)
    main = next((u for u in uris if "security" not in u), DEFAULT_MIRROR).rstrip("/")
    security = next((u for u in uris if "security" in u), None)
    if security is None:
        security = re.sub(r"/debian$", "/debian-security", main)
        if security == main:
            security = "http://security.debian.org/debian-security"
    return main, security.rstrip("/")


def make_debian_base(tag: str, say: Say) -> None:
    """debootstrap a minimal bookworm, slim it, and `docker import` it as `tag`; `say` gets
    debootstrap's output lines (~25 s of them)."""
    if os.geteuid() != 0:
        raise CorralError(
            f"{DEBIAN_BASE} is missing and no registry is reachable; making it needs root "
            "(debootstrap): run `sudo corral images build base` once"
        )
    debootstrap = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None
    )
    if debootstrap is None:
        raise CorralError(
            f"{DEBIAN_BASE} is missing and no registry is reachable; install debootstrap "
            "(apt-get install debootstrap) so Corral can make it"
        )
    main, security = apt_mirrors()
    work = Path(tempfile.mkdtemp(prefix="corral-debootstrap-", dir=_roomy_tmp()))
    root = work / "rootfs"
    try:
        _run_streaming(
            [debootstrap, "--variant=minbase", SUITE, str(root), main], say, "debootstrap"
        )
        say("slimming the root filesystem")
        _slim(root, main, security)
        say(f"importing {tag} into the Docker engine")
        archive = work / "rootfs.tar"
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(root), "-cf", str(archive), "."],
            check=True,
            capture_output=True,
        )
        repo, _, version = tag.partition(":")
        docker_client.client().api.import_image(
            src=str(archive),
            repository=repo,
            tag=version or "latest",
            changes=['CMD ["bash"]', f"ENV PATH={DEFAULT_PATH}", "ENV LANG=C.UTF-8"],
        )
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        raise CorralError(f"making {tag} failed ({exc.cmd[0]}: {tail[0]})") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not image_exists(tag):
        raise CorralError(f"making {tag} failed: the engine has no such image after the import")


def _roomy_tmp() -> str | None:
    """/var/tmp is on disk; /tmp may be a small tmpfs and a rootfs is ~120 MB."""
    return "/var/tmp" if os.access("/var/tmp", os.W_OK) else None


def _run_streaming(argv: list[str], say: Say, what: str) -> None:
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    last: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        if line:
            last = [*last[-4:], line]
            say(line)
    if proc.wait() != 0:
        detail = next(
            (ln for ln in reversed(last) if ln.startswith("E:")), last[-1] if last else ""
        )
        raise CorralError(f"{what} failed (exit {proc.returncode}): {detail}")


def _slim(root: Path, main: str, security: str) -> None:
    """apt sources for the three suites, no caches or lists, the slim dpkg excludes."""
    (root / "etc/apt/sources.list").write_text(
        f"deb {main} {SUITE} main\n"
        f"deb {main} {SUITE}-updates main\n"
        f"deb {security} {SUITE}-security main\n"
    )
    (root / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/dpkg/dpkg.cfg.d/docker-slim").write_text(DPKG_SLIM)
    for rel in ("var/lib/apt/lists", "var/cache/apt", "usr/share/man", "usr/share/info"):
        target = root / rel
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    docs = root / "usr/share/doc"
    if docs.is_dir():
        for pkg in docs.iterdir():
            for child in pkg.iterdir() if pkg.is_dir() and not pkg.is_symlink() else []:
                if child.name != "copyright":
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
    for log in (root / "var/log").rglob("*"):
        if log.is_file():
            log.unlink()  # debootstrap's install logs; the directories stay for apt and dpkg
    for name in ("etc/hostname", "etc/resolv.conf"):
        target = root / name
        if target.exists() or target.is_symlink():
            target.unlink()
