"""The strict tools as tests: ruff, mypy on the pure cores, import-linter contracts of the dependency rule."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT_PACKAGES = frozenset({"cis", "outage", "ivr", "sms", "prompts", "urjamitra"})
# import-linter 2.x has no `python -m importlinter` entry: `-m importlinter.cli` imports the module and
# exits 0 without checking anything. Call the `lint-imports` console script's function instead.
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_ruff_finds_nothing() -> None:
    # No cache, so a test run leaves nothing behind in the checkout.
    result = _run("-m", "ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, _output(result)


def test_mypy_is_clean_on_the_configured_files(tmp_path: Path) -> None:
    # No file arguments: mypy checks the `files` listed in [tool.mypy].
    result = _run("-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache"))
    assert result.returncode == 0, _output(result)


def test_import_linter_contracts_are_kept() -> None:
    result = _run("-c", LINT_IMPORTS, "--no-cache", "--no-logo")
    assert result.returncode == 0, _output(result)
    # A run that checked nothing would also exit 0; the summary proves every contract was checked.
    contracts = PYPROJECT["tool"]["importlinter"]["contracts"]
    assert f"Contracts: {len(contracts)} kept, 0 broken." in result.stdout, _output(result)


def _contracts(kind: str) -> list[dict[str, Any]]:
    contracts: list[dict[str, Any]] = PYPROJECT["tool"]["importlinter"]["contracts"]
    return [contract for contract in contracts if contract["type"] == kind]


def _forbids(source: str, targets: set[str]) -> bool:
    return any(
        source in contract["source_modules"] and targets <= set(contract["forbidden_modules"])
        for contract in _contracts("forbidden")
    )


def test_import_linter_sees_every_project_package() -> None:
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    packaged = {pattern.rstrip("*") for pattern in include}
    assert set(PYPROJECT["tool"]["importlinter"]["root_packages"]) == PROJECT_PACKAGES == packaged


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        pytest.param("cis", PROJECT_PACKAGES - {"cis"}, id="cis-imports-none-of-the-others"),
        pytest.param("outage", PROJECT_PACKAGES - {"outage", "cis"}, id="outage-imports-only-cis"),
        pytest.param("ivr", {"urjamitra"}, id="only-urjamitra-wires-ivr"),
        pytest.param("sms", {"urjamitra"}, id="only-urjamitra-wires-sms"),
        pytest.param("prompts", PROJECT_PACKAGES - {"prompts"}, id="prompts-imports-nothing-of-the-project"),
    ],
)
def test_a_contract_enforces_each_forbidden_import_of_the_dependency_rule(
    source: str, forbidden: frozenset[str]
) -> None:
    assert _forbids(source, set(forbidden)), f"no contract keeps {source} from importing {sorted(forbidden)}"


def test_a_contract_keeps_ivr_and_sms_independent() -> None:
    assert any({"ivr", "sms"} <= set(contract["modules"]) for contract in _contracts("independence"))


def test_no_contract_is_weakened_by_exceptions() -> None:
    contracts: list[dict[str, Any]] = PYPROJECT["tool"]["importlinter"]["contracts"]
    weakened = [
        contract["name"]
        for contract in contracts
        if contract.get("ignore_imports") or contract.get("allow_indirect_imports") in (True, "True", "true")
    ]
    assert weakened == []
