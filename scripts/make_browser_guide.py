"""Generate neo4j/browser/guide.html, a Neo4j Browser guide for the Cypher query library.

The guide has one slide for the graph style and one slide per `queries/cypher/*.cypher`
file. A query slide shows the query's summary and notes, and one `:param` command per
parameter with a value that works on the bundled example. Then come the query itself and
a variant whose final RETURN returns the path `p`, so that Browser draws it as a graph.
Every command and query sits in a `<pre class="pre-scrollable code runnable">` block:
Browser copies a clicked block into its editor, where the analyst can edit and run it.

Browser fetches a guide from a URL with `:play URL`, so the file must be served over
HTTP. `--serve` serves neo4j/browser/ on 127.0.0.1, with the CORS header that Browser's
cross-origin request needs. Usage:

    .venv/bin/python scripts/make_browser_guide.py [--output FILE]
    .venv/bin/python scripts/make_browser_guide.py --serve [--port 8001]

The output depends only on the library and the style file, so a test can regenerate
it and compare it with the committed file.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from queries.library import Parameter, Query, queries

ROOT = Path(__file__).resolve().parents[1]
BROWSER_DIR = ROOT / "neo4j" / "browser"
GUIDE_PATH = BROWSER_DIR / "guide.html"
STYLE_PATH = BROWSER_DIR / "deputygraph.grass"
DEFAULT_PORT = 8001

logger = logging.getLogger("make_browser_guide")

# Values for the parameters that have no default: nodes of examples/shared-hr-agent, so
# that the queries that take them return rows on the example. A new required parameter
# needs an entry here, and generating the guide fails until it has one.
EXAMPLE_VALUES: dict[str, str] = {
    "principal": "arn:aws:iam::111122223333:user/alice",
    "agent": "arn:aws:bedrock:us-east-1:111122223333:agent/Q7HRX2KD4N",
    "from": "arn:aws:iam::111122223333:user/alice",
    "to": "vpc-api:111122223333:us-east-1:ec2:CreateVpc",
}

# A top-level RETURN clause starts a line, unlike the RETURN of a subquery, which the
# library indents. The graph variant replaces the last one.
_FINAL_RETURN = re.compile(r"^RETURN\b", re.MULTILINE)
_PATH_VARIABLE = re.compile(r"\bp\s*=|\bAS p\b")
GRAPH_RETURN_PATH = "RETURN p"
GRAPH_RETURN_LISTS = "RETURN path_nodes, path_rels"


class GuideError(Exception):
    """An error in the query library or the style file that stops the guide from rendering."""


def cypher_literal(parameter: Parameter, raw: str) -> str:
    """Format a parameter value as the Cypher literal that `:param NAME => VALUE` evaluates."""
    if parameter.type in ("string", "node"):
        escaped = raw.replace("\\", "\\\\").replace("'", "\\'")
        return f"'{escaped}'"
    if parameter.type == "boolean":
        return "true" if raw.lower() in {"true", "yes", "1"} else "false"
    return str(int(raw))


def param_command(query: Query, parameter: Parameter) -> str:
    """Build the `:param` command that sets one parameter to its default or example value."""
    raw = parameter.default if parameter.default is not None else EXAMPLE_VALUES.get(parameter.name)
    if raw is None:
        raise GuideError(
            f"parameter {parameter.name!r} of query {query.name} has no default and no entry in "
            "EXAMPLE_VALUES in scripts/make_browser_guide.py; add a value that works on examples/shared-hr-agent"
        )
    return f":param {parameter.name} => {cypher_literal(parameter, raw)}"


def split_header(text: str) -> tuple[list[str], str]:
    """Split a library file into the prose paragraphs of its header comment and the query body."""
    lines = text.splitlines()
    header_end = 0
    while header_end < len(lines) and lines[header_end].startswith("//"):
        header_end += 1

    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines[:header_end]:
        content = line.lstrip("/").strip()
        if content.startswith("@param"):
            continue
        if content:
            current.append(content)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))

    body = "\n".join(lines[header_end:]).strip()
    return paragraphs, body


def graph_variant(body: str) -> str | None:
    """Return the query with its final RETURN replaced by one that returns the path, or None without one."""
    matches = list(_FINAL_RETURN.finditer(body))
    if not matches:
        return None
    head = body[: matches[-1].start()]
    # A path joined from two shortest paths is kept as node and relationship lists, which
    # Browser draws as well.
    if "AS path_nodes" in head:
        return head + GRAPH_RETURN_LISTS
    if not _PATH_VARIABLE.search(head):
        return None
    return head + GRAPH_RETURN_PATH


def runnable(code: str, caption: str | None = None) -> str:
    block = f'<pre class="pre-scrollable code runnable">{html.escape(code, quote=False)}</pre>'
    if caption is None:
        return f"<figure>{block}</figure>"
    return f"<figure>{block}<figcaption>{html.escape(caption, quote=False)}</figcaption></figure>"


def slide(title: str, lead: str, content: Iterable[str]) -> str:
    parts = [
        '<slide class="row-fluid">',
        '<div class="col-sm-3">',
        f"<h3>{html.escape(title, quote=False)}</h3>",
        f'<p class="lead">{html.escape(lead, quote=False)}</p>',
        "</div>",
        '<div class="col-sm-9">',
        *content,
        "</div>",
        "</slide>",
    ]
    return "\n".join(parts)


def intro_slide(library: Sequence[Query]) -> str:
    items = "\n".join(
        f"<li><code>{html.escape(query.name)}</code>: {html.escape(query.summary, quote=False)}.</li>"
        for query in library
    )
    content = [
        "<p>Each slide after the style slide holds one query of the library in "
        "<code>queries/cypher/</code>. Click a grey block to copy it into the editor, "
        "edit it there if you like, then run it with Ctrl+Enter (Cmd+Enter on macOS).</p>",
        "<p>Run the <code>:param</code> blocks of a slide before its query. The values work "
        "on <code>examples/shared-hr-agent</code>, which <code>deputy load</code> puts into the "
        "database. Replace them with ARNs of your own snapshot. <code>:params</code> lists the "
        "values that are set.</p>",
        "<p>The queries read the current build only: the <code>DeputyBuild</code> that "
        "<code>(:DeputyCurrent)-[:CURRENT]-&gt;</code> points to.</p>",
        f"<ol>\n{items}\n</ol>",
    ]
    return slide("deputygraph queries", "The Cypher query library of deputygraph, one query a slide.", content)


def style_slide(grass: str) -> str:
    content = [
        "<p>Run this block once per Browser profile. Browser keeps the style in the browser's "
        "local storage. Principals are blue, Bedrock agent parts purple, Lambda functions "
        "amber, and the targets that a confused-deputy path ends at (buckets, VPC APIs, "
        "guardrails) red. Permission relationships are drawn thicker than structure ones.</p>",
        runnable(":style\n" + grass.strip(), "Apply the deputygraph style."),
        "<p>When this folder is served with <code>scripts/make_browser_guide.py --serve</code>, "
        "the same file loads by URL:</p>",
        runnable(f":style http://127.0.0.1:{DEFAULT_PORT}/{STYLE_PATH.name}", "Load the style file by URL."),
        runnable(":style reset", "Go back to Browser's default style."),
    ]
    return slide("Graph style", "Colours, sizes and captions for every label and relationship type.", content)


def query_slide(query: Query) -> str:
    paragraphs, body = split_header(query.text)
    # The lead already shows the summary, the first sentence of the first paragraph.
    if paragraphs and paragraphs[0].startswith(query.summary):
        rest = paragraphs[0][len(query.summary) :].lstrip(". ").strip()
        paragraphs = [rest, *paragraphs[1:]] if rest else paragraphs[1:]
    content = [f"<p>{html.escape(paragraph, quote=False)}</p>" for paragraph in paragraphs]

    if query.parameters:
        items = "\n".join(
            f"<li><code>{html.escape(parameter.name)}</code> ({html.escape(parameter.type)}): "
            f"{html.escape(parameter.description, quote=False)}</li>"
            for parameter in query.parameters
        )
        content.append(f"<p>Parameters, set by the blocks below:</p>\n<ul>\n{items}\n</ul>")
        content.extend(runnable(param_command(query, parameter)) for parameter in query.parameters)

    content.append(runnable(body, "The query, as in the library. The result is a table."))
    variant = graph_variant(body)
    if variant is not None:
        content.append(runnable(variant, "The same query returning its paths, which Browser draws as a graph."))
    return slide(query.name, query.summary + ".", content)


def render_guide(library: Sequence[Query], grass: str) -> str:
    """Render the whole guide as HTML text."""
    if not library:
        raise GuideError("the query library in queries/cypher/ has no .cypher files")
    slides = [intro_slide(library), style_slide(grass), *(query_slide(query) for query in library)]
    parts = [
        "<!DOCTYPE html>",
        "<!-- Generated by scripts/make_browser_guide.py from queries/cypher/*.cypher and",
        "     neo4j/browser/deputygraph.grass. Edit those files and run the script again. -->",
        "<html>",
        "<head>",
        '<meta charset="utf-8">',
        "<title>deputygraph queries</title>",
        "</head>",
        "<body>",
        '<article class="guide">',
        '<carousel class="deck container-fluid">',
        *slides,
        "</carousel>",
        "</article>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def render_from_repository() -> str:
    """Render the guide from queries/cypher/ and neo4j/browser/deputygraph.grass; raise GuideError or OSError."""
    grass = STYLE_PATH.read_text(encoding="utf-8")
    return render_guide(list(queries().values()), grass)


class CorsRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with `Access-Control-Allow-Origin: *`.

    Browser runs on the Neo4j HTTP port and fetches the guide from this port, which is
    another origin, so the response must allow it. Any origin may read the files because
    they are public in the repository and the server listens on 127.0.0.1 only.
    """

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        logger.info("%s %s", self.address_string(), format % args)


def make_server(port: int) -> http.server.ThreadingHTTPServer:
    """Bind an HTTP server for neo4j/browser/ to 127.0.0.1:port (0 picks a free port); raise OSError."""
    handler = functools.partial(CorsRequestHandler, directory=str(BROWSER_DIR))
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve(port: int) -> None:
    """Serve neo4j/browser/ on 127.0.0.1 until interrupted."""
    with make_server(port) as server:
        bound_port = server.server_address[1]
        logger.info("serving %s on http://127.0.0.1:%s/", BROWSER_DIR, bound_port)
        print(f"In Neo4j Browser run:  :play http://127.0.0.1:{bound_port}/{GUIDE_PATH.name}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            logger.info("stopped serving on port %s", bound_port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=GUIDE_PATH, help=f"file to write (default: {GUIDE_PATH})")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="after writing, serve neo4j/browser/ over HTTP on 127.0.0.1 until Ctrl-C",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port for --serve on 127.0.0.1; 0 picks a free one (default: {DEFAULT_PORT})",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="make_browser_guide: %(message)s")

    if not 0 <= args.port <= 65535:
        parser.error(f"invalid --port {args.port}: expected 0 to 65535")
    if args.serve and args.output.resolve() != GUIDE_PATH:
        parser.error(f"--serve serves {BROWSER_DIR}, so it cannot be combined with another --output")
    try:
        guide = render_from_repository()
    except (GuideError, OSError) as error:
        print(f"make_browser_guide: error: {error}", file=sys.stderr)
        return 1

    args.output.write_text(guide, encoding="utf-8")
    logger.info("wrote %s", args.output)
    if args.serve:
        try:
            serve(args.port)
        except OSError as error:
            print(f"make_browser_guide: error: cannot serve on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
