"""The review desk end to end in a real headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium), served by ``monitor run``'s own HTTP endpoint on loopback: sign in, move,
drop, pin, edit, add by URL, preview, send; the email received by a real SMTP server shows every
change; a request without the CSRF token and one without a session are refused.

Screenshots at desktop (1366 px) and phone (390 px) widths are written to tmp_path, or to
``$DESK_SCREENSHOTS`` (``DESK_SCREENSHOTS=docs pytest tests/test_desk_browser.py`` makes the
ones in docs/).
"""

from __future__ import annotations

import os
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from monitor.service import Service
from tests.deskdata import ARTICLE, EDITOR, TOKEN, WEEK, Seeded, desk_app, sections_of, seed
from tests.mailserver import MailServer, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(
            f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        )
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1366,900",
        "--lang=zh-CN",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=DriverService(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def served(tmp_path: Path, mailserver: MailServer) -> Iterator[tuple[Any, Seeded, str]]:
    """``monitor run``'s HTTP endpoint (the service paused: no polls, no scheduled digest)."""
    port = free_port()
    app = desk_app(
        tmp_path,
        f"sqlite:///{tmp_path / 'desk.db'}",
        mailserver.port,
        http_port=port,
        http_host="127.0.0.1",
    )
    seeded = seed(app)
    service = Service(app)
    service.start(paused=True)
    try:
        yield app, seeded, f"http://127.0.0.1:{port}"
    finally:
        service.stop()
        app.close()


def entry(driver: Any, item: int) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, f"item-{item}")


def submit(driver: Any, item: int, form_class: str, section: str | None = None) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    def button() -> Any:
        form = entry(driver, item).find_element(By.CSS_SELECTOR, f"form.{form_class}")
        if section:
            Select(form.find_element(By.NAME, "section")).select_by_value(section)
        return form.find_element(By.CSS_SELECTOR, "button[type=submit]")

    click_and_wait(driver, button)


def click_and_wait(
    driver: Any, find: Callable[[], Any], *, double: bool = False, done: bool = True
) -> None:
    """Find a button and click (or double-click) it, then wait for the next page (the old one
    gone), and with ``done`` for it to say the action is done. A click that fails before the
    page changed (it was still settling) is tried again."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 30)
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    old = driver.find_element(By.TAG_NAME, "html")
    for attempt in range(3):
        try:
            button = find()
            if double:
                ActionChains(driver).double_click(button).perform()
            else:
                button.click()
            break
        except WebDriverException:
            if attempt == 2 or gone(old):
                raise
            time.sleep(0.5)
    wait.until(lambda _: gone(old))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    if done:
        wait.until(expected_conditions.presence_of_element_located((By.ID, "done")))


def gone(element: Any) -> bool:
    """Whether the page holding ``element`` was replaced (chromedriver reports it as a stale
    element, or as a node that no longer belongs to the document)."""
    from selenium.common.exceptions import WebDriverException

    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def section_of(driver: Any, item: int) -> str | None:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, f"article#item-{item}")
    return found[0].get_attribute("data-section") if found else None


def submit_without_csrf(driver: Any, item: int) -> None:
    """Take the CSRF token out of an entry's drop form, then submit it as the editor would."""
    from selenium.webdriver.common.by import By

    form = entry(driver, item).find_element(By.CSS_SELECTOR, "form.drop")
    driver.execute_script("arguments[0].querySelector('input[name=csrf]').remove()", form)
    click_and_wait(
        driver, lambda: form.find_element(By.CSS_SELECTOR, "button[type=submit]"), done=False
    )


def png_width(path: Path) -> int:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int(struct.unpack(">I", header[16:20])[0])


def screenshot(driver: Any, path: Path, width: int, height: int, mobile: bool) -> None:
    """The whole page at ``width`` CSS pixels (device pixel ratio 1)."""
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.refresh()
    driver.execute_script("window.scrollTo(0, 0)")
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False}
    )
    import base64

    path.write_bytes(base64.b64decode(shot["data"]))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_desk_in_a_real_browser_end_to_end(
    browser: Any,
    served: tuple[Any, Seeded, str],
    mailserver: MailServer,
    site: HTTPServer,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    app, seeded, base = served
    site.expect_request("/articles/battery").respond_with_data(ARTICLE, content_type="text/html")
    driver = browser

    # no session: the desk sends the browser to the sign-in form, and refuses a POST
    driver.get(f"{base}/review?week={WEEK}&profile=cas")
    assert driver.current_url.endswith("/review/login")
    request = urllib.request.Request(
        f"{base}/review/action", data=f"action=drop&item={seeded.funding}".encode(), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403

    # sign in
    driver.find_element(By.ID, "token").send_keys(TOKEN)
    click_and_wait(driver, lambda: driver.find_element(By.ID, "sign-in"), done=False)
    assert driver.current_url == f"{base}/review"
    driver.get(f"{base}/review?week={WEEK}&profile=cas")
    assert "审阅台" in driver.title or WEEK in driver.title
    assert "NSF awards $30M" in driver.page_source
    hostile = entry(driver, seeded.hostile).find_element(By.CSS_SELECTOR, ".original a").text
    assert hostile.startswith("<script>alert(")  # shown as text, never run
    cookie = driver.get_cookie("monitor_desk")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    # a POST from the page with the session cookie but without the CSRF token is refused
    submit_without_csrf(driver, seeded.funding)
    assert "invalid form token" in driver.page_source
    driver.get(f"{base}/review?week={WEEK}&profile=cas")
    assert section_of(driver, seeded.funding) == "funding"  # not dropped

    # move, drop, pin, edit
    submit(driver, seeded.research, "move", "strategy")
    assert section_of(driver, seeded.research) == "strategy"
    submit(driver, seeded.industry, "drop")
    assert section_of(driver, seeded.industry) is None
    submit(driver, seeded.funding, "pin")
    assert section_of(driver, seeded.funding) == "feature"
    edit = entry(driver, seeded.hostile).find_element(By.CSS_SELECTOR, "details.edit")
    edit.find_element(By.TAG_NAME, "summary").click()
    headline = edit.find_element(By.NAME, "headline")
    headline.clear()
    headline.send_keys("英国石墨烯膜实现规模化生产")
    lead = edit.find_element(By.NAME, "lead")
    lead.clear()
    lead.send_keys("4月29日，英国研究与创新署（UKRI）宣布石墨烯膜实现规模化生产。")
    click_and_wait(driver, lambda: edit.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "英国石墨烯膜实现规模化生产" in entry(driver, seeded.hostile).text

    # add a missed item by URL
    driver.find_element(By.ID, "add-url").send_keys(site.url_for("/articles/battery"))
    click_and_wait(driver, lambda: driver.find_element(By.ID, "add-button"))
    assert "DOE funds a solid-state battery pilot line" in driver.page_source

    # the page after the changes, at desktop and phone widths
    driver.get(f"{base}/review?week={WEEK}&profile=cas")
    screenshots = Path(os.environ.get("DESK_SCREENSHOTS") or tmp_path)
    screenshots.mkdir(parents=True, exist_ok=True)
    screenshot(driver, screenshots / "desk-desktop.png", 1366, 1400, mobile=False)
    screenshot(driver, screenshots / "desk-phone.png", 390, 1600, mobile=True)
    assert png_width(screenshots / "desk-desktop.png") == 1366
    assert png_width(screenshots / "desk-phone.png") == 390

    # preview, then send now (twice: one email)
    click_and_wait(driver, lambda: driver.find_element(By.ID, "preview-link"), done=False)
    subject = driver.find_element(By.ID, "subject").text
    assert WEEK in subject
    frame = driver.find_element(By.CSS_SELECTOR, "iframe.email")
    driver.switch_to.frame(frame)
    assert "英国石墨烯膜实现规模化生产" in driver.page_source
    driver.switch_to.default_content()
    click_and_wait(driver, lambda: driver.find_element(By.ID, "send-now"), double=True)
    assert driver.find_elements(By.ID, "send-now") == []  # no second button
    driver.back()  # the editor goes back to the preview: it is sent, nothing to click
    driver.refresh()
    assert driver.find_elements(By.ID, "send-now") == [] and "已发送" in driver.page_source
    (received,) = mailserver.wait_for(1)
    assert received.rcpt_tos == [EDITOR] and str(received.message["Subject"]) == subject
    body = received.message.get_body(preferencelist=("plain",))
    assert body is not None
    text = str(body.get_content())
    assert "Chipmaker opens a new wafer fab" not in text  # dropped
    assert "英国石墨烯膜实现规模化生产" in text and "规模化生产。" in text  # edited
    assert "DOE funds a solid-state battery pilot line" in text  # added
    sections = sections_of(text)
    assert "NSF awards $30M" in sections["专题"]  # pinned
    assert "MIT team prints" in sections["战略规划"]  # moved
    assert len(mailserver.received) == 1
    corrections = app.store.corrections()  # every action is feedback the classifier learns
    assert corrections[seeded.industry].relevant is False
    assert corrections[seeded.funding].section == "feature"
