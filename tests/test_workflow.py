"""The GitHub Actions workflow passes actionlint and runs .ci/run's commands in
the same order."""

import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
CI_RUN = ROOT / ".ci" / "run"
REQUIREMENTS = ROOT / "requirements.txt"

INSTALL = re.compile(r"pip install .*-r requirements\.txt")
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# .ci/run may reuse a checkout, so it cleans the build first; a workflow always
# starts from a fresh one and needs no such step.
HOUSEKEEPING = {"rm -rf _build"}


def load_workflow() -> dict:
    """The workflow file, parsed."""
    return yaml.safe_load(WORKFLOW.read_text())


def ci_run_commands(script: str) -> list[str]:
    """The commands of .ci/run after its requirements install, less echo,
    comments and clean-up."""
    lines = [line.strip() for line in script.splitlines()]
    start = next(i for i, line in enumerate(lines) if INSTALL.search(line))
    return [
        line
        for line in lines[start + 1 :]
        if line
        and not line.startswith(("#", "echo "))
        and line not in HOUSEKEEPING
    ]


def workflow_commands(workflow: dict, job: str = "test") -> list[str]:
    """Each line of the job's `run:` steps, prefixed with the step's `env:` as
    NAME=value."""
    commands = []
    for step in workflow["jobs"][job]["steps"]:
        env = [
            f"{name}={shlex.quote(str(value))}"
            for name, value in step.get("env", {}).items()
        ]
        commands += [
            " ".join([*env, line.strip()])
            for line in step.get("run", "").splitlines()
            if line.strip()
        ]
    return commands


def canonical(command: str) -> str:
    """The command with its leading NAME=value assignments sorted (their order
    does not matter)."""
    words = shlex.split(command)
    n = next(
        (i for i, word in enumerate(words) if not ASSIGNMENT.match(word)),
        len(words),
    )
    return shlex.join(sorted(words[:n]) + words[n:])


def missing_in_order(expected: list[str], actual: list[str]) -> list[str]:
    """The expected commands that `actual` lacks or runs out of order (other
    commands may come between them)."""
    actual = [canonical(command) for command in actual]
    missing, position = [], 0
    for command in expected:
        try:
            position = actual.index(canonical(command), position) + 1
        except ValueError:
            missing.append(command)
    return missing


def find_actionlint() -> str | None:
    """The actionlint executable beside this Python (a venv not activated),
    else on PATH."""
    return shutil.which(
        "actionlint", path=str(pathlib.Path(sys.executable).parent)
    ) or shutil.which("actionlint")


def test_actionlint_accepts_the_workflow():
    actionlint = find_actionlint()
    assert actionlint is not None, (
        "actionlint is not installed (requirements.txt pins it)"
    )
    result = subprocess.run(
        [actionlint, str(WORKFLOW)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_runs_the_ci_run_commands_in_order():
    expected = ci_run_commands(CI_RUN.read_text())
    # the README's test command, with or without environment assignments
    assert any(shlex.split(command)[-1] == "pytest" for command in expected)
    missing = missing_in_order(expected, workflow_commands(load_workflow()))
    assert missing == [], (
        f"{WORKFLOW.name} lacks, or runs out of order: {missing}"
    )


def test_workflow_pins_the_same_cpu_torch_and_tests_both_pythons():
    workflow = load_workflow()
    pin = re.search(
        r"^torch==(\S+)", REQUIREMENTS.read_text(), re.MULTILINE
    ).group(1)
    commands = workflow_commands(workflow)
    torch = next(command for command in commands if "torch==" in command)
    assert re.search(r"torch==(\S+)", torch).group(1) == pin
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch
    assert commands.index(torch) < commands.index(
        "pip install -r requirements.txt"
    )
    versions = workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    assert {"3.11", "3.12"} <= set(versions)


def test_ci_run_commands_skip_setup_messages_comments_and_clean_up():
    script = """set -euo pipefail
python -m pip install --quiet -r requirements.txt

echo "== building"
rm -rf _build
jupyter-book build .
# a comment
FOO=1 pytest book
"""
    assert ci_run_commands(script) == [
        "jupyter-book build .",
        "FOO=1 pytest book",
    ]


def test_inline_and_step_env_forms_match_in_any_order():
    workflow = {
        "jobs": {
            "test": {
                "steps": [{"env": {"B": "2", "A": 1}, "run": "pytest book"}]
            }
        }
    }
    assert workflow_commands(workflow) == ["B=2 A=1 pytest book"]
    assert (
        missing_in_order(["A=1 B=2 pytest book"], workflow_commands(workflow))
        == []
    )


def _dropped(steps, index):
    del steps[index]


def _swapped(steps, index):
    steps[index], steps[index + 1] = steps[index + 1], steps[index]


def _env_lost(steps, index):
    steps[index + 1] = {"run": "pytest book"}


@pytest.mark.parametrize("break_workflow", [_dropped, _swapped, _env_lost])
def test_comparison_reports_a_broken_workflow(break_workflow):
    expected = ci_run_commands(CI_RUN.read_text())
    workflow = load_workflow()
    steps = workflow["jobs"]["test"]["steps"]
    pytest_step = next(
        i for i, step in enumerate(steps) if step.get("run") == "pytest"
    )
    break_workflow(steps, pytest_step)
    assert missing_in_order(expected, workflow_commands(workflow)) != []
