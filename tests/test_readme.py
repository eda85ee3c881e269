"""The README checked against the CLI: its example output and its table of commands."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_INTRO = "The first command analyses [`examples/shared-hr-agent/`]"
ELISION = "..."


def readme_example_lines() -> list[str]:
    """Return the lines of the first code block after the example's introduction, without `...` lines."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after_intro = text[text.index(EXAMPLE_INTRO) :]
    start = after_intro.index("```\n") + len("```\n")
    block = after_intro[start : after_intro.index("```\n", start)]
    return [line for line in block.splitlines() if line.strip() != ELISION]


def test_readme_example_is_real_output() -> None:
    # scripts/example.sh runs this command with an absolute snapshot path, which changes only the first line.
    command = [sys.executable, "-c", "from api.cli import main; main()", "analyze", "examples/shared-hr-agent"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    output = result.stdout.splitlines()
    readme_lines = readme_example_lines()
    assert len(readme_lines) > 20
    position = 0
    for line in readme_lines:
        assert line in output[position:], f"README line not in the output (in this order): {line!r}"
        position = output.index(line, position) + 1


@functools.cache
def deputy_help(*command: str) -> str:
    arguments = [*command, "--help"]
    result = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def command_table_rows() -> list[tuple[str, str]]:
    """Return (synopsis, description) for each row of the README's table of commands."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        match = re.match(r"^\| `(deputy [^`]+)` \| (.+) \|$", line)
        if match:
            rows.append((match.group(1).replace("\\|", "|"), match.group(2)))
    return rows


def test_readme_table_lists_every_command() -> None:
    listed = {synopsis.split()[1] for synopsis, _ in command_table_rows()}
    choices = re.search(r"\{([a-z,-]+)\}", deputy_help())
    assert choices is not None
    commands = set(choices.group(1).split(","))
    # serve and scheduler have their own sections, REST API and Rebuilds.
    assert listed == commands - {"serve", "scheduler"}


def test_readme_options_exist() -> None:
    for synopsis, description in command_table_rows():
        command = synopsis.split()[1]
        help_text = deputy_help(command)
        for option in re.findall(r"--[a-z-]+", synopsis + " " + description):
            assert option in help_text, f"README names {option} for deputy {command}, which --help does not list"


def test_readme_states_default_formats() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for synopsis, description in command_table_rows():
        command = synopsis.split()[1]
        default = re.search(r"--format \{[a-z,]+\}\s+[^(]*\(default: ([a-z]+)\)", deputy_help(command))
        if default is None:
            continue
        if default.group(1) == "table":
            assert not description.startswith("`{"), f"README gives JSON as the output of deputy {command}"
            assert f"`{command}`" in text.split("| Command | Answers |")[0].split("## The command line")[1]
        else:
            assert f"{default.group(1)} by default" in description.lower(), (
                f"README omits the default of deputy {command}"
            )
