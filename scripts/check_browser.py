"""Drive Neo4j Browser in headless Chromium through the query guide and screenshot a path.

The check does what an analyst does with the guide, in a fresh browser profile:

1. opens Browser from the project's Neo4j server (http://127.0.0.1:7474/browser/) and
   connects to bolt://127.0.0.1:7687 as neo4j;
2. plays neo4j/browser/guide.html, served from 127.0.0.1 by this script;
3. runs the guide's `:style` block, then the `:param` blocks and the graph variant of
   the blast_radius_principal query, which returns the paths of alice in the example;
4. waits until the graph view has drawn nodes and relationships, checks that a node
   is captioned alice and one has the style's User colour, then shows the result frame
   full screen and saves a screenshot of the page.

Blocks are clicked in the guide, as an analyst would, so the check also shows that each
block reaches the editor and runs as it is. Only the `:play` command is typed. Every
request that Chromium makes to a host other than 127.0.0.1 is aborted, because Browser
requests web fonts and analytics scripts when it starts.

Needs the server running with examples/shared-hr-agent loaded, Chromium
(Debian: apt-get install chromium) and the `playwright` Python package in .venv, which
drives the system Chromium and downloads no browser of its own. Usage:

    .venv/bin/pip install playwright
    .venv/bin/python scripts/check_browser.py [--output docs/images/browser-path.png]

Exits 0 when the path was drawn and the screenshot saved, and 1 with a message when a
step fails. A failed step also saves a screenshot of the whole page next to --output.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from queries.store import GraphStore, Neo4jSettings, StoreError

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Locator, Page, Route, sync_playwright
except ImportError:
    sys.exit("check_browser: error: the playwright package is missing; run .venv/bin/pip install playwright")

# scripts/ is no package, so put it on the path to import the guide generator.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_browser_guide as guide

logger = logging.getLogger("check_browser")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "images" / "browser-path.png"
# The user of examples/shared-hr-agent whose paths the guide's :param block selects.
PRINCIPAL = guide.EXAMPLE_VALUES["principal"]
QUERY_NAME = "blast_radius_principal"
# The fill colour of node.User in neo4j/browser/deputygraph.grass.
USER_COLOUR = "#2F6FDE"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class CheckError(Exception):
    """A failed step of the check, with a message that names the step and the fix."""


def check_current_build(settings: Neo4jSettings, principal: str) -> None:
    """Raise CheckError unless the server is reachable and its current build contains the principal."""
    try:
        with GraphStore.connect(settings) as store:
            rows = store.run_read(
                "MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild) "
                "MATCH (n:DeputyNode {build: build.id, arn: $arn}) RETURN count(n) AS found",
                {"arn": principal},
            )
    except StoreError as error:
        raise CheckError(str(error)) from error
    if not rows or rows[0]["found"] == 0:
        raise CheckError(
            f"the current build has no node {principal}; run `.venv/bin/deputy load examples/shared-hr-agent` first"
        )


@contextmanager
def guide_server() -> Iterator[int]:
    """Serve neo4j/browser/ on a free port of 127.0.0.1 for the duration of the block."""
    expected = guide.render_from_repository()
    if guide.GUIDE_PATH.read_text(encoding="utf-8") != expected:
        raise CheckError(f"{guide.GUIDE_PATH} is out of date; run .venv/bin/python scripts/make_browser_guide.py")
    server = guide.make_server(0)
    thread = threading.Thread(target=server.serve_forever, name="guide-server", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_editor(page: Page) -> None:
    """Click the Run button of the main editor."""
    page.locator("button[data-testid=editor-Run]").click()


def open_slide(frame: Locator, title: str, slide_count: int) -> None:
    """Click through the guide's slide dots until the slide titled `title` shows."""
    for number in range(1, slide_count + 1):
        frame.locator(f'li[aria-label="{number}"]').click()
        heading = frame.locator("h3").first
        if heading.inner_text().strip() == title:
            return
    raise CheckError(f"the guide has no slide titled {title!r}; regenerate it with scripts/make_browser_guide.py")


def click_block(frame: Locator, text_start: str) -> None:
    """Click the first runnable block that starts with `text_start`, which copies it into the editor."""
    blocks = frame.locator("pre.runnable")
    for index in range(blocks.count()):
        block = blocks.nth(index)
        if block.inner_text().strip().startswith(text_start):
            block.click()
            return
    raise CheckError(f"the current guide slide has no runnable block starting with {text_start!r}")


def wait_for_frame(page: Page, command_start: str, timeout_ms: float, expected_text: str | None = None) -> Locator:
    """Return the result frame of the command that starts with `command_start`, once it shows `expected_text`."""
    command = page.locator("[data-testid=frameCommand]", has_text=command_start)
    frame = page.locator("[data-testid=frame]").filter(has=command).first
    try:
        frame.wait_for(state="visible", timeout=timeout_ms)
        if expected_text is not None:
            frame.get_by_text(expected_text).first.wait_for(timeout=timeout_ms)
    except PlaywrightError as error:
        frame_text = frame.inner_text()[:500] if frame.count() else "no frame"
        raise CheckError(
            f"{command_start!r} did not show {expected_text!r}: {error}; the frame shows: {frame_text}"
        ) from error
    return frame


def drive_browser(page: Page, args: argparse.Namespace, guide_port: int) -> None:
    http_url = f"http://127.0.0.1:{args.http_port}/browser/"
    bolt_url = f"bolt://127.0.0.1:{args.bolt_port}"
    timeout_ms = args.timeout * 1000
    page.set_default_timeout(timeout_ms)

    logger.info("opening %s", http_url)
    page.goto(f"{http_url}?dbms={bolt_url}")
    page.locator("input[data-testid=username]").fill("neo4j")
    page.locator("input[data-testid=password]").fill(args.password)
    page.locator("button[data-testid=connect]").click()
    try:
        page.locator("[data-testid=frame]").filter(has_text="You are connected as user").first.wait_for(
            timeout=timeout_ms
        )
    except PlaywrightError as error:
        raise CheckError(f"Browser did not connect to {bolt_url} as neo4j: {error}") from error
    logger.info("connected to %s", bolt_url)

    play = f":play http://127.0.0.1:{guide_port}/{guide.GUIDE_PATH.name}"
    page.locator("[data-testid=activeEditor]").click()
    page.keyboard.type(play)
    page.keyboard.press("Enter")
    frame = page.locator("[data-testid=frame]").filter(has_text=play).first
    try:
        frame.wait_for(timeout=timeout_ms)
    except PlaywrightError as error:
        raise CheckError(f"Browser did not show the guide after {play!r}: {error}") from error
    slide_count = frame.locator("li[aria-label]").count()
    logger.info("guide is showing, %s slides", slide_count)

    open_slide(frame, "Graph style", slide_count)
    click_block(frame, ":style\n")
    run_editor(page)
    wait_for_frame(page, ":style", timeout_ms)
    logger.info("applied the style")

    open_slide(frame, QUERY_NAME, slide_count)
    blocks = frame.locator("pre.runnable")
    params = [blocks.nth(i).inner_text().strip() for i in range(blocks.count())]
    params = [text for text in params if text.startswith(":param ")]
    for command in params:
        click_block(frame, command)
        run_editor(page)
        wait_for_frame(page, command, timeout_ms, "Successfully set your parameters.")
    logger.info("set %s parameters: %s", len(params), "; ".join(params))
    if f":param principal => '{PRINCIPAL}'" not in params:
        raise CheckError(f"the guide's {QUERY_NAME} slide does not set principal to {PRINCIPAL}")

    # The graph variant is the last block of a query slide and ends with RETURN p.
    graph_query = blocks.nth(blocks.count() - 1).inner_text().strip()
    if not graph_query.endswith("RETURN p"):
        raise CheckError(f"the last block of the {QUERY_NAME} slide is not the graph variant ending in RETURN p")
    blocks.nth(blocks.count() - 1).click()
    run_editor(page)

    result = page.locator("[data-testid=frame]").filter(has=page.locator("svg g.node")).first
    try:
        result.locator("svg g.node").first.wait_for(timeout=timeout_ms)
    except PlaywrightError as error:
        raise CheckError(f"the graph view did not draw any node: {error}") from error
    # Let the force layout settle before counting and taking the picture.
    page.wait_for_timeout(args.settle * 1000)

    nodes = result.locator("svg g.node").count()
    relationships = result.locator("svg g.relationship").count()
    if nodes < 2 or relationships < 1:
        raise CheckError(f"the graph view drew {nodes} nodes and {relationships} relationships, expected a path")
    captions = result.locator("svg g.node").evaluate_all("nodes => nodes.map(n => n.textContent || '')")
    if not any("alice" in caption for caption in captions):
        raise CheckError(f"no node caption is alice; captions: {captions}")
    fills = result.locator("svg g.node circle.b-outline").evaluate_all(
        "circles => circles.map(c => (c.getAttribute('fill') || '').toUpperCase())"
    )
    if USER_COLOUR not in fills:
        raise CheckError(f"no node has the User colour {USER_COLOUR}, so the style did not apply; fills: {fills}")
    logger.info("graph view drew %s nodes and %s relationships", nodes, relationships)

    # Fullscreen gives the layout the whole viewport. Zoom-to-fit frames every node but
    # ignores the overview panel on the right, which would cover nodes, so it is closed.
    result.locator('button[title="Fullscreen"]').click()
    result.locator('button[title="Collapse the node properties display"]').click()
    result.locator('button[aria-label="zoom-to-fit"]').click()
    page.wait_for_timeout(1000)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(args.output))
    logger.info("saved %s", args.output)


def run_check(args: argparse.Namespace) -> None:
    if not Path(args.chromium).is_file():
        raise CheckError(
            f"no Chromium at {args.chromium}; install it (Debian: apt-get install chromium) or pass --chromium"
        )

    settings = Neo4jSettings(
        uri=f"bolt://127.0.0.1:{args.bolt_port}", user="neo4j", password=args.password, database="neo4j"
    )
    check_current_build(settings, PRINCIPAL)

    blocked: list[str] = []

    def allow_loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
            return
        blocked.append(route.request.url)
        route.abort()

    profile = tempfile.mkdtemp(prefix="deputygraph-chromium-")
    try:
        with guide_server() as guide_port, sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=args.chromium,
                headless=True,
                args=list(CHROMIUM_FLAGS),
                viewport={"width": 1600, "height": 1000},
            )
            context.route("**/*", allow_loopback_only)
            page = context.new_page()
            try:
                drive_browser(page, args, guide_port)
            except (CheckError, PlaywrightError):
                failure = args.output.with_name(args.output.stem + ".failed.png")
                page.screenshot(path=str(failure), full_page=True)
                logger.error("saved a screenshot of the failed page to %s", failure)
                raise
            finally:
                context.close()
    except PlaywrightError as error:
        raise CheckError(f"Chromium or Browser failed: {error}") from error
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        if blocked:
            hosts = sorted({urlsplit(url).hostname or url for url in blocked})
            logger.info("aborted %s requests to hosts other than 127.0.0.1: %s", len(blocked), ", ".join(hosts))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot a blast-radius path in Neo4j Browser.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"PNG to write (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable (default: %(default)s)")
    parser.add_argument(
        "--password",
        default=os.environ.get("NEO4J_PASSWORD", "deputygraph-test"),
        help="password of user neo4j (default: NEO4J_PASSWORD, else deputygraph-test)",
    )
    parser.add_argument(
        "--bolt-port",
        type=int,
        default=int(os.environ.get("DEPUTY_NEO4J_BOLT_PORT", "7687")),
        help="Bolt port on 127.0.0.1 (default: DEPUTY_NEO4J_BOLT_PORT, else 7687)",
    )
    parser.add_argument(
        "--http-port",
        type=int,
        default=int(os.environ.get("DEPUTY_NEO4J_HTTP_PORT", "7474")),
        help="HTTP port of Browser on 127.0.0.1 (default: DEPUTY_NEO4J_HTTP_PORT, else 7474)",
    )
    parser.add_argument("--timeout", type=float, default=60, help="seconds each step may take (default: 60)")
    parser.add_argument(
        "--settle", type=float, default=3, help="seconds the graph layout gets before the screenshot (default: 3)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="check_browser: %(message)s")

    try:
        run_check(args)
    except CheckError as error:
        print(f"check_browser: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
