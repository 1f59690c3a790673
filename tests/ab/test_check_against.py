"""`pairbench check --against REV`: a regression injected between two commits of a
throwaway repository is caught by measuring both revisions in the same job."""

import subprocess
from pathlib import Path

import pytest

from pairbench.cli import main
from pairbench.report.build import build_report

pytestmark = pytest.mark.slow

FAST = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/primes")
def primes(limit: int = 2000) -> list[int]:
    """The primes up to `limit`, by the sieve of Eratosthenes."""
    sieve = [True] * (limit + 1)
    found = []
    for number in range(2, limit + 1):
        if sieve[number]:
            found.append(number)
            sieve[number * number :: number] = [False] * len(sieve[number * number :: number])
    return found
'''
# The regression: the same answer by trial division, tens of times the work at 2000.
SLOW = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/primes")
def primes(limit: int = 2000) -> list[int]:
    """The primes up to `limit`, each number tried against every smaller one."""
    return [n for n in range(2, limit + 1) if all(n % d for d in range(2, n))]
'''


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=pairbench test", "-c", "user.email=test@example.invalid"]
    subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, capture_output=True)


def commit(repo: Path, source: str, message: str) -> None:
    (repo / "shop.py").write_text(source)
    git(repo, "add", "shop.py")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q")
    commit(repo, FAST, "primes by a sieve")
    return repo


def check_against(repo: Path, tmp_path: Path, *extra: str) -> int:
    return main(
        [
            "check",
            "--against",
            "HEAD~1",
            "--app",
            "shop:app",
            "--app-dir",
            str(repo),
            "--path",
            "/primes",
            "--profile",
            "smoke",
            "--no-report",
            "--results-dir",
            str(tmp_path / "results"),
            *extra,
        ]
    )


def test_a_regression_between_two_commits_fails_the_gate(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, SLOW, "primes by trial division (the regression)")
    code = check_against(repo, tmp_path)
    printed = capsys.readouterr()
    assert code == 1, printed.out + printed.err
    assert "REGRESSION: primes/b at default: speedup_p50 (HEAD over REV" in printed.out
    (run_dir,) = (tmp_path / "results").iterdir()
    assert "REGRESSION" in (run_dir / "check.md").read_text()
    assert 'failures="1"' in (run_dir / "check.xml").read_text()
    # the report (built later, from the run alone) says what each side was: a revision each
    html = build_report(run_dir, tmp_path / "reports").read_text()
    for fact in (
        "<dt>a, the baseline</dt><dd>HEAD~1 (",
        "<dt>b, compared with a</dt><dd>HEAD (",
        "<dt>Served by</dt><dd>shop:app, served by pairbench at each side&#39;s revision",
        "Noise floor</strong> (the A/A control: primes/a measured against",
    ):
        assert fact in html, fact
    worktrees = subprocess.run(
        ["git", "-C", str(repo), "worktree", "list"], capture_output=True, text=True, check=True
    )
    assert len(worktrees.stdout.splitlines()) == 1  # the revisions' worktrees are gone


def test_a_change_that_costs_nothing_passes(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, FAST.replace("by the sieve", "by a sieve"), "docstring")
    # One short round of each of two processes of the same code: on a busy machine a burst
    # of other work during one side's half second has made it 4x slower. The wide margin
    # keeps this test about the gate passing, not about the machine's noise.
    code = check_against(repo, tmp_path, "--max-slowdown", "0.9")
    printed = capsys.readouterr()
    assert code == 0, printed.out + printed.err
    assert "no regression" in printed.out
