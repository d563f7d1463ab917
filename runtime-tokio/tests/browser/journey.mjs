// A reader's day in the webmail, in headless Chromium: log in, read a
// message delivered over SMTP, reply to it with an attachment, find the
// reply in Sent, delete another message and find it in Trash, change the
// password, log out, fail with the old password, log in with the new one,
// look at every page at phone width, log out. Screenshots of the inbox
// and of a message (desktop) and of the inbox (phone) go to SHOTS.
//
// usage: node journey.mjs BASE LOGIN PASSWORD NEW_PASSWORD SUBJECT
//        DELETE_SUBJECT ATTACHMENT SHOTS DRAFT_TO
// Prints one `label: value` line per fact (tests/webmail_browser.rs).
import path from 'node:path';
import { launch, logIn, logOut, fact, where, notice, fitsWidth, run } from './lib.mjs';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

run(async ([base, login, password, newPassword, subject, deleteSubject, attachment, shots, draftTo]) => {
  const browser = await launch();
  try {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    page.on('dialog', (dialog) => {
      fact('dialog', dialog.message());
      dialog.dismiss();
    });
    page.on('console', (message) => fact('console', message.text()));
    page.on('pageerror', (error) => fact('page error', error.message));

    fact('login', await logIn(page, base, login, password));
    fact('inbox lists the message', await page.getByRole('link', { name: subject }).isVisible());
    fact('unread', await page.locator('nav.folders li.current .count').innerText());
    fact('attachment marks', await page.locator('table.messages .clip').count());
    const dates = await page.locator('table.messages td.date').allInnerTexts();
    fact('dates shown', `${dates.filter((date) => date.trim() !== '').length} of ${dates.length}`);
    await page.screenshot({ path: path.join(shots, 'webmail-inbox.png') });

    // Reading.
    await page.getByRole('link', { name: subject }).click();
    await page.waitForLoadState();
    fact('message heading', await page.locator('h1').innerText());
    fact('message text', (await page.locator('div.body').innerText()).split('\n')[0]);
    fact('unread while reading', await page.locator('nav.folders li.current .count').innerText());
    fact('message date shown', /\d{4} \d\d:\d\d/.test(await page.locator('dl.fields').innerText()));
    await page.screenshot({ path: path.join(shots, 'webmail-message.png') });

    // Replying, with a file set on the file input.
    await page.getByRole('link', { name: 'Reply', exact: true }).click();
    await page.waitForLoadState();
    fact('reply to', await page.getByLabel('To', { exact: true }).inputValue());
    fact('reply subject', await page.getByLabel('Subject', { exact: true }).inputValue());
    const body = page.locator('textarea[name=body]');
    await body.fill('Friday suits me. The minutes are attached.\n\n' + (await body.inputValue()));
    await page.locator('input[type=file][name=attachment]').setInputFiles(attachment);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForLoadState();
    fact('after send', where(page));
    fact('send notice', await notice(page));

    await page.getByRole('link', { name: /^Sent/ }).click();
    await page.waitForLoadState();
    fact('sent lists', await page.locator('table.messages tbody').innerText());

    // A draft: saved, found in Drafts, written on, sent.
    await page.getByRole('link', { name: 'Write' }).click();
    await page.getByLabel('To', { exact: true }).fill(draftTo);
    await page.getByLabel('Subject', { exact: true }).fill('Notes for Friday');
    await page.locator('textarea[name=body]').fill('First thoughts.');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.waitForLoadState();
    fact('after draft', where(page));
    fact('draft notice', await notice(page));
    await page.getByRole('link', { name: 'Notes for Friday' }).click();
    await page.getByRole('link', { name: 'Edit draft' }).click();
    await page.waitForLoadState();
    fact('draft to', await page.getByLabel('To', { exact: true }).inputValue());
    fact('draft subject', await page.getByLabel('Subject', { exact: true }).inputValue());
    const draft = page.locator('textarea[name=body]');
    await draft.fill((await draft.inputValue()).trimEnd() + '\nSecond thoughts.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForLoadState();
    fact('draft sent', where(page));
    await page.getByRole('link', { name: /^Drafts/ }).click();
    await page.waitForLoadState();
    fact('drafts left', await page.locator('table.messages tbody tr').count());

    // Deleting: the message goes to Trash.
    await page.getByRole('link', { name: /^INBOX/ }).click();
    await page.getByRole('link', { name: deleteSubject }).click();
    await page.waitForLoadState();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.waitForLoadState();
    fact('after delete', where(page));
    fact('delete notice', await notice(page));
    fact('inbox still lists deleted', await page.getByRole('link', { name: deleteSubject }).count());
    await page.getByRole('link', { name: /^Trash/ }).click();
    await page.waitForLoadState();
    fact('trash lists deleted', await page.getByRole('link', { name: deleteSubject }).count());

    // The password.
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Current password').fill(password);
    await page.getByLabel('New password (at least').fill(newPassword);
    await page.getByLabel('New password again').fill(newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForLoadState();
    fact('password notice', await notice(page));
    fact('logout', await logOut(page));
    fact('inbox after logout', await page.goto(base + '/folder?f=INBOX').then(() => where(page)));
    fact('old password', await logIn(page, base, login, password));
    fact('old password notice', await notice(page));
    fact('new password', await logIn(page, base, login, newPassword));

    // Phone width: nothing wider than the window, on every page.
    await page.setViewportSize(PHONE);
    for (const [name, url] of [
      ['inbox', '/folder?f=INBOX'],
      ['trash', '/folder?f=Trash'],
      ['compose', '/compose'],
      ['settings', '/settings'],
    ]) {
      await page.goto(base + url);
      fact(`phone ${name} fits`, await fitsWidth(page));
      if (name === 'inbox') {
        await page.screenshot({ path: path.join(shots, 'webmail-phone-inbox.png') });
        await page.getByRole('link', { name: subject }).click();
        await page.waitForLoadState();
        fact('phone message fits', await fitsWidth(page));
      }
    }
    fact('final logout', await logOut(page));
    await context.close();
  } finally {
    await browser.close();
  }
});
