"""Every file in tests/adapters/catalog_yaml/broken/ is refused with exactly the problems it lists.

Each file ends with ``# expect: LINE:COL: message start`` lines; the loader must report
exactly that many problems, each at ``PATH:LINE:COL`` with a message starting as given.
(A file may hold bytes that are not UTF-8; its ``# expect:`` lines are still read.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from configurator.adapters.catalog_yaml import load_catalog
from configurator.entrypoints.cli import main
from configurator.errors import CatalogError

BROKEN = Path(__file__).parent / "broken"
FILES = sorted(BROKEN.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.+)$")


def expectations(path: Path) -> list[tuple[int, int, str]]:
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = EXPECT.match(line)
        if m:
            out.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    return out


def test_corpus_is_large_enough():
    assert len(FILES) >= 25
    assert all(expectations(p) for p in FILES), "every broken file lists its expected problems"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_broken_catalog_reports_expected_problems(path: Path):
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    problems = info.value.problems
    expected = expectations(path)
    assert len(problems) == len(expected), [str(p) for p in problems]
    for (line, col, start), problem in zip(sorted(expected), problems, strict=True):
        assert problem.path == str(path)
        assert (problem.line, problem.col) == (line, col), str(problem)
        assert problem.message.startswith(start), str(problem)
        assert str(problem).startswith(f"{path}:{line}:{col}: ")


def test_cli_check_reports_every_problem_and_exits_1(capsys):
    path = BROKEN / "several_problems_at_once.yaml"
    assert main(["catalog", "check", str(path)]) == 1
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{path}:") for line in lines)
    assert "Traceback" not in out.err


def test_cli_check_directory_of_broken_files(capsys):
    assert main(["catalog", "check", str(BROKEN)]) == 1
    out = capsys.readouterr().out
    assert sum(len(expectations(p)) for p in FILES) == len(out.strip().splitlines())
