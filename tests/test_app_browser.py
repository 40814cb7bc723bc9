"""The what-if page in a real headless browser: Debian's chromium, driven by Selenium.

The test starts ``escalation app`` on a free localhost port, loads the page, moves a control and
checks that the estimate and the figure change, to exactly the figures the engine computes for
the same inputs (same seed, same chunks). Then it plays a few days of the single run.

Selenium drives Debian's chromium through Debian's chromium-driver: the two come from one apt
source at one version, so the driver always speaks the browser's protocol, and nothing is
downloaded at test time (Selenium Manager is bypassed by giving the driver's path).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("solara", reason="the app extra is not installed: pip install -e '.[app]'")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (test extra) is not installed")

from selenium.common.exceptions import (  # noqa: E402
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from sim.app.engine import control_for, controls_for, estimates, interval_text  # noqa: E402
from sim.scenario.loader import load_text, load_variants, load_with_provenance  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KARABAKH = ROOT / "scenarios" / "nagorno_karabakh_2020.yaml"
# The control the test adds and moves: Turkey's escalation rate drives most of the risk.
PATH = "actors.turkey.outside.escalation_rate"   # unset in the scenario: added on the page, from the shared value
RUNS = 8_000
SCREENSHOT = os.environ.get("ESCALATION_APP_SCREENSHOT")  # set to write the README's picture
DOWNLOADS = tempfile.mkdtemp(prefix="escalation-downloads-")
NOT_CLICKABLE = (ElementClickInterceptedException, ElementNotInteractableException, StaleElementReferenceException)
BROWSER = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

if not (os.path.exists(BROWSER) and os.path.exists(DRIVER)):
    pytest.skip("no chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)",
                allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``escalation app`` on a free port, until the tests of this module are done."""
    yield from _serve()


@pytest.fixture(scope="module")
def mesa_server() -> Iterator[str]:
    """``escalation app --mesa``: Mesa's SolaraViz page of one run."""
    yield from _serve("--mesa")


def _serve(*options: str) -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-m", "sim", "app", str(KARABAKH), "--host", "127.0.0.1",
                                    "--port", str(port), "--runs", str(RUNS), *options], cwd=ROOT, stdout=log,
                                   stderr=log)
        try:
            deadline = time.monotonic() + 120
            while not _answers(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"the server did not start:\n{log.read().decode(errors='replace')[-3000:]}")
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    profile = tempfile.mkdtemp(prefix="escalation-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": DOWNLOADS,
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": DOWNLOADS})
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(DOWNLOADS, ignore_errors=True)


def _text(driver, selector: str) -> str:
    """The text of the first element the selector finds ('' while the page redraws it)."""
    try:
        found = driver.find_elements(By.CSS_SELECTOR, selector)
        return found[0].text if found else ""
    except StaleElementReferenceException:
        return ""


def _settled(driver, changed: bool) -> str:
    """P(regional escalation) as the page shows it, once refined to every run (``done``) for the
    scenario as written or (``changed``) for the controls as moved."""
    mark = "paired" if changed else "as written"

    def ready(d) -> bool:
        text = _text(d, ".escalation-estimate")
        return f"{RUNS:,} runs (done" in text and mark in text

    WebDriverWait(driver, 120, poll_frequency=0.2).until(ready)
    return _text(driver, ".escalation-p")


def _click(driver, xpath: str) -> None:
    """Click the first visible, enabled element the XPath finds, as soon as there is one."""
    def attempt(d) -> bool:
        for element in d.find_elements(By.XPATH, xpath):
            if element.is_displayed() and element.is_enabled():
                element.click()
                return True
        return False

    WebDriverWait(driver, 60, poll_frequency=0.2, ignored_exceptions=NOT_CLICKABLE).until(attempt)


def _downloaded(name: str) -> str:
    """The text of a file the browser has finished downloading."""
    path = Path(DOWNLOADS) / name
    WebDriverWait(None, 30, poll_frequency=0.2).until(lambda _: path.exists() and path.stat().st_size > 0)
    return path.read_text(encoding="utf-8")


def _figure(driver) -> str:
    """The outcome figure's image (its data URL), '' while the page redraws it."""
    try:
        found = driver.find_elements(By.CSS_SELECTOR, ".escalation-outcomes-figure img")
        return (found[0].get_attribute("src") or "") if found else ""
    except StaleElementReferenceException:
        return ""


def test_moving_a_control_changes_the_estimate_and_the_figure(server: str, browser) -> None:
    loaded = load_with_provenance(KARABAKH)
    seed = loaded.scenario.seed
    # the page's own control: the declared range when the scenario declares one, else the schema's bounds
    control = next((c for c in controls_for(loaded.scenario) if c.path == PATH), None) or control_for(
        loaded.scenario, PATH)
    *_, as_written = estimates(loaded, {}, seed, target_runs=RUNS)
    *_, moved = estimates(loaded, {PATH: control.high}, seed, target_runs=RUNS)

    browser.get(server)
    before = _settled(browser, changed=False)
    assert before == interval_text(as_written.variant["p_regional_escalation"])
    figure_before = WebDriverWait(browser, 30).until(_figure)

    selector = f".escalation-control-{PATH.replace('.', '-').replace('_', '-')}"
    if not browser.find_elements(By.CSS_SELECTOR, selector):  # not declared: add it on the page
        field = browser.find_element(By.CSS_SELECTOR, ".escalation-add input")
        field.send_keys(PATH, Keys.ENTER)
        browser.find_element(By.CSS_SELECTOR, ".escalation-add-button").click()
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, selector))
    def at_the_top(d) -> bool:
        """Press End on the slider (its keyboard puts it at the top of its range) until the page shows it;
        a key pressed while the page redraws is lost, so it is pressed again."""
        if _text(d, f"{selector} .escalation-control-value") == f"{control.high:g}":
            return True
        sliders = d.find_elements(By.CSS_SELECTOR, f"{selector} [role=slider]")
        if sliders:
            d.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", sliders[0])
            sliders[0].send_keys(Keys.END)
        return False

    WebDriverWait(browser, 90, poll_frequency=1.0, ignored_exceptions=NOT_CLICKABLE).until(at_the_top)

    after = _settled(browser, changed=True)
    assert after == interval_text(moved.variant["p_regional_escalation"])
    assert moved.variant["p_regional_escalation"]["ci_low"] > as_written.variant["p_regional_escalation"]["ci_high"]
    assert after != before
    WebDriverWait(browser, 30).until(lambda d: _figure(d) not in ("", figure_before))
    if SCREENSHOT:
        browser.save_screenshot(SCREENSHOT)

    # the control in the analyst's words: whose it is, what it means, the value as written and the range
    label = _text(browser, selector)
    assert label.startswith("Turkey: daily probability of a climb when a commitment")
    assert f"now {control.high:g}" in label and f"as written {control.baseline:g}" in label
    assert f"range {control.low:g} to {control.high:g}" in label and PATH in label
    assert "This website runs on" not in browser.find_element(By.TAG_NAME, "body").text  # no badge over the axes

    # the variant's results, and the variant as a scenario file that loads as the variant
    _click(browser, "//*[contains(@class, 'escalation-downloads')]//button[contains(., 'results')]")
    results = _downloaded(f"{loaded.scenario.name}_variant_results.csv")
    rows = {(row["quantity"], row["variant"]): row for row in csv.DictReader(io.StringIO(results))}
    shown = rows[("p_regional_escalation", "with your changes")]
    assert float(shown["estimate"]) == moved.variant["p_regional_escalation"]["estimate"]
    assert int(shown["runs"]) == RUNS and shown["changes"] == f"{PATH}={control.high!r}"
    _click(browser, "//*[contains(@class, 'escalation-downloads')]//button[contains(., 'scenario')]")
    saved = _downloaded(f"{loaded.scenario.name}_variant.yaml")
    [variant] = load_variants(loaded, [[f"{PATH}={control.high!r}"]])
    assert load_text(saved, "variant.yaml").scenario.model_dump() == variant.model_dump()

    _click(browser, "//*[@role='tab' and contains(., 'Compare')]")
    WebDriverWait(browser, 30).until(lambda d: PATH in _text(d, ".escalation-compare"))
    assert f"{moved.difference['estimate'] * 100:+.1f}" in _text(browser, ".escalation-estimate")


def test_the_single_run_plays_day_by_day(server: str, browser) -> None:
    browser.get(server)
    _settled(browser, changed=False)  # the estimate no longer redraws the page under the clicks
    _click(browser, "//*[@role='tab' and contains(., 'Single run')]")
    WebDriverWait(browser, 30).until(lambda d: _text(d, ".escalation-day").startswith("Day 0 of 60"))
    for day in (1, 2, 3):
        _click(browser, "//button[contains(., 'Step')]")
        WebDriverWait(browser, 30).until(lambda d, day=day: _text(d, ".escalation-day").startswith(f"Day {day} of 60"))
    _click(browser, "//button[contains(., 'Play')]")
    WebDriverWait(browser, 120).until(lambda d: "the run ended with" in _text(d, ".escalation-day"))
    assert "fighting" not in _text(browser, ".escalation-day")  # never 'fighting' and 'ended' on one line


def test_mesas_solaraviz_page_steps_one_run(mesa_server: str, browser) -> None:
    browser.get(mesa_server)
    body = lambda d: d.find_element(By.TAG_NAME, "body").text  # noqa: E731
    WebDriverWait(browser, 60).until(lambda d: "Day 0 of 60" in body(d))
    assert "One run: Nagorno-Karabakh war, 2020" in body(browser)
    WebDriverWait(browser, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "img")) >= 4)  # Mesa's plots
    for day in (1, 2):
        _click(browser, "//button[contains(., 'Step')]")
        WebDriverWait(browser, 30).until(lambda d, day=day: f"Day {day} of 60" in body(d))
    assert "Step: 2" in body(browser) or "Time: 2" in body(browser)  # Mesa's step counter (3.3; 3.5 says Time)


def test_the_posterior_box_gives_the_estimate_a_calibration_interval(server: str, browser) -> None:
    """Ticking the box draws the shared dynamics from the shipped posterior (every fourth draw): the headline is
    then the pooled
    posterior predictive the engine computes, with the draws' interval under it."""
    from sim.app.engine import calibration_text, page_posterior

    loaded = load_with_provenance(KARABAKH)
    *_, expected = estimates(loaded, {}, loaded.scenario.seed, target_runs=RUNS, dynamics=page_posterior())
    browser.get(server)
    _settled(browser, changed=False)
    _click(browser, "//*[contains(@class, 'escalation-posterior')]//label")

    def calibrated(d) -> bool:
        return (f"{expected.runs:,} runs (done" in _text(d, ".escalation-estimate")
                and _text(d, ".escalation-calibration").startswith("calibration: "))

    WebDriverWait(browser, 180, poll_frequency=0.5).until(calibrated)
    assert _text(browser, ".escalation-p") == interval_text(expected.variant["p_regional_escalation"])
    assert _text(browser, ".escalation-calibration") == calibration_text(expected)
