"""The README's example output, checked against the output of the command it shows."""

from __future__ import annotations

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
