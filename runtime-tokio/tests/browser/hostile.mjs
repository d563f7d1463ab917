// A hostile HTML message opened in headless Chromium: every request the
// page makes is recorded, every dialog, console line and page error is
// printed, and `window.pwned` (which each of the message's scripts would
// set) is read. With `images`, the reader then asks for the remote
// images, and the tracker's image is expected to load.
//
// usage: node hostile.mjs BASE LOGIN PASSWORD SUBJECT inert|images
// Prints one `label: value` line per fact (tests/webmail_browser.rs).
import { launch, logIn, fact, where, run } from './lib.mjs';

run(async ([base, login, password, subject, mode]) => {
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const origin = new URL(base).origin;
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin !== origin) {
        fact('request elsewhere', request.url());
      } else {
        fact('request', url.pathname + url.search);
      }
    });
    page.on('dialog', (dialog) => {
      fact('dialog', dialog.message());
      dialog.dismiss();
    });
    page.on('console', (message) => fact('console', message.text()));
    page.on('pageerror', (error) => fact('page error', error.message));
    // A new window (a link with target=_blank) is a page of its own.
    page.context().on('page', (other) => fact('new window', other.url()));

    fact('login', await logIn(page, base, login, password));
    await page.getByRole('link', { name: subject }).click();
    await page.waitForLoadState('networkidle');
    fact('opened', where(page));
    fact('text shows', await page.getByText('Dear Alice').isVisible());
    fact('images notice', await page.getByText('Remote images are hidden').isVisible());

    // What a reader might click: the link that was javascript:, and the
    // styled paragraph (it had an onclick).
    await page.getByText('click me').click();
    await page.getByText('styled text').click();
    await page.waitForTimeout(300);
    fact('after clicks', where(page));

    if (mode === 'images') {
      const image = page.waitForResponse((response) => response.url().endsWith('/pixel.gif'));
      await page.getByRole('link', { name: 'Show images' }).click();
      fact('image status', (await image).status());
      await page.waitForLoadState('networkidle');
      fact('images shown', where(page));
      fact('image loaded', await page.locator('div.html img').first().evaluate(
        (img) => img.complete && img.naturalWidth > 0,
      ));
    }
    fact('pwned', await page.evaluate(() => String(window.pwned)));
  } finally {
    await browser.close();
  }
});
