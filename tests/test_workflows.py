"""The GitHub workflows (``.github/workflows/``) do what they say: their ``run:`` steps are executed here.

* ``ci.yml`` runs exactly ``bash .ci/run``, and ``.ci/run`` runs README's test command (command 2) verbatim.
* ``pages.yml`` and ``review.yml``: the install step is README command 1's install part, verbatim; every
  other ``run:`` step is executed with bash, in order, in a temporary git repository made from this
  checkout's files, with the step's ``env:`` supplied as GitHub would (``BASE_SHA``). Pages must write
  ``_site/index.html`` listing the board's methods; review must pass an honest submission (exit 0,
  ``verdict.md`` says PASS) and fail a tampered one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
BOARD = Path("leaderboard/board/results")


def workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as True
        data["on"] = data.pop(True)
    return data


def steps(name: str) -> list[dict[str, Any]]:
    """Every step of every job of the workflow, in order."""
    return [step for job in workflow(name)["jobs"].values() for step in job.get("steps", [])]


def run_steps(name: str) -> list[dict[str, Any]]:
    return [step for step in steps(name) if "run" in step]


def readme_command(number: int) -> str:
    """The one command of README's Quick start item ``number`` (the line of its bash block)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"\*\*{number}\. .*?```bash\n(.*?)\n```", text, re.DOTALL)
    assert match, f"README has no bash block under item {number}"
    return match.group(1).strip()


def install_command() -> str:
    """README command 1 up to the install (what it runs after installing is left out)."""
    command = readme_command(1)
    return command[: command.index(" && python -m benchmark")]


def test_ci_runs_dot_ci_run_which_runs_readmes_test_command():
    assert workflow("ci.yml")["on"].keys() == {"push", "pull_request"}
    assert [s["run"].strip() for s in run_steps("ci.yml")] == ["bash .ci/run"]
    assert any(s.get("uses", "").startswith("actions/checkout@") for s in steps("ci.yml"))
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_command(2) in ci_run


def test_pages_and_review_declare_what_github_needs():
    pages = workflow("pages.yml")
    assert pages["permissions"]["pages"] == "write" and pages["permissions"]["id-token"] == "write"
    assert pages["jobs"]["deploy"]["environment"]["name"] == "github-pages"
    uses = {s.get("uses", "").split("@")[0]: s for s in steps("pages.yml")}
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "_site"
    assert "actions/deploy-pages" in uses
    review = workflow("review.yml")
    assert review["on"]["pull_request"]["paths"] == ["leaderboard/submissions/**"]
    checkout, *_ = steps("review.yml")
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    comment = steps("review.yml")[-1]
    assert comment["uses"].startswith("marocchino/sticky-pull-request-comment@")
    assert comment["with"]["path"] == "verdict.md" and comment["if"] == "always()"


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    out = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _checkout_copy(tmp_path: Path) -> Path:
    """A git repository of this checkout's files (tracked, and untracked ones git does not ignore), one commit."""
    names = _git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    repo = tmp_path / "repo"
    for name in names:
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    # The install step (README command 1's install part, asserted verbatim) is not run: it takes minutes and
    # would re-point this environment's editable install. `.venv` is this interpreter's virtual environment
    # instead, so the later steps' `. .venv/bin/activate` works.
    (repo / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return repo


def _execute(name: str, repo: Path, **env: str) -> subprocess.CompletedProcess:
    """The workflow's run steps in order (the install step checked, not run); stops at the first failing one."""
    install, *rest = run_steps(name)
    assert install["run"].strip() == install_command()
    result = None
    for step in rest:
        step_env = {**os.environ, **{k: str(v) for k, v in step.get("env", {}).items()}, **env}
        bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]  # GitHub's `shell: bash`
        result = subprocess.run(bash, cwd=repo, env=step_env, capture_output=True, text=True)
        if result.returncode:
            break
    assert result is not None
    return result


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _checkout_copy(tmp_path_factory.mktemp("workflows"))


def test_pages_builds_the_site_of_the_board(repo, honest_submission):
    from benchmark.results.reader import load_results

    board = repo / BOARD
    if not board.is_dir():  # the published board is being added on another branch: a tiny one stands in for it
        shutil.copytree(honest_submission / "results", board)
    methods = {r.spec.method for r in load_results(board)}
    result = _execute("pages.yml", repo)
    assert result.returncode == 0, result.stderr
    index = (repo / "_site" / "index.html").read_text(encoding="utf-8")
    assert methods and all(m in index for m in methods)


def test_review_passes_an_honest_submission_and_fails_a_tampered_one(repo, honest_submission, cache_dir):
    base = _git(repo, "rev-parse", "HEAD")
    folder = repo / "leaderboard" / "submissions" / "la-ce"
    shutil.copytree(honest_submission, folder)
    _git(repo, "add", "leaderboard/submissions")  # results/ is not ignored there (.gitignore)
    _git(repo, "commit", "-qm", "submission")
    env = {"BASE_SHA": base, "MEDLT_CACHE": str(cache_dir), "OMP_NUM_THREADS": "1"}  # one thread: a shared machine
    result = _execute("review.yml", repo, **env)
    verdict = (repo / "verdict.md").read_text(encoding="utf-8")
    assert result.returncode == 0, result.stderr + verdict
    assert "## Review of `leaderboard/submissions/la-ce`" in verdict and "**Overall: PASS** (exit 0)" in verdict

    with open(folder / "method.py", "a", encoding="utf-8") as f:
        f.write("# changed after the run\n")  # the results now come from another file
    _git(repo, "commit", "-qam", "tampered")
    result = _execute("review.yml", repo, **env)
    verdict = (repo / "verdict.md").read_text(encoding="utf-8")
    assert result.returncode == 1, result.stderr + verdict
    assert "**Overall: FAIL** (exit 1)" in verdict and "produced by a different file" in verdict
