"""Render the HTML report in headless Chromium and save a screenshot of the page.

The check writes the report of a snapshot (examples/shared-hr-agent by default) with
`deputy report --format html`, opens the file in headless Chromium with every network
request sent to an unreachable proxy, saves a screenshot, and then checks the
screenshot: a PNG of the requested width whose pixels are not all one colour. With the
network cut off, a page that needed a script, style sheet or font from elsewhere would
render without it, which the screenshot shows.

Needs Chromium (Debian: apt-get install chromium). Usage:

    .venv/bin/python scripts/check_report_html.py [--snapshot DIR] [--output report.png]

Exits 0 when the screenshot was saved and passed the checks, 1 with a message otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SNAPSHOT = ROOT / "examples" / "shared-hr-agent"
DEFAULT_OUTPUT = ROOT / "docs" / "images" / "report-html.png"
WIDTH = 1280
HEIGHT = 2600
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_SECONDS = 120


class CheckError(Exception):
    """A failed step of the check; the message names the step and the reason."""


def find_chromium() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise CheckError("Chromium not found; install it (Debian: apt-get install chromium)")


def write_report(snapshot: Path, html: Path) -> None:
    # A snapshot inside the repository is named relative to it, as the report's title then shows.
    resolved = snapshot.resolve()
    shown = resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else resolved
    command = [sys.executable, "-c", "from api.cli import main; main()", "report", str(shown)]
    command += ["--format", "html", "--out", str(html)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False, cwd=ROOT)
    if result.returncode != 0:
        raise CheckError(f"deputy report failed with exit code {result.returncode}: {result.stderr.strip()}")


def screenshot(chromium: str, html: Path, output: Path, profile: Path) -> None:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",  # Chromium refuses to start as root with its sandbox
        "--disable-gpu",
        f"--user-data-dir={profile}",
        # Every request that leaves the machine goes to a closed port, so the page gets nothing from the network.
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--hide-scrollbars",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--screenshot={output}",
        html.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    if result.returncode != 0 or not output.is_file():
        raise CheckError(f"Chromium did not save a screenshot (exit code {result.returncode}): {result.stderr[-2000:]}")


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]


def _unfilter(raw: bytes, row_bytes: int, height: int, channels: int) -> list[bytearray]:
    """Undo the per-row filters of a PNG image (none, Sub, Up, Average, Paeth)."""
    rows: list[bytearray] = []
    previous = bytearray(row_bytes)
    for index in range(height):
        start = index * (row_bytes + 1)
        kind = raw[start]
        row = bytearray(raw[start + 1 : start + 1 + row_bytes])
        for i in range(row_bytes):
            left = row[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                row[i] = (row[i] + _paeth(left, up, up_left)) & 0xFF
        rows.append(row)
        previous = row
    return rows


def png_pixels(path: Path) -> tuple[int, int, set[bytes]]:
    """Read an 8-bit RGB or RGBA PNG; return its width, height and a sample of distinct pixels."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise CheckError(f"{path} is not a PNG file")
    position = 8
    width = height = 0
    channels = 0
    compressed = b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        chunk = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            channels = {2: 3, 6: 4}.get(colour, 0)
            if depth != 8 or not channels:
                raise CheckError(f"{path}: unexpected PNG format (bit depth {depth}, colour type {colour})")
        elif kind == b"IDAT":
            compressed += chunk
        position += 12 + length
    rows = _unfilter(zlib.decompress(compressed), width * channels, height, channels)
    colours: set[bytes] = set()
    for row in rows[::7]:
        for column in range(0, width, 11):
            colours.add(bytes(row[column * channels : (column + 1) * channels]))
    return width, height, colours


def check(snapshot: Path, output: Path) -> str:
    chromium = find_chromium()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="deputy-report-") as folder:
        html = Path(folder) / "report.html"
        write_report(snapshot, html)
        screenshot(chromium, html, output, Path(folder) / "profile")
    width, height, colours = png_pixels(output)
    if width != WIDTH:
        raise CheckError(f"the screenshot is {width} pixels wide, expected {WIDTH}")
    if len(colours) < 8:
        raise CheckError(f"the screenshot has only {len(colours)} distinct colours in its sample; the page looks blank")
    return f"saved {output}: {width}x{height} pixels, {len(colours)} distinct colours in the sample"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the HTML report in headless Chromium and screenshot it.")
    parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT, help="snapshot folder to report on")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="PNG file to write")
    args = parser.parse_args(argv)
    try:
        print(check(args.snapshot, args.output))
    except (CheckError, subprocess.TimeoutExpired, OSError, zlib.error) as error:
        print(f"check_report_html: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
