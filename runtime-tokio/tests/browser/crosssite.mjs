// Forms posted to the webmail from a page of another site, in headless
// Chromium. The reader is logged in; pages on ATTACKER (another address,
// so another site) submit themselves at once to the webmail's
// /message/delete and /logout, carrying the reader's real form token (as
// if it had leaked). Neither may happen. Then the same forms are sent from
// the webmail's own page, and both must happen: the attack failed for
// coming from elsewhere, not for being malformed.
//
// usage: node crosssite.mjs BASE LOGIN PASSWORD SUBJECT ATTACKER ATTACKER_DIR
// ATTACKER_DIR is the directory ATTACKER serves; the pages are written
// there. Prints one `label: value` line per fact (tests/webmail_browser.rs).
import fs from 'node:fs';
import path from 'node:path';
import { launch, logIn, fact, where, run } from './lib.mjs';

function autoSubmitting(action, fields) {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`)
    .join('');
  return `<!doctype html><title>You won a prize</title>
<form method="post" action="${action}">${inputs}</form>
<script>document.forms[0].submit()</script>`;
}

/** Opens `url` on ATTACKER and waits until its form has landed on BASE. */
async function visit(page, base, url) {
  const landed = page.waitForResponse((response) => response.url().startsWith(base)
    && response.request().method() === 'POST');
  await page.goto(url);
  const response = await landed;
  await page.waitForLoadState();
  return `${response.status()} ${where(page)}`;
}

run(async ([base, login, password, subject, attacker, dir]) => {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    fact('login', await logIn(page, base, login, password));
    const token = await page.locator('input[name=token]').first().inputValue();
    const href = await page.getByRole('link', { name: subject }).getAttribute('href');
    const uid = new URL(href, base).searchParams.get('uid');
    const deleting = { token, f: 'INBOX', uid };
    fs.writeFileSync(path.join(dir, 'delete.html'), autoSubmitting(`${base}/message/delete`, deleting));
    fs.writeFileSync(path.join(dir, 'logout.html'), autoSubmitting(`${base}/logout`, { token }));

    fact('attack delete', await visit(page, base, `${attacker}/delete.html`));
    await page.goto(`${base}/folder?f=INBOX`);
    fact('after attack delete', where(page));
    fact('inbox still lists', await page.getByRole('link', { name: subject }).count());

    fact('attack logout', await visit(page, base, `${attacker}/logout.html`));
    await page.goto(`${base}/folder?f=INBOX`);
    fact('after attack logout', where(page));

    // The same two forms from the webmail's own page.
    const post = (action, fields) => page.evaluate(([action, fields]) => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = action;
      for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    }, [action, fields]);
    await Promise.all([page.waitForNavigation(), post('/message/delete', deleting)]);
    fact('own delete', where(page));
    fact('inbox lists after own delete', await page.getByRole('link', { name: subject }).count());
    await Promise.all([page.waitForNavigation(), post('/logout', { token })]);
    fact('own logout', where(page));
    await page.goto(`${base}/folder?f=INBOX`);
    fact('after own logout', where(page));
  } finally {
    await browser.close();
  }
});
