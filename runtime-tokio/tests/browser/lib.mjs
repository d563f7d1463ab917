// What the browser scripts share: headless Chromium from Debian started
// the way ../../../../shared/PEERS.md says it runs here, the webmail's
// login, and the facts every script prints (one line each, read by
// tests/webmail_browser.rs).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.POSTERN_CHROMIUM || '/usr/bin/chromium';

// Without the background-networking flags Chromium tries to reach the
// internet (and fails); --disable-quic keeps it on plain TCP. Playwright
// gives every launch a fresh --user-data-dir of its own and removes it
// at close.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 60_000 });
}

/** One fact for the test: `label: value`. */
export function fact(label, value) {
  console.log(`${label}: ${value}`);
}

/** A path of the webmail's URL, as the page shows it (`/folder?f=INBOX`). */
export function where(page) {
  const url = new URL(page.url());
  return url.pathname + url.search;
}

/** Logs in from the login page; returns the path the browser lands on. */
export async function logIn(page, base, login, password, computer = 'personal') {
  await page.goto(base + '/');
  await page.getByLabel('Address').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel(computer === 'shared' ? /shared or public/ : /my own/).check();
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForLoadState();
  return where(page);
}

export async function logOut(page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForLoadState();
  return where(page);
}

/** The page's notice (what just happened), or `none`. */
export async function notice(page) {
  const found = page.locator('p.notice.done, p.notice.problem');
  return (await found.count()) > 0 ? (await found.first().innerText()).trim() : 'none';
}

/** True when nothing on the page is wider than the window. */
export async function fitsWidth(page) {
  return page.evaluate(
    () => document.documentElement.scrollWidth <= window.innerWidth,
  );
}

/** Runs `main(args)` and exits 1 with the error on failure. */
export function run(main) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (error) => {
      console.error(error && error.stack ? error.stack : String(error));
      process.exit(1);
    },
  );
}
