// The session cookie as the browser keeps it: logs in on BASE (a
// personal computer, then a shared one, each in a fresh context) and
// prints the cookie's attributes as Chromium stored them, and what a
// page's script could read of it (`document.cookie`).
//
// usage: node cookies.mjs BASE LOGIN PASSWORD
// BASE may be https:// with a certificate the browser does not know.
// Prints one `label: value` line per fact (tests/webmail_browser.rs).
import { launch, logIn, fact, run } from './lib.mjs';

run(async ([base, login, password]) => {
  const browser = await launch();
  try {
    for (const computer of ['personal', 'shared']) {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      fact(`${computer} login`, await logIn(page, base, login, password, computer));
      for (const cookie of await context.cookies()) {
        const days = cookie.expires < 0
          ? 'session'
          : `${Math.round((cookie.expires - Date.now() / 1000) / 86400)} days`;
        fact(
          `${computer} cookie ${cookie.name}`,
          `httpOnly=${cookie.httpOnly} secure=${cookie.secure} sameSite=${cookie.sameSite} path=${cookie.path} expires=${days}`,
        );
      }
      fact(`${computer} document.cookie`, JSON.stringify(await page.evaluate(() => document.cookie)));
      await context.close();
    }
  } finally {
    await browser.close();
  }
});
