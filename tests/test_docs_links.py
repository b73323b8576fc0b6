"""Documentation cites only files that are in the repository.

* No tracked (or untracked, not ignored) ``.py`` / ``.md`` / ``.toml`` file cites the private
  specification files kept outside the repository (the methods, datasets and design notes);
  the methods are documented in ``docs/methods.md``, the datasets in ``docs/datasets/<name>.md``
  and the design in ``docs/architecture.md``.
* Every relative Markdown link ``](path)`` in ``README.md`` and ``docs/**/*.md`` resolves to an
  existing file or folder (relative to the linking file).
* Every ``docs/....md`` mention (docstrings, comments, Markdown text) names an existing file,
  relative to the repository root.
* A ``#anchor`` on a link or mention to a Markdown file names a heading (GitHub-style slug) or an
  explicit ``<a id="...">`` of that file.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache, lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = (".py", ".md", ".toml")

# Built from parts so that this file does not cite them itself.
PRIVATE_SPECS = tuple(name + ".md" for name in ("METHODS", "DATASETS", "DESIGN"))
PRIVATE_SPEC = re.compile(r"(?<![\w/])(?:" + "|".join(re.escape(s) for s in PRIVATE_SPECS) + r")\b")
MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
DOCS_MENTION = re.compile(r"(?<![\w/.-])(docs/[\w./+-]*?\.md)(#[\w\-]+)?")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def _git_files(*args: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", *args], cwd=ROOT, capture_output=True, check=True)
    return [p for p in out.stdout.decode("utf-8").split("\0") if p]


@lru_cache(maxsize=1)
def repo_files() -> tuple[Path, ...]:
    """Tracked files plus untracked, non-ignored ones, that exist in the working tree, of the checked kinds."""
    try:
        names = set(_git_files()) | set(_git_files("--others", "--exclude-standard"))
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist): nothing to check
        pytest.skip("not a git checkout")
    return tuple(sorted(ROOT / n for n in names if n.endswith(SUFFIXES) and (ROOT / n).is_file()))


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _markdown_files() -> list[Path]:
    return [p for p in repo_files() if p.suffix == ".md" and (p == ROOT / "README.md" or (ROOT / "docs") in p.parents)]


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__", "", heading.strip()).lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading: its text
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """The anchors a Markdown file defines: heading slugs (with GitHub's -1, -2 for repeats) and ``<a id>``s."""
    text = FENCE.sub("", _text(path))
    found: set[str] = set()
    seen: dict[str, int] = {}
    for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE):
        slug = github_slug(m.group(1))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    found.update(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", text))
    return frozenset(found)


def _target_problem(target: Path, anchor: str | None) -> str | None:
    if not target.exists():
        return "does not exist"
    if anchor and target.suffix == ".md" and target.is_file() and anchor not in anchors(target):
        return f"has no anchor #{anchor}"
    return None


def test_no_file_cites_the_private_specification():
    offenders = []
    for path in repo_files():
        text = _text(path)
        for m in PRIVATE_SPEC.finditer(text):
            offenders.append(f"{path.relative_to(ROOT)}:{_line(text, m.start())}: {m.group(0)}")
    assert not offenders, (
        "these cite a file that is not in the repository (methods: docs/methods.md, datasets: "
        "docs/datasets/<name>.md, design: docs/architecture.md):\n" + "\n".join(offenders)
    )


def test_markdown_links_resolve():
    broken = []
    for path in _markdown_files():
        text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), _text(path))
        for m in MARKDOWN_LINK.finditer(text):
            link = m.group(1)
            if re.match(r"^[a-zA-Z][\w+.-]*:", link):  # http:, https:, mailto:
                continue
            target_str, _, anchor = link.partition("#")
            target = path if not target_str else (path.parent / target_str).resolve()
            problem = _target_problem(target, anchor or None)
            if problem:
                broken.append(f"{path.relative_to(ROOT)}:{_line(text, m.start())}: ({link}) {problem}")
    assert not broken, "broken Markdown links:\n" + "\n".join(broken)


def test_docs_mentions_resolve():
    broken = []
    for path in repo_files():
        if path == Path(__file__).resolve():
            continue
        text = _text(path)
        for m in DOCS_MENTION.finditer(text):
            anchor = m.group(2)[1:] if m.group(2) else None
            problem = _target_problem(ROOT / m.group(1), anchor)
            if problem:
                broken.append(f"{path.relative_to(ROOT)}:{_line(text, m.start())}: {m.group(0)} {problem}")
    assert not broken, "mentions of docs/ files that do not resolve:\n" + "\n".join(broken)


def test_github_slug():
    assert github_slug("Stage 2 kinds: cRW, cRS, τ-norm") == "stage-2-kinds-crw-crs-τ-norm"
    assert github_slug("`CE+SC` and SC→cRW") == "cesc-and-sccrw"
