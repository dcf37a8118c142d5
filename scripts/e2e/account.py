"""The self-service pages in Chromium behind a real proxy: an invitation link, the recovery codes it
shows, a login with a recovery code, the account page (a second device, an app password, ending
another session), each page checked by axe-core (light and dark) and, when asked, photographed.

Called by run.py for the first proxy; uses its helpers.
"""
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.parse

from run import APP, PORTAL, Failure, curl, echo, expect, log_in, on_login_page, session_cookie, totp, wait_until

SCHEMES = ("light", "dark")
SIZES = ((1280, 800, False), (360, 740, True))


def by():
    from selenium.webdriver.common.by import By
    return By


def set_scheme(driver, scheme):
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})


def check_page(driver, name, shots):
    """axe-core on the page as it is, in light and dark: no violation of impact serious or critical.
    With `shots`, also saves the page light and dark, 1280 and 360 wide."""
    from selenium_axe_python import Axe
    axe = Axe(driver)
    for scheme in SCHEMES:
        set_scheme(driver, scheme)
        axe.inject()
        results = axe.run()
        expect(results.get("passes"), f"axe-core ran on the {name} page", "rules that passed", results.get("passes"))
        if os.environ.get("PORTCULLIS_E2E_AXE_VERBOSE"):
            print(f"\n  axe {name} ({scheme}): {len(results['passes'])} rules passed; "
                  f"{[(violation['id'], violation['impact']) for violation in results['violations']]}", end="")
        serious = [violation for violation in results["violations"] if violation.get("impact") in ("serious", "critical")]
        expect(not serious, f"axe-core on the {name} page ({scheme})", "no serious or critical violations", Axe.report(serious))
        check_page.checked += 1
    if shots:
        for scheme in SCHEMES:
            set_scheme(driver, scheme)
            for width, height, mobile in SIZES:
                # The whole page, however long: as tall as its content, at least the screen's height.
                metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
                time.sleep(0.2)
                metrics["height"] = min(4000, max(height, driver.execute_script("return document.documentElement.scrollHeight")))
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
                time.sleep(0.2)
                driver.save_screenshot(os.path.join(shots, f"{name}-{width}-{scheme}.png"))
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


check_page.checked = 0


def fill(driver, element_id, text):
    field = driver.find_element(by().ID, element_id)
    field.clear()
    field.send_keys(text)


def submit(driver, selector="button[type=submit]"):
    driver.find_element(by().CSS_SELECTOR, selector).click()


def shown_secret(driver):
    return driver.find_element(by().CSS_SELECTOR, ".secret").text.replace(" ", "")


def log_out(driver, shots=None, check=False):
    driver.get(PORTAL + "/logout")
    wait_until(driver, lambda: driver.find_elements(by().CSS_SELECTOR, "button[type=submit]"), "the logout page has no button")
    if check:
        check_page(driver, "logout", shots)
    submit(driver)
    wait_until(driver, lambda: "Logged out" in driver.page_source, "logging out did not confirm")


def curl_login(jar, user, password, code):
    """A login through the proxy with curl, keeping the cookies in `jar`; returns the HTTP status."""
    page = curl("-c", jar, "-b", jar, PORTAL + "/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    expect(token is not None, "curl gets the login form", "a csrf field", page[:300])
    return curl("-c", jar, "-b", jar, "-o", "/dev/null", "-w", "%{http_code}", "--data-urlencode", f"csrf={token.group(1)}",
                "--data-urlencode", f"username={user}", "--data-urlencode", f"password={password}", "--data-urlencode", f"code={code}", PORTAL + "/login")


def run_account_flows(stack, proxy, driver, shots=None):
    B = by()
    user, password = f"carol-{proxy}", "carol's long pass phrase"
    driver.delete_all_cookies()

    # 1. An invitation: the page of the link, filled in as a person would; the codes are shown once.
    invited = json.loads(stack.portcullis("user", "invite", user, "--groups", "admins,dev", "--display-name", "Carol Example", "--json"))
    expect(invited["url"].startswith(PORTAL + "/enroll?token="), "the invitation link points at the portal", PORTAL + "/enroll?token=…", invited["url"])
    driver.get(invited["url"])
    wait_until(driver, lambda: driver.find_elements(B.CSS_SELECTOR, ".secret"), "the invitation page shows no key")
    check_page(driver, "enroll", shots)
    phone = shown_secret(driver)
    fill(driver, "password", password)
    fill(driver, "password2", password)
    fill(driver, "label", "Phone")
    started = time.time()
    fill(driver, "code", totp(phone, started))
    submit(driver)
    wait_until(driver, lambda: "Your recovery codes" in driver.page_source, "finishing the invitation did not show the recovery codes")
    codes = [item.text for item in driver.find_elements(B.CSS_SELECTOR, ".codes li")]
    expect(len(codes) == 10 and all(re.fullmatch(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}", code) for code in codes),
           "ten recovery codes are shown", "10 codes like 7KQF-M2XD-6RTA", codes)
    check_page(driver, "recovery-codes", shots)
    driver.get(APP + "/reports/q3")
    wait_until(driver, lambda: echo(driver) is not None, "after the invitation the app asked for a login")
    expect(echo(driver)["Remote-User"] == user, "the invited person is logged in", user, echo(driver))
    driver.get(invited["url"])
    wait_until(driver, lambda: "This link cannot be used" in driver.page_source, "the used link was shown again")
    check_page(driver, "link-unusable", shots)
    driver.get(PORTAL + "/")
    wait_until(driver, lambda: "Your account" in driver.page_source, "the portal's home does not link to the account page")
    check_page(driver, "home", shots)
    driver.get(APP + "/staff/payroll")
    wait_until(driver, lambda: "No access" in driver.page_source, "a denied group did not see the 403 page")
    check_page(driver, "denied", None)

    # 2. Log out, then log in with a recovery code: the page after says how many are left.
    log_out(driver, shots, check=True)
    check_page(driver, "logged-out", shots)
    driver.get(APP + "/reports/q3")
    wait_until(driver, lambda: on_login_page(driver), "after logout the app was reachable")
    log_in(driver, user, password, codes[0].lower().replace("-", ""))
    wait_until(driver, lambda: "/recovered" in driver.current_url, "a recovery code did not log in")
    expect("You have 9 recovery codes left." in driver.page_source, "the page counts the codes left", "9 left", driver.page_source[:800])
    check_page(driver, "recovered", shots)

    # 3. The account page (fresh from a login with a code): add a second device, make an app password.
    driver.get(PORTAL + "/account")
    wait_until(driver, lambda: "Your account" in driver.page_source, "the account page did not open")
    check_page(driver, "account", shots)
    # At 360 pixels wide nothing needs scrolling sideways (long cells wrap, tables scroll in their own box).
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": True})
    time.sleep(0.2)
    width = driver.execute_script("return document.documentElement.scrollWidth")
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    expect(width <= 360, "the account page fits 360 pixels", "scrollWidth ≤ 360", width)
    driver.find_element(B.LINK_TEXT, "Add a device").click()
    wait_until(driver, lambda: driver.find_elements(B.CSS_SELECTOR, ".secret"), "the add-a-device page shows no key")
    check_page(driver, "add-device", shots)
    tablet = shown_secret(driver)
    fill(driver, "label", "Tablet")
    fill(driver, "code", totp(tablet, started))
    submit(driver)
    wait_until(driver, lambda: "done=device_added" in driver.current_url, "adding the device did not come back to the account page")
    expect("<td>Tablet</td>" in driver.page_source, "the account page lists the new device", "Tablet", driver.page_source[:1500])
    fill(driver, "app-label", "calendar")
    submit(driver, "form[action='/account/app-passwords'] button")
    wait_until(driver, lambda: "App password" in driver.page_source, "creating an app password showed nothing")
    check_page(driver, "app-password", shots)

    # 4. Another session (curl, with a recovery code) ended from the account page: its cookie is refused.
    jar = os.path.join(tempfile.mkdtemp(prefix="portcullis-e2e-jar-"), "jar")
    expect(curl_login(jar, user, password, codes[1]) in ("302", "303"), "curl logs in with a recovery code", "302/303", "")
    status = curl("-b", jar, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Accept: application/json", APP + "/reports/q3")
    expect(status == "200", "curl's session opens the app", "200", status)
    driver.get(PORTAL + "/account")
    ends = driver.find_elements(B.CSS_SELECTOR, "form[action='/account/sessions/end'] button")
    expect(len(ends) == 1, "the account page offers to end the other session (and marks this one)", "1 End button", len(ends))
    ends[0].click()
    wait_until(driver, lambda: "The session was ended." in driver.page_source, "ending the other session did not confirm")
    status = curl("-b", jar, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Accept: application/json", APP + "/reports/q3")
    expect(status == "401", "the ended session's cookie is refused", "401", status)

    # 5. Log out; log in with the first device, then with the one added on the account page (the
    # codes of the next time step: both devices used this one to confirm).
    for secret in (phone, tablet):
        log_out(driver)
        driver.get(APP + "/reports/q3")
        wait_until(driver, lambda: on_login_page(driver), "after logout the app was reachable")
        log_in(driver, user, password, totp(secret, started + 30))
        wait_until(driver, lambda: echo(driver) is not None, "a code of a device set up on a page did not log in")
        expect(echo(driver)["Remote-User"] == user, "the device logs the person in", user, echo(driver))

    # 6. A session of the password alone (a one-factor app) sees the account page asking for a code.
    driver.delete_all_cookies()
    driver.get(APP + "/wiki/start")
    wait_until(driver, lambda: on_login_page(driver), "the one-factor app did not lead to the login page")
    fill(driver, "username", user)
    fill(driver, "password", password)
    submit(driver)
    wait_until(driver, lambda: echo(driver) is not None, "the password alone did not open the one-factor app")
    driver.get(PORTAL + "/login?rd=" + urllib.parse.quote(APP + "/reports/q3", safe=""))
    wait_until(driver, lambda: driver.find_elements(B.ID, "code") and not driver.find_elements(B.ID, "password"), "no step-up page")
    check_page(driver, "step-up", None)
    driver.get(PORTAL + "/account")
    wait_until(driver, lambda: driver.find_elements(B.ID, "confirm-code"), "a password-only session was not asked for a code")
    expect(not driver.find_elements(B.CSS_SELECTOR, "form[action='/account/password']"), "no change form before the code", "none", "a form")
    check_page(driver, "account-confirm", shots)

    # 7. With the keyboard alone: Tab to the code field, type, Enter; the change forms appear.
    from selenium.webdriver.common.keys import Keys
    driver.find_element(B.TAG_NAME, "body").click()
    for _ in range(12):
        if driver.switch_to.active_element.get_attribute("id") == "confirm-code":
            break
        driver.switch_to.active_element.send_keys(Keys.TAB)
    expect(driver.switch_to.active_element.get_attribute("id") == "confirm-code", "Tab reaches the code field", "#confirm-code focused",
           driver.switch_to.active_element.get_attribute("outerHTML")[:200])
    # A recovery code: both devices used the current time steps already.
    driver.switch_to.active_element.send_keys(codes[2] + Keys.ENTER)
    wait_until(driver, lambda: "done=confirmed" in driver.current_url, "the code typed with the keyboard did not confirm")
    expect("recovery code, which is now used up" in driver.page_source, "the page says the recovery code is used up", "confirmed_recovery", driver.current_url)
    expect(driver.find_elements(B.CSS_SELECTOR, "form[action='/account/password']"), "after the code the change forms appear", "the password form", "none")

    # 8. The login page itself.
    driver.delete_all_cookies()
    driver.get(PORTAL + "/login")
    check_page(driver, "login", None)
    return check_page.checked
