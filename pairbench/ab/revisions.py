"""Two revisions of the user's app side by side: a git worktree per revision.

Each revision is checked out (detached) into a temporary worktree of the user's
repository and served from there with the user's environment (the same Python and
packages, the same services); the worktrees are removed when the block ends. Uncommitted
changes are not in any revision: commit them, or compare a path pair instead.
"""

import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class RevisionError(Exception):
    """Not a git repository, or a revision git does not know."""


@dataclass(frozen=True)
class Revision:
    """A revision as the user named it, the commit it is, and where it is checked out."""

    name: str
    commit: str
    directory: Path

    def describe(self) -> str:
        return f"{self.name} ({self.commit[:10]})"


def _git(repo: Path, *arguments: str) -> str:
    found = subprocess.run(
        ["git", "-C", str(repo), *arguments], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        raise RevisionError(f"git {' '.join(arguments)} in {repo}: {found.stderr.strip()}")
    return found.stdout.strip()


def repository_root(directory: Path) -> Path:
    """The top of the git repository `directory` is in."""
    return Path(_git(directory, "rev-parse", "--show-toplevel"))


def resolve(repo: Path, name: str) -> str:
    """The commit `name` (a branch, tag, sha, HEAD~1 ...) is, or a RevisionError naming it."""
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
    except RevisionError:
        raise RevisionError(f"{name!r} is not a revision of the repository at {repo}") from None


@contextmanager
def checked_out(directory: Path, names: Sequence[str]) -> Iterator[list[Revision]]:
    """Each revision in a worktree of its own (in a temporary directory), for the block.
    `directory` is anywhere in the user's repository."""
    repo = repository_root(directory)
    commits = [resolve(repo, name) for name in names]
    with tempfile.TemporaryDirectory(prefix="pairbench-rev-") as scratch:
        revisions: list[Revision] = []
        try:
            for index, (name, commit) in enumerate(zip(names, commits, strict=True)):
                worktree = Path(scratch) / f"rev{index}"
                _git(repo, "worktree", "add", "--detach", "--quiet", str(worktree), commit)
                revisions.append(Revision(name, commit, worktree))
            yield revisions
        finally:
            for revision in revisions:
                _git(repo, "worktree", "remove", "--force", str(revision.directory))
            _git(repo, "worktree", "prune")
