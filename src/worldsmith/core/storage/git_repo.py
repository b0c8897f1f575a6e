"""Objects as files in a git repository: every put and every delete is a commit.

The repository is either
- a local, non-bare working tree on disk (created with `git init` when missing): commits are
  made in it directly; or
- a remote (any URL git can reach, or a bare repository on disk): it is cloned once into a
  cache folder, and each write pulls (`--rebase`), commits and pushes.

Everything runs the `git` CLI in a worker thread (`asyncio.to_thread`), never on the event
loop. Writes to one repository are serialized twice: by an asyncio.Lock per repository (tasks
of this process) and by a file lock held in the worker thread (other processes).

There are no public URLs: `download_url` and `presign_upload` raise NotImplementedError, and
the API streams an object's bytes from `materialize` (the file in the working tree).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from worldsmith.core.storage.base import (
    PresignedUpload,
    StoreCapabilities,
    StoredObject,
    check_key,
)

DEFAULT_AUTHOR_NAME = "worldsmith"
DEFAULT_AUTHOR_EMAIL = "worldsmith@localhost"
GIT_TIMEOUT_SECONDS = 120.0
PUSH_ATTEMPTS = 3
_COPY_CHUNK = 4 * 1024 * 1024
REMOTE_SCHEMES = ("file", "http", "https", "ssh", "git")


class GitError(RuntimeError):
    """A git command failed (the message carries git's own output)."""


def is_remote_repository(repository: str) -> bool:
    """A URL (`scheme://...` or scp-like `user@host:path`) rather than a path on disk. A path to
    a bare repository on disk is also used as a remote (see GitRepoObjectStore)."""
    if "://" in repository:
        return True
    head, sep, _ = repository.partition(":")
    return bool(sep) and "/" not in head and "@" in head


def _looks_bare(path: Path) -> bool:
    return (
        path.is_dir()
        and (path / "HEAD").is_file()
        and (path / "objects").is_dir()
        and (path / "refs").is_dir()
        and not (path / ".git").exists()
    )


# One asyncio.Lock per repository and event loop (locks are bound to the loop they first wait
# on; tests and the CLI may run several loops in one process).
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _repo_lock(identity: str) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    per_loop = _LOCKS.setdefault(loop, {})
    lock = per_loop.get(identity)
    if lock is None:
        lock = per_loop[identity] = asyncio.Lock()
    return lock


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class GitRepoObjectStore:
    capabilities = StoreCapabilities(public_urls=False, versioning=True, write=True)

    def __init__(
        self,
        repository: str,
        *,
        cache_dir: Path,
        branch: str | None = None,
        path_prefix: str = "",
        author_name: str = DEFAULT_AUTHOR_NAME,
        author_email: str = DEFAULT_AUTHOR_EMAIL,
    ) -> None:
        """`repository`: a local path or a URL; `cache_dir`: where remotes are cloned;
        `branch`: the branch to commit to (default: the repository's current one);
        `path_prefix`: a folder in the repository that keys live under."""
        repository = repository.strip()
        if not repository or repository.startswith("-"):
            raise ValueError(f"invalid git repository: {repository!r}")
        self.repository = repository
        self.branch = branch or None
        self.path_prefix = path_prefix.strip("/")
        if self.path_prefix:
            check_key(self.path_prefix)
        self.author_name = author_name
        self.author_email = author_email
        if is_remote_repository(repository):
            parts = urlsplit(repository)
            if "://" in repository and parts.scheme.lower() not in REMOTE_SCHEMES:
                raise ValueError(f"unsupported git URL scheme: {parts.scheme!r}")
            self.remote: str | None = repository
        else:
            local = Path(repository).expanduser().resolve()
            self.remote = str(local) if _looks_bare(local) else None
            self.local_path = local
        if self.remote is not None:
            digest = hashlib.sha256(f"{self.remote}\n{self.branch or ''}".encode()).hexdigest()
            self.worktree = (cache_dir / digest[:24]).resolve()
        else:
            self.worktree = self.local_path
        self.identity = str(self.worktree)
        # Beside the clones, never inside a working tree (it would show up in `git status`).
        lock_name = hashlib.sha256(self.identity.encode()).hexdigest()[:24]
        self._lock_file = cache_dir / "locks" / f"{lock_name}.lock"
        self._ready = False

    # -- git plumbing (worker thread) -------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "GIT_TERMINAL_PROMPT": "0",
                "GIT_AUTHOR_NAME": self.author_name,
                "GIT_AUTHOR_EMAIL": self.author_email,
                "GIT_COMMITTER_NAME": self.author_name,
                "GIT_COMMITTER_EMAIL": self.author_email,
                "LC_ALL": "C",
            }
        )
        return env

    def _git(
        self, *args: str, cwd: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            "git",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "protocol.ext.allow=never",
            *args,
        ]
        try:
            done = subprocess.run(
                cmd,
                cwd=cwd or self.worktree,
                env=self._env(),
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT_SECONDS,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} timed out") from exc
        except FileNotFoundError as exc:
            raise GitError("the git command is not installed") from exc
        if check and done.returncode != 0:
            output = (done.stderr or done.stdout).strip()
            raise GitError(f"git {args[0]} failed: {output[-2000:]}")
        return done

    def _current_branch(self) -> str | None:
        done = self._git("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return done.stdout.strip() or None if done.returncode == 0 else None

    def _has_commits(self) -> bool:
        return self._git("rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode == 0

    def _switch_to(self, branch: str, remote_ref: str | None = None) -> None:
        if self._current_branch() == branch:
            return
        local_ref = f"refs/heads/{branch}"
        if self._git("rev-parse", "--verify", "--quiet", local_ref, check=False).returncode == 0:
            self._git("checkout", "-q", branch)
        elif remote_ref is not None:
            self._git("checkout", "-q", "-B", branch, remote_ref)
        elif self._has_commits():
            self._git("checkout", "-q", "-b", branch)
        else:
            self._git("symbolic-ref", "HEAD", local_ref)

    def _remote_has_branch(self, branch: str) -> bool:
        done = self._git("ls-remote", "--exit-code", "--heads", "origin", branch, check=False)
        return done.returncode == 0

    def _ensure_ready_sync(self) -> None:
        if self.remote is None:
            if not (self.worktree / ".git").exists():
                self.worktree.mkdir(parents=True, exist_ok=True)
                self._git("init", "-q", cwd=self.worktree)
            if self.branch:
                self._switch_to(self.branch)
        else:
            if not (self.worktree / ".git").exists():
                if self.worktree.exists():
                    shutil.rmtree(self.worktree)  # a clone that failed half-way
                self.worktree.parent.mkdir(parents=True, exist_ok=True)
                partial = self.worktree.with_name(self.worktree.name + f".{uuid.uuid4().hex}")
                self._git("clone", "-q", "--", self.remote, str(partial), cwd=partial.parent)
                os.replace(partial, self.worktree)
            if self.branch:
                remote_ref = f"refs/remotes/origin/{self.branch}"
                exists = self._git("rev-parse", "--verify", "--quiet", remote_ref, check=False)
                self._switch_to(self.branch, remote_ref if exists.returncode == 0 else None)
        self._ready = True

    def _branch_name(self) -> str:
        branch = self.branch or self._current_branch()
        if branch is None:
            raise GitError("the repository is not on a branch (detached HEAD): set a branch")
        return branch

    def _sync_remote(self) -> None:
        """Bring the clone up to date with the remote (our unpushed commits rebased on top)."""
        if self.remote is None:
            return
        branch = self._branch_name()
        if self._has_commits():
            self._git("reset", "-q", "--hard", "HEAD")  # debris of a failed write
        if self._remote_has_branch(branch):
            self._git("pull", "-q", "--rebase", "origin", branch)

    def _push(self) -> None:
        if self.remote is None:
            return
        branch = self._branch_name()
        for attempt in range(PUSH_ATTEMPTS):
            done = self._git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", check=False)
            if done.returncode == 0:
                return
            if attempt == PUSH_ATTEMPTS - 1:
                raise GitError(f"git push failed: {(done.stderr or done.stdout).strip()[-2000:]}")
            # Someone else pushed first: replay our commit on top of theirs and try again.
            self._git("pull", "-q", "--rebase", "origin", branch)

    def _relpath(self, key: str) -> str:
        check_key(key)
        return f"{self.path_prefix}/{key}" if self.path_prefix else key

    def _staged_changes(self, rel: str) -> bool:
        done = self._git("diff", "--cached", "--quiet", "--", rel, check=False)
        return done.returncode == 1

    def _put_sync(self, key: str, src: Path, message: str) -> StoredObject:
        rel = self._relpath(key)
        with _file_lock(self._lock_file):
            if not self._ready:
                self._ensure_ready_sync()
            self._sync_remote()
            size = src.stat().st_size
            sha = _sha256_file(src)
            dest = self.worktree / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            temp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
            try:
                shutil.copyfile(src, temp)
                os.replace(temp, dest)
            finally:
                temp.unlink(missing_ok=True)
            self._git("add", "--", rel)
            if self._staged_changes(rel):
                # Only this path is committed, whatever else may be staged in a shared tree.
                self._git("commit", "-q", "--no-verify", "-m", message, "--", rel)
            self._push()
            return StoredObject(key=key, size=size, sha256=sha)

    def _delete_sync(self, key: str, message: str) -> None:
        rel = self._relpath(key)
        with _file_lock(self._lock_file):
            if not self._ready:
                self._ensure_ready_sync()
            self._sync_remote()
            tracked = self._git("ls-files", "--error-unmatch", "--", rel, check=False)
            if tracked.returncode != 0:
                (self.worktree / rel).unlink(missing_ok=True)  # untracked debris, if any
                return
            self._git("rm", "-q", "--", rel)
            self._git("commit", "-q", "--no-verify", "-m", message, "--", rel)
            self._push()

    def _locate_sync(self, key: str) -> Path | None:
        rel = self._relpath(key)
        path = self.worktree / rel
        if path.is_file():
            return path
        if self.remote is None:
            return None
        # Another node may have pushed it since we last pulled.
        with _file_lock(self._lock_file):
            if not self._ready:
                self._ensure_ready_sync()
            self._sync_remote()
        return path if path.is_file() else None

    # -- the ObjectStore protocol -----------------------------------------------------------

    async def put_file(
        self, key: str, src: Path, content_type: str, *, commit_message: str | None = None
    ) -> StoredObject:
        message = commit_message or f"Add {key}"
        async with _repo_lock(self.identity):
            return await asyncio.to_thread(self._put_sync, check_key(key), src, message)

    async def delete(self, key: str, *, commit_message: str | None = None) -> None:
        message = commit_message or f"Remove {key}"
        async with _repo_lock(self.identity):
            await asyncio.to_thread(self._delete_sync, check_key(key), message)

    async def _locate(self, key: str) -> Path | None:
        path = self.worktree / self._relpath(key)
        if await asyncio.to_thread(path.is_file):
            return path
        if self.remote is None:
            return None
        async with _repo_lock(self.identity):
            return await asyncio.to_thread(self._locate_sync, key)

    async def materialize(self, key: str, scratch_dir: Path) -> Path:
        """The file in the working tree (do not modify it)."""
        path = await self._locate(key)
        if path is None:
            raise FileNotFoundError(key)
        return path

    async def stat(self, key: str) -> int | None:
        path = await self._locate(key)
        if path is None:
            return None
        return (await asyncio.to_thread(path.stat)).st_size

    async def exists(self, key: str) -> bool:
        return await self._locate(key) is not None

    def download_url(self, key: str, *, expires_in: int) -> str:
        raise NotImplementedError(
            "a git repository has no download URLs: stream the content through the API"
        )

    def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedUpload:
        raise NotImplementedError("a git repository takes no direct uploads")
