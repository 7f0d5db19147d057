"""The web pages in headless Chromium (Debian's chromium, driven by Playwright): the editor, the saved-query
gallery, the study comparison and the resource pages, used as a researcher would, with the keyboard where it
matters. Every request a page makes is recorded: none may leave 127.0.0.1.

Screenshots of each view go to $SAMVERKAN_SCREENSHOTS when it is set (docs/screenshots for the README):
    SAMVERKAN_SCREENSHOTS=docs/screenshots pytest tests/test_web.py
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from conftest import Client, in_process, samverkan
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from werkzeug.serving import make_server

from service.config import Config
from service.http import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STUDIES = ("fiktiv-fokusgrupper-2011", "fiktiv-krisberedskap-2021")
DASH = "\N{EN DASH}"  # as the table's caption writes a range of rows


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: scripts/test installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob") or (parts.scheme == "http" and parts.hostname == "127.0.0.1")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile; after the test, no request may have left 127.0.0.1, nor any script failed."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", accept_downloads=True)
    page = context.new_page()
    seen: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(f"console: {message.text}")  # e.g. a Content-Security-Policy violation

    page.on("console", on_console)
    yield page
    context.close()
    assert seen, "the test made the page load something"
    assert [url for url in seen if not local(url)] == [], "requests left 127.0.0.1"
    assert problems == []


def screenshot(page: Page, name: str, top: str | None = None) -> None:
    """The browser window (with the element `top` scrolled to its top) as PNG, when screenshots are asked for."""
    folder = os.environ.get("SAMVERKAN_SCREENSHOTS")
    if folder:
        if top:
            page.locator(top).evaluate("element => element.scrollIntoView()")
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def set_query(page: Page, text: str) -> None:
    """Put a query into the editor (CodeMirror), as pasting would."""
    page.locator(".CodeMirror").evaluate("(element, text) => element.CodeMirror.setValue(text)", text)


def result_rows(page: Page) -> list[str]:
    return page.locator("#results table.results tbody tr").all_inner_texts()


# --- the query editor ---------------------------------------------------------------------------------------


def test_the_editor_runs_a_query_with_the_keyboard_and_shows_rows(page: Page, client: Client) -> None:
    page.goto(client.url + "/?lang=en")
    expect(page.locator(".CodeMirror .cm-keyword").first).to_be_visible()  # syntax highlighting
    expect(page.locator("#asset-notice")).to_be_hidden()  # its browser code loaded
    assert "PREFIX samv: <https://w3id.org/samverkan/ontology#>" in page.locator(".CodeMirror").evaluate(
        "e => e.CodeMirror.getValue()"
    )
    set_query(
        page,
        "PREFIX samv: <https://w3id.org/samverkan/ontology#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "SELECT ?code ?name ?county WHERE {\n  ?m samv:kommunkod ?code ; rdfs:label ?name ; samv:county ?c .\n"
        '  ?c rdfs:label ?county . FILTER(STRSTARTS(?code, "19"))\n} ORDER BY ?code',
    )
    page.locator(".CodeMirror textarea").focus()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#status")).to_contain_text("rows in")
    rows = result_rows(page)
    assert len(rows) == 10  # Västmanlands län has ten municipalities
    assert any("Västerås" in row and "Västmanlands län" in row for row in rows)
    screenshot(page, "editor")

    shared = page.locator("#share-url").input_value()
    assert "query=" in shared and shared == page.url
    again = page.context.new_page()
    again.goto(shared)  # the link holds the query and runs it
    expect(again.locator("#results table.results tbody tr")).to_have_count(10)


def test_the_editor_offers_the_saved_queries_as_examples(page: Page, client: Client) -> None:
    page.goto(client.url + "/?lang=en")
    page.select_option("#examples", "studies")
    assert "SELECT" in page.locator(".CodeMirror").evaluate("e => e.CodeMirror.getValue()")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#status")).to_contain_text("rows in")
    assert any("fiktiv-krisberedskap-2021" in row for row in result_rows(page))


def test_results_download_as_csv_and_json(page: Page, client: Client, tmp_path: Path) -> None:
    page.goto(
        client.url + "/?lang=en&query=" + "SELECT%20%3Fx%20WHERE%20%7B%20VALUES%20%3Fx%20%7B%201%202%203%20%7D%20%7D"
    )
    expect(page.locator("#results table.results tbody tr")).to_have_count(3)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    saved = tmp_path / "results.csv"
    download.value.save_as(saved)
    assert list(csv.reader(saved.open())) == [["x"], ["1"], ["2"], ["3"]]
    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSON").click()
    assert '"vars":["x"]' in Path(download.value.path()).read_text().replace(" ", "")


def test_ten_thousand_rows_render_page_by_page(page: Page, client: Client) -> None:
    digits = "{ 0 1 2 3 4 5 6 7 8 9 }"
    query = (
        f"SELECT ?n WHERE {{ VALUES ?a {digits} VALUES ?b {digits} VALUES ?c {digits} VALUES ?d {digits} "
        "BIND(1000 * ?a + 100 * ?b + 10 * ?c + ?d AS ?n) } ORDER BY ?n"
    )
    page.goto(client.url + "/?lang=en")
    set_query(page, query)
    page.get_by_role("button", name="Run").click()
    caption = page.locator("#results caption")
    expect(caption).to_contain_text(f"rows 1{DASH}100 of 10,000")
    expect(page.locator("#results tbody tr")).to_have_count(100)
    page.get_by_role("button", name="Last").click()
    expect(caption).to_contain_text(f"rows 9,901{DASH}10,000 of 10,000")
    assert page.locator("#results tbody tr").last.inner_text().strip() == "9999"
    page.get_by_label("Rows per page").select_option("1000")
    expect(page.locator("#results tbody tr")).to_have_count(1000)
    page.get_by_role("button", name="Next").press("Enter")  # keyboard paging
    expect(caption).to_contain_text(f"rows 1,001{DASH}2,000")


def test_a_bad_query_is_explained(page: Page, client: Client) -> None:
    page.goto(client.url + "/?lang=en")
    set_query(page, "SELECT ?x WHERE { ?x ?y }")
    page.get_by_role("button", name="Run").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("400")
    expect(alert).to_contain_text("not valid SPARQL")
    expect(alert).to_contain_text("line and column")  # what to do about it
    assert result_rows(page) == []


def test_a_query_that_runs_too_long_is_explained(page: Page, client: Client) -> None:
    # The page sends the query as it is; on its way it gets the protocol's `timeout` parameter (1 s), so the
    # service's own time limit stops it without a server started for this test.
    page.route("**/sparql", lambda route: route.continue_(post_data=route.request.post_data + "&timeout=1"))
    many = "{ " + " ".join(str(i) for i in range(300)) + " }"
    page.goto(client.url + "/?lang=en")
    set_query(page, f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?a {many} VALUES ?b {many} VALUES ?c {many} }}")
    page.get_by_role("button", name="Run").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("422", timeout=30_000)
    expect(alert).to_contain_text("time limit")
    expect(alert).to_contain_text("Narrow the query down")


# --- saved queries, comparison, resources -----------------------------------------------------------------


def test_a_saved_query_runs_with_a_parameter_and_shows_its_chart(page: Page, client: Client) -> None:
    page.goto(client.url + "/queries?lang=en")
    page.get_by_label("Search the queries").fill("sectors")
    visible = page.locator("#query-list > li:visible")
    expect(visible.first).to_be_visible()
    assert all("sector" in text.lower() for text in visible.all_inner_texts())
    page.get_by_role("link", name="Partners' sectors by study").click()
    expect(page.locator("#status")).to_contain_text("rows in")  # no required parameter: it runs at once
    page.get_by_label(
        "Fictional example study: Crisis preparedness and civil society in online focus groups, autumn 2021"
    ).check()
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#api-url")).to_contain_text("study=")
    other_studies = page.locator("#results table.results tbody tr").filter(has_not_text="krisberedskap")
    expect(other_studies).to_have_count(0)  # the new answer has replaced the first one
    rows = result_rows(page)
    assert rows
    chart = page.locator("#chart")
    expect(chart).to_be_visible()
    bars = chart.evaluate("canvas => Chart.getChart(canvas).data.datasets.map(d => d.data.length)")
    assert bars and all(n > 0 for n in bars)
    assert "study=" in page.url  # the page's own link holds the parameters
    screenshot(page, "saved-query", top="#saved-results-heading")

    snippet = page.locator("#python").inner_text()  # the Python snippet, run as shown
    namespace: dict[str, object] = {}
    exec(snippet, namespace)
    assert len(namespace["rows"]) == len(rows)  # type: ignore[arg-type]
    curl = page.locator("#curl").inner_text()
    assert curl.startswith("curl 'http://127.0.0.1:") and "Accept: text/csv" in curl


def test_the_comparison_shows_two_studies_side_by_side(page: Page, client: Client, tmp_path: Path) -> None:
    page.goto(client.url + "/compare?lang=en")
    page.get_by_label(
        "Fictional example study: Municipal leaders on collaboration in focus groups, spring 2011"
    ).check()
    page.get_by_label(
        "Fictional example study: Crisis preparedness and civil society in online focus groups, autumn 2021"
    ).check()
    page.get_by_label("Partner sector").check()
    page.get_by_role("button", name="Compare").click()
    table = page.locator("#compare-table")
    expect(table).to_be_visible()
    assert sorted(table.locator('thead th[scope="colgroup"]').all_inner_texts()) == [
        "Fictional example study: Crisis preparedness and civil society in online focus groups, autumn 2021",
        "Fictional example study: Municipal leaders on collaboration in focus groups, spring 2011",
    ]
    expect(table.locator("tbody tr")).to_have_count(3)  # public, private, civil society
    datasets = page.locator("#compare-chart").evaluate("c => Chart.getChart(c).data.datasets.map(d => d.label)")
    assert len(datasets) == 2
    screenshot(page, "compare", top="#comparison-heading")
    page.get_by_label("Count").check()
    counts = page.locator("#compare-chart").evaluate("c => Chart.getChart(c).data.datasets[0].data")
    assert all(isinstance(n, int) for n in counts)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the table as CSV").click()
    saved = tmp_path / "compare.csv"
    download.value.save_as(saved)
    header = next(csv.reader(saved.open()))
    assert f"{STUDIES[0]} count" in header and f"{STUDIES[1]} share" in header


@pytest.fixture(scope="module")
def released_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """Our service on a store on disk, whose data is a release (made while it runs, as an operator would)."""
    folder = tmp_path_factory.mktemp("released")
    with in_process(folder, store_path=str(folder / "store")) as server:
        made = subprocess.run(
            samverkan("release", "--store", str(folder / "store"), "--note", "browser test"),
            capture_output=True,
            text=True,
        )
        assert made.returncode == 0, made.stderr
        yield server


def test_a_comparison_on_a_release_has_error_bars_and_can_be_cited(page: Page, released_server: Client) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(released_server.url + "/compare?lang=en&dimension=sector&" + "&".join(f"study={s}" for s in STUDIES))
    chart = page.locator("#compare-chart")
    expect(chart).to_be_visible()
    drawn = chart.evaluate(
        """c => { const chart = Chart.getChart(c);
                  return { plugins: chart.config.plugins.map(p => p.id),
                           bars: chart.data.datasets.map(d => d.data.map((v, i) => [d.errorBars[i][0], v,
                                                                                 d.errorBars[i][1]])) }; }"""
    )
    assert "samverkanErrorBars" in drawn["plugins"]
    assert all(low <= value <= high for bars in drawn["bars"] for low, value, high in bars)
    assert "%" in page.locator("#compare-table tbody tr").first.inner_text()
    cite = page.get_by_role("link", name="Cite this")
    expect(cite).to_be_visible()
    page.get_by_role("button", name="Copy BibTeX").click()
    expect(page.locator("#cite-box [role=status]")).to_have_text("BibTeX copied.")
    assert page.evaluate("navigator.clipboard.readText()").startswith(
        "@misc{samverkan-compare-studies-side-by-side-v1-"
    )
    screenshot(page, "compare-cite", top="#comparison-heading")
    cite.click()
    expect(page.locator("#cite-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(page.locator("#cite-bibtex")).to_contain_text("@misc{")


def test_a_saved_query_says_how_to_cite_it_or_to_make_a_release(
    page: Page, released_server: Client, client: Client
) -> None:
    page.goto(released_server.url + "/queries/partner-sectors-by-study?lang=en")
    expect(page.get_by_role("link", name="Cite this")).to_have_attribute("href", re.compile(r"/cite/.*/v1"))
    page.goto(client.url + "/queries/partner-sectors-by-study?lang=en")
    expect(page.locator("#cite-box")).to_contain_text("Make a release to cite this")


def test_a_municipality_page_shows_its_county_and_leads_there(page: Page, client: Client) -> None:
    page.goto(client.url + "/id/kommun/1980?lang=sv")
    expect(page.get_by_role("heading", level=1)).to_have_text("Västerås")
    county = page.get_by_role("row", name="län").get_by_role("link", name="Västmanlands län")
    expect(county).to_be_visible()
    screenshot(page, "resource")
    county.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Västmanlands län")
    expect(page.locator("#incoming ~ table").get_by_role("link", name="Västerås", exact=True)).to_be_visible()


def test_the_ontology_page_has_its_diagram_and_documentation(page: Page, client: Client) -> None:
    page.goto(client.url + "/ontology?lang=en")
    diagram = page.locator(".diagram svg")
    expect(diagram).to_be_visible()
    diagram.get_by_role("link", name="municipality", exact=True).click()
    assert urlsplit(page.url).fragment == "Municipality"
    expect(page.locator("#Municipality")).to_be_in_viewport()
    page.goto(client.url + "/ontology?lang=en#diagram")
    page.locator(".diagram").evaluate("element => { element.scrollLeft = 0; }")
    screenshot(page, "ontology")


def test_the_language_switch_is_remembered(page: Page, client: Client) -> None:
    page.goto(client.url + "/?lang=sv")
    expect(page.get_by_role("link", name="Frågeeditor")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Query editor")
    page.get_by_role("link", name="Compare studies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare studies")
    assert page.locator("html").get_attribute("lang") == "en"


@pytest.mark.parametrize(
    "path", ["/", "/queries/partner-types-by-municipality", "/compare", "/id/kommun/1980", "/ontology"]
)
def test_every_form_field_has_a_label_and_the_content_is_reachable_by_keyboard(
    page: Page, client: Client, path: str
) -> None:
    page.goto(client.url + path)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
             .filter(e => e.type !== 'hidden' && e.getClientRects().length > 0)
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                          && !e.getAttribute('aria-labelledby'))
             .map(e => e.outerHTML)"""
    )
    assert unlabelled == []
    page.keyboard.press("Tab")  # the first stop is the skip link, which moves focus to the content
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


# --- browser code that is missing -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def without_browser_code(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Our app, in a thread, with an empty node_modules: as after `pip install -e .` without `npm ci`."""
    tmp = tmp_path_factory.mktemp("no-node-modules")
    (tmp / "node_modules").mkdir()
    config = Config(
        store_path=str(tmp / "store"), load_shipped_data=False, query_workers=1, browser_assets=tmp / "node_modules"
    )
    server = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_an_editor_without_its_browser_code_says_so_and_still_runs_queries(
    page: Page, without_browser_code: str
) -> None:
    page.goto(without_browser_code + "/?lang=en")
    notice = page.locator("#asset-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("(yasgui.min.css, yasgui.min.js)")  # the style sheet and the script
    expect(notice).to_contain_text("the query editor is a plain text box")
    expect(notice.locator("code")).to_have_text(["scripts/setup", "npm ci", "python -m build"])
    page.get_by_label("SPARQL query").fill("SELECT ?x WHERE { VALUES ?x { 1 2 3 } }")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#status")).to_contain_text("rows in")
    assert len(result_rows(page)) == 3


def test_a_saved_query_without_chart_js_says_so_in_swedish(page: Page, without_browser_code: str) -> None:
    page.goto(without_browser_code + "/queries/forms-by-study?lang=sv")
    notice = page.locator("#asset-notice")
    expect(notice).to_contain_text("(chart.umd.min.js), så inga diagram ritas")
    expect(notice).to_contain_text("Åtgärd: kör scripts/setup")
    expect(page.locator("#status")).to_contain_text("rader")  # the query ran and its table is shown


def test_the_api_page_without_swagger_ui_says_so(page: Page, without_browser_code: str) -> None:
    page.goto(without_browser_code + "/api/docs")
    notice = page.locator("#assets-missing")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("run scripts/setup in the repository (it runs npm ci)")


def test_a_missing_asset_answers_with_the_command_that_fixes_it(without_browser_code: str) -> None:
    for url, status in (("/assets/yasgui.min.js", 404), ("/api/docs/swagger-ui-bundle.js", 503)):
        answer = requests.get(without_browser_code + url, timeout=30)
        assert answer.status_code == status
        message = answer.json()["message"] if status == 503 else answer.text
        assert "is missing" in message or "is not installed" in message
        assert "run scripts/setup in the repository (it runs `npm ci`)" in message
        assert "python -m build" in message
