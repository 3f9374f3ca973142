"""Package dependency rules (docs/CONTRACTS.md), checked on every import statement."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("vidforge", "curation", "training", "evaluation", "services", "dags")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _violations(package: str, allowed: callable) -> list[str]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path):
            if name.split(".")[0] in TOP and not allowed(name):
                out.append(f"{path.relative_to(ROOT)} imports {name}")
    return out


RULES = {
    # core imports none of the others
    "vidforge": lambda n: n.startswith("vidforge"),
    # training reads datasets through the core contract, never via curation
    "training": lambda n: n.split(".")[0] in ("vidforge", "training"),
    "curation": lambda n: n.split(".")[0] in ("vidforge", "curation"),
    # serving needs the model package and the registry, never curation or the trainer
    "services": lambda n: n.split(".")[0] in ("vidforge", "services") or n.startswith("training.model"),
    # evaluation scores with curation's model loaders (one CLIP implementation), never its pipeline
    "evaluation": lambda n: n.split(".")[0] in ("vidforge", "evaluation", "training", "services")
    or n.startswith("curation.models"),
    "dags": lambda n: n.split(".")[0] in ("vidforge", "curation", "training", "evaluation"),
}


@pytest.mark.parametrize("package", sorted(RULES))
def test_dependency_rules(package: str) -> None:
    assert _violations(package, RULES[package]) == []


def test_nothing_imports_dags() -> None:
    for package in TOP[:-1]:
        assert not [v for v in _violations(package, lambda n: not n.startswith("dags"))]
