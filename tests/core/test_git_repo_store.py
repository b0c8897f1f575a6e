"""The git-repository object store: every put and delete is a commit, pushed to a remote."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from pathlib import Path

import pytest

from worldsmith.core.storage.base import ObjectStore
from worldsmith.core.storage.git_repo import GitRepoObjectStore


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def log(
    repo: Path, *, bare: bool = False, fmt: str = "%an <%ae>|%s", ref: str = "HEAD"
) -> list[str]:
    where = ["--git-dir", str(repo)] if bare else ["-C", str(repo)]
    return git(*where, "log", f"--format={fmt}", ref).splitlines()


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def test_local_repository_put_materialize_delete(tmp_path: Path) -> None:
    repo = tmp_path / "repo"  # does not exist yet: created with git init
    store: ObjectStore = GitRepoObjectStore(str(repo), cache_dir=tmp_path / "cache")
    assert store.capabilities.versioning and store.capabilities.write
    assert not store.capabilities.public_urls

    data = b"\x89PNG fake image bytes"
    stored = await store.put_file(
        "assets/a1/cat.png",
        _file(tmp_path, "src.png", data),
        "image/png",
        commit_message="Add a cat",
    )
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    await store.put_file("assets/a2/dog.png", _file(tmp_path, "dog.png", b"dog"), "image/png")

    assert (repo / ".git").is_dir()
    path = await store.materialize("assets/a1/cat.png", tmp_path / "scratch")
    assert path.read_bytes() == data
    assert await store.exists("assets/a1/cat.png")
    assert await store.stat("assets/a2/dog.png") == 3
    assert await store.stat("assets/nope.png") is None
    with pytest.raises(FileNotFoundError):
        await store.materialize("assets/nope.png", tmp_path / "scratch")

    await store.delete("assets/a1/cat.png", commit_message="Cat goes away")
    await store.delete("assets/a2/dog.png")
    await store.delete("assets/never-there.png")  # no error, no commit
    assert not await store.exists("assets/a1/cat.png")
    assert not (repo / "assets/a1/cat.png").exists()

    author = "worldsmith <worldsmith@localhost>"
    assert log(repo) == [
        f"{author}|Remove assets/a2/dog.png",
        f"{author}|Cat goes away",
        f"{author}|Add assets/a2/dog.png",
        f"{author}|Add a cat",
    ]
    assert log(repo, fmt="%cn <%ce>") == [author] * 4
    # the removal commit really removes the file
    assert "D\tassets/a1/cat.png" in git("-C", str(repo), "show", "--name-status", "HEAD~1")
    assert git("-C", str(repo), "status", "--porcelain") == ""
    with pytest.raises(NotImplementedError):
        store.download_url("assets/a2/dog.png", expires_in=60)
    with pytest.raises(NotImplementedError):
        store.presign_upload("k.png", content_type="image/png", max_bytes=1, expires_in=60)


async def test_branch_prefix_and_author(tmp_path: Path) -> None:
    repo = tmp_path / "existing"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / "README.md").write_text("hello\n")
    git("add", "README.md", cwd=repo)
    git("-c", "user.name=me", "-c", "user.email=me@x", "commit", "-q", "-m", "init", cwd=repo)

    store = GitRepoObjectStore(
        str(repo),
        cache_dir=tmp_path / "cache",
        branch="media",
        path_prefix="site/images",
        author_name="Bot",
        author_email="bot@example.com",
    )
    await store.put_file("x.png", _file(tmp_path, "x.png", b"x"), "image/png")
    assert git("-C", str(repo), "rev-parse", "--abbrev-ref", "HEAD").strip() == "media"
    assert (repo / "site/images/x.png").read_bytes() == b"x"
    assert log(repo)[0] == "Bot <bot@example.com>|Add x.png"
    assert len(log(repo)) == 2  # on top of the existing history


@pytest.mark.parametrize("as_url", [False, True])
async def test_remote_commits_are_pushed(tmp_path: Path, as_url: bool) -> None:
    bare = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(bare))
    repository = bare.as_uri() if as_url else str(bare)
    cache = tmp_path / "cache"
    store = GitRepoObjectStore(repository, cache_dir=cache, branch="main")

    await store.put_file("a.png", _file(tmp_path, "a.png", b"a"), "image/png")
    await store.put_file(
        "b.png", _file(tmp_path, "b.png", b"b"), "image/png", commit_message="Second"
    )
    await store.delete("a.png", commit_message="Drop a")
    assert store.worktree.is_relative_to(cache)

    assert log(bare, bare=True, fmt="%s", ref="main") == ["Drop a", "Second", "Add a.png"]
    assert git("--git-dir", str(bare), "show", "main:b.png") == "b"

    # A second node (another clone) sees the first one's objects and pushes on top of them.
    other = GitRepoObjectStore(repository, cache_dir=tmp_path / "cache2", branch="main")
    assert (await other.materialize("b.png", tmp_path)).read_bytes() == b"b"
    await other.put_file("c.png", _file(tmp_path, "c.png", b"c"), "image/png")
    # ...and the first node, behind now, rebases its next commit on top.
    await store.put_file("d.png", _file(tmp_path, "d.png", b"d"), "image/png")
    assert log(bare, bare=True, fmt="%s", ref="main")[:2] == ["Add d.png", "Add c.png"]
    assert await store.exists("c.png")


async def test_concurrent_puts_serialize(tmp_path: Path) -> None:
    bare = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(bare))
    store = GitRepoObjectStore(str(bare), cache_dir=tmp_path / "cache")
    local = GitRepoObjectStore(str(tmp_path / "local"), cache_dir=tmp_path / "cache")
    count = 8
    sources = [_file(tmp_path, f"f{i}.bin", f"data {i}".encode()) for i in range(count)]

    await asyncio.gather(
        *(store.put_file(f"f/{i}.bin", sources[i], "x/y") for i in range(count)),
        *(local.put_file(f"f/{i}.bin", sources[i], "x/y") for i in range(count)),
    )
    expected = sorted(f"Add f/{i}.bin" for i in range(count))
    assert sorted(log(bare, bare=True, fmt="%s")) == expected
    assert sorted(log(tmp_path / "local", fmt="%s")) == expected
