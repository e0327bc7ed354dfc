// The forms of the example campaign, end to end, as supporters use them.
//
// A copy of the campaign at the repository root runs under `estrade serve`,
// which mounts the form functions on its SQLite store and writes emails to
// its outbox. Headless Chromium signs up (with and without JavaScript),
// confirms the address from the email, RSVPs to an event until it is full
// and unsubscribes from the welcome email. After each step the store is
// read with the `sqlite3` command: what the pages say must be what was kept.
//
//     node --test tests/browser/forms.test.mjs
//
// ESTRADE_BIN names the binary to test (default: cargo builds the debug one),
// CHROMIUM_PATH names the browser.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  copyExampleCampaign,
  estradeBinary,
  pagePathOf,
  query,
  setEventCapacity,
  sqlText,
  startServe,
  upcomingRsvpEvent,
} from './serve.mjs';
import { launchChromium, removeDir } from './support.mjs';

const CAPACITY = 2;
// A person takes a few seconds to fill a form; the functions take a form
// the theme's script sent within a second of the page opening for a bot's
// (MIN_FILL_MS in generator/domain/src/forms.rs) and keep nothing.
const PERSON_FILL_MS = 2500;
const SIGNUP_JS = 'ana.forms-test@example.org';
const SIGNUP_NO_JS = 'basile.forms-test@example.org';
const SIGNUP_SHARED = 'dora.shared-link@example.org';
// Ana's share code, from the address of her thank-you page (step 1).
let anaCode = null;
const RSVPS = [
  { email: 'chloe.forms-test@example.org', first_name: 'Chloé' },
  { email: 'driss.forms-test@example.org', first_name: 'Driss' },
  { email: 'elsa.forms-test@example.org', first_name: 'Elsa' },
];

let root;
let server;
let browser;
let withScript; // a browser context with JavaScript, as most supporters have
let database;
let event; // { file, path, id }
let failedStep = null;
// Everything that went wrong in any page of any context.
const problems = [];
// Shared between the steps: the welcome email's page in the outbox viewer.
let welcomeEmail;

before(async () => {
  root = await copyExampleCampaign();
  const upcoming = await upcomingRsvpEvent(root);
  assert.ok(
    upcoming,
    'no event of content/agenda/ takes RSVPs (rsvp: true) and starts after tomorrow',
  );
  await setEventCapacity(upcoming.file, CAPACITY);
  event = { file: upcoming.file, path: pagePathOf(root, upcoming.file) };
  server = await startServe(estradeBinary(), root);
  database = path.join(server.dataDir, 'serve.sqlite');
  browser = await launchChromium();
  withScript = await watchedContext('JavaScript on');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (failedStep) {
    // What the server kept helps to see why; the folder is left for that.
    console.log(`# the campaign copy and its store are kept in ${root}`);
  } else {
    await removeDir(root);
  }
});

function onLoopback(url) {
  if (/^(data|blob|about):/.test(url)) return true;
  try {
    return new URL(url).hostname === '127.0.0.1';
  } catch {
    return false;
  }
}

/** A new browser context whose console errors, page errors and requests
 * off the machine are recorded in `problems`; the latter are stopped. */
async function watchedContext(label, options = {}) {
  const context = await browser.newContext(options);
  await context.route(
    (url) => !onLoopback(url.href),
    (route) => route.abort('blockedbyclient'),
  );
  context.on('console', (message) => {
    if (message.type() === 'error') {
      problems.push(`${label}: console error on ${message.page()?.url()}: ${message.text()}`);
    }
  });
  context.on('weberror', (error) => {
    problems.push(`${label}: page error: ${error.error().message}`);
  });
  context.on('request', (request) => {
    if (!onLoopback(request.url())) {
      problems.push(`${label}: request to another host: ${request.url()}`);
    }
  });
  return context;
}

/**
 * One step of the story. The steps build on each other, so after one fails
 * the next ones are skipped rather than failing for the same reason.
 */
function step(name, body) {
  test(name, async (t) => {
    if (failedStep) {
      t.skip(`"${failedStep}" failed`);
      return;
    }
    try {
      await body(t);
    } catch (error) {
      failedStep = name;
      throw error;
    }
  });
}

function supporter(email) {
  return query(
    database,
    `select email, first_name, status, interests, recruiter from supporters ` +
      `where email = ${sqlText(email)}`,
  );
}

function consents(email) {
  return query(
    database,
    `select action, channel, form, page, text_hash from consents ` +
      `where email = ${sqlText(email)} order by id`,
  );
}

/** The outbox, newest first: `{ to, subject, href }` of each email. */
async function outbox(page) {
  await page.goto(`${server.origin}/__estrade/outbox`);
  return page.locator('tbody tr').evaluateAll((rows) =>
    rows.map((row) => ({
      to: row.cells[1].textContent,
      subject: row.cells[2].textContent,
      href: row.cells[2].querySelector('a').getAttribute('href'),
    })),
  );
}

/** One email in the outbox viewer: its headers (From, To, Subject,
 * List-Unsubscribe, Attachments), text part and the HTML part's links. */
async function openEmail(page, href) {
  const response = await page.goto(server.origin + href);
  assert.equal(response.status(), 200, `the outbox viewer cannot show ${href}`);
  const headers = await page.locator('dl').evaluate((list) => {
    const found = {};
    for (const term of list.querySelectorAll('dt')) {
      found[term.textContent] = term.nextElementSibling?.textContent ?? '';
    }
    return found;
  });
  const text = await page.locator('#text').textContent();
  const frame = page.frameLocator('iframe');
  await frame.locator('body').waitFor();
  const htmlLinks = await frame
    .locator('a[href]')
    .evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href')));
  return { headers, text, htmlLinks };
}

/** The first link to `/api/<route>?token=...` of this server in `text`. */
function linkIn(text, route) {
  const escaped = `${server.origin}/api/${route}`.replace(/[.?/]/g, '\\$&');
  return new RegExp(`${escaped}\\?token=[\\w.~-]+`).exec(text)?.[0] ?? null;
}

/**
 * Fills `fields` (name -> value) of `form`, checks `checks` (locators) and
 * submits it; once the page has reached `thanks`, resolves to the answer of
 * its POST: `{ response, json }`, `json` being the parsed body when the
 * theme's script sent the form (`scripted`) and was answered JSON.
 */
async function submit(page, form, { fields, checks = [], thanks, scripted, stays = false }) {
  for (const [name, value] of Object.entries(fields)) {
    await form.locator(`[name="${name}"]`).fill(value);
  }
  for (const box of checks) await box.check();
  if (scripted) {
    await page.waitForFunction((ms) => performance.now() >= ms, PERSON_FILL_MS);
  }
  const action = new URL(await form.getAttribute('action'), page.url()).href;
  // The theme's script leaves the page as soon as it has read the answer,
  // and Chromium then forgets that answer's body. So the browser's own
  // request is passed on to the server as it is, and the reply handed back
  // once its body is read.
  let body = null;
  const relay = async (route) => {
    const reply = await route.fetch({ maxRedirects: 0 });
    body = await reply.text();
    await route.fulfill({ response: reply, body });
  };
  if (scripted) await page.route(action, relay, { times: 1 });
  try {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === action && r.request().method() === 'POST'),
      form.locator('button[type="submit"]').click(),
    ]);
    // The thank-you page is reached with the supporter's share code.
    if (!stays) await page.waitForURL((url) => url.origin === server.origin && url.pathname === thanks);
    const type = response.headers()['content-type'] ?? '';
    const json = scripted && /application\/json/.test(type) ? JSON.parse(body) : null;
    return { response, json };
  } finally {
    if (scripted) await page.unroute(action, relay);
  }
}

/** The JSON answer of a form function to the theme's script. */
function answerOf({ response, json }) {
  assert.ok(json, `${response.url()} did not answer JSON: ${response.headers()['content-type']}`);
  return json;
}

async function assertThanksPage(page, thanks) {
  assert.equal(new URL(page.url()).pathname, thanks);
  const heading = (await page.locator('h1').first().textContent()).trim();
  assert.ok(heading, `the thanks page ${thanks} has no heading`);
}

step('1. a visitor signs up from the home page, JavaScript on', async () => {
  const page = await withScript.newPage();
  await page.goto(`${server.origin}/`);
  const form = page.locator('form[action$="/api/signup"]');
  assert.equal(await form.count(), 1, 'the home page has no signup form posting to /api/signup');
  const thanks = await form.locator('input[name="thanks"]').inputValue();
  const interest = form.locator('input[name="interests"]').nth(1);
  const topic = await interest.getAttribute('value');

  const posted = await submit(page, form, {
    fields: { email: SIGNUP_JS, first_name: 'Ana' },
    checks: [interest],
    thanks,
    scripted: true,
  });
  assert.equal(posted.response.status(), 200, 'the script was not answered 200');
  const answer = answerOf(posted);
  assert.equal(answer.ok, true);
  const shared = new RegExp(`^${thanks.replace(/[.?/]/g, '\\$&')}\\?ref=([A-Za-z0-9_-]{12})$`);
  assert.match(answer.redirect, shared, 'the thank-you page is not given the share code');
  anaCode = answer.redirect.match(shared)[1];
  await assertThanksPage(page, thanks);
  // The share links of the thank-you page carry Ana's code.
  const facebook = await page.locator('.share a[href*="facebook.com"]').getAttribute('href');
  const sharedUrl = new URL(facebook).searchParams.get('u');
  assert.equal(new URL(sharedUrl).searchParams.get('ref'), anaCode, `shared: ${sharedUrl}`);

  assert.deepEqual(
    supporter(SIGNUP_JS).map((s) => ({ ...s, interests: JSON.parse(s.interests) })),
    [{ email: SIGNUP_JS, first_name: 'Ana', status: 'pending', interests: [topic], recruiter: null }],
  );
  const kept = consents(SIGNUP_JS);
  assert.equal(kept.length, 1, `consent rows: ${JSON.stringify(kept)}`);
  assert.deepEqual(
    { ...kept[0], text_hash: undefined },
    { action: 'given', channel: 'email', form: 'signup', page: '/', text_hash: undefined },
  );
  assert.match(kept[0].text_hash, /^[0-9a-f]{64}$/, 'the consent text shown is not recorded');
  await page.close();
});

step('2. the confirmation email\'s link confirms the address', async () => {
  const page = await withScript.newPage();
  const before = await outbox(page);
  assert.ok(before.length > 0, 'the outbox is empty after the signup');
  const newest = before[0];
  assert.match(newest.to, new RegExp(SIGNUP_JS.replace(/\./g, '\\.')));
  await page.getByRole('link', { name: newest.subject }).first().click();
  await page.waitForURL(server.origin + newest.href);
  const email = await openEmail(page, newest.href);
  const confirm = linkIn(email.text, 'confirm');
  assert.ok(confirm, `no ${server.origin}/api/confirm?token=... link in the text:\n${email.text}`);
  assert.ok(
    email.htmlLinks.includes(confirm),
    'the HTML part does not link to the same confirmation address',
  );

  const response = await page.goto(confirm);
  assert.equal(response.status(), 200);
  const said = page.locator('[role="status"]');
  assert.match(await said.textContent(), /\S/, 'the confirmation page says nothing');

  assert.equal(supporter(SIGNUP_JS)[0]?.status, 'confirmed');
  assert.deepEqual(
    consents(SIGNUP_JS).map((c) => [c.action, c.form]),
    [
      ['given', 'signup'],
      ['confirmed', 'signup'],
    ],
  );

  // Confirmation sent the welcome email, with its one-click unsubscribe.
  const afterConfirm = await outbox(page);
  assert.equal(afterConfirm.length, before.length + 1, 'no email was sent on confirmation');
  welcomeEmail = afterConfirm[0];
  assert.match(welcomeEmail.to, new RegExp(SIGNUP_JS.replace(/\./g, '\\.')));
  assert.notEqual(welcomeEmail.href, newest.href);

  // Opening the link again (a second click, a mail scanner) changes nothing.
  await page.goto(confirm);
  assert.equal(supporter(SIGNUP_JS)[0]?.status, 'confirmed');
  assert.equal(consents(SIGNUP_JS).length, 2, 'a second click added a consent row');
  assert.equal((await outbox(page)).length, afterConfirm.length, 'a second click sent email');
  await page.close();
});

step('2b. a friend who arrived through Ana\'s link and signs up on another page is credited to her', async () => {
  const page = await withScript.newPage();
  await page.goto(`${server.origin}/agenda/?ref=${anaCode}`);
  await page.goto(`${server.origin}/`);
  const form = page.locator('form[action$="/api/signup"]');
  const thanks = await form.locator('input[name="thanks"]').inputValue();
  await submit(page, form, { fields: { email: SIGNUP_SHARED }, thanks, scripted: true });
  assert.equal(supporter(SIGNUP_SHARED)[0]?.recruiter, anaCode);
  await page.close();
});

step('3. a visitor without JavaScript signs up through a 303 to the thanks page', async () => {
  const context = await watchedContext('JavaScript off', { javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    // Reached through Ana's link: without script, the form's Referer says so.
    await page.goto(`${server.origin}/?ref=${anaCode}`);
    const form = page.locator('form[action$="/api/signup"]');
    const thanks = await form.locator('input[name="thanks"]').inputValue();
    const { response } = await submit(page, form, {
      fields: { email: SIGNUP_NO_JS, first_name: 'Basile' },
      thanks,
      scripted: false,
    });
    assert.equal(response.status(), 303, 'a plain form post was not answered 303');
    assert.match(response.headers().location, new RegExp(`^${thanks}\\?ref=[A-Za-z0-9_-]{12}$`));
    await assertThanksPage(page, thanks);

    assert.deepEqual(supporter(SIGNUP_NO_JS), [
      {
        email: SIGNUP_NO_JS,
        first_name: 'Basile',
        status: 'pending',
        interests: '[]',
        recruiter: anaCode,
      },
    ]);
    assert.deepEqual(
      consents(SIGNUP_NO_JS).map((c) => [c.action, c.form, c.page]),
      [['given', 'signup', '/']],
    );
    const newest = (await outbox(page))[0];
    assert.match(newest.to, new RegExp(SIGNUP_NO_JS.replace(/\./g, '\\.')));
  } finally {
    await context.close();
  }
});

step(`4. an event of ${CAPACITY} seats confirms two RSVPs and waitlists the third`, async (t) => {
  const page = await withScript.newPage();
  const answers = [];
  let thanks;
  for (const [index, person] of RSVPS.entries()) {
    // Past the seats, the answer is shown on the event page itself.
    const stays = index >= CAPACITY;
    const response = await page.goto(server.origin + event.path);
    assert.equal(response.status(), 200, `no event page at ${event.path}`);
    const form = page.locator('form[action$="/api/rsvp"]');
    assert.equal(await form.count(), 1, `${event.path} has no RSVP form`);
    event.id = await form.locator('input[name="event"]').inputValue();
    thanks = await form.locator('input[name="thanks"]').inputValue();
    const answer = answerOf(
      await submit(page, form, { fields: person, thanks, scripted: true, stays }),
    );
    if (stays) {
      await page.waitForFunction(
        (message) => document.querySelector('main').innerText.includes(message),
        answer.message,
      );
      assert.equal(new URL(page.url()).pathname, event.path, 'the waitlisted stay on the event');
    } else {
      await assertThanksPage(page, thanks);
    }
    answers.push({ answer, shown: await page.locator('main').innerText() });
    assert.ok(answer.result, `no result in ${JSON.stringify(answer)}: taken for a bot's post?`);
  }
  assert.deepEqual(
    answers.map(({ answer }) => [answer.ok, answer.result?.status]),
    [
      [true, 'confirmed'],
      [true, 'confirmed'],
      [true, 'waitlisted'],
    ],
  );
  assert.notEqual(answers[2].answer.message, answers[0].answer.message);

  assert.deepEqual(
    query(
      database,
      `select email, status, position from rsvps where event = ${sqlText(event.id)} ` +
        'order by position',
    ),
    [
      { email: RSVPS[0].email, status: 'confirmed', position: 1 },
      { email: RSVPS[1].email, status: 'confirmed', position: 2 },
      { email: RSVPS[2].email, status: 'waitlisted', position: 3 },
    ],
  );
  for (const { email } of RSVPS) {
    assert.deepEqual(
      consents(email).map((c) => [c.action, c.form, c.page]),
      [['given', 'rsvp', event.path]],
      `consent of ${email}`,
    );
  }

  // Each got an email: a seat comes with its calendar file, a waitlist
  // place with none.
  const emails = await outbox(page);
  for (const [index, { email }] of RSVPS.entries()) {
    const sent = emails.filter((e) => e.to.includes(email));
    assert.equal(sent.length, 1, `${email} got ${sent.length} emails`);
    const { headers, text } = await openEmail(page, sent[0].href);
    const seated = index < CAPACITY;
    const attached = headers.Attachments;
    assert.equal(/\.ics\b/.test(attached), seated, `${email}'s attachments: ${attached}`);
    if (seated) {
      assert.ok(linkIn(text, 'rsvp/cancel'), `no cancel link in the email to ${email}`);
    }
  }

  // The waitlisted supporter reads on the page that they wait for a seat.
  assert.ok(
    answers[2].shown.includes(answers[2].answer.message),
    `the server said "${answers[2].answer.message}"; the page shows ` +
      `"${answers[2].shown.slice(0, 240).replace(/\s+/g, ' ')}..."`,
  );
  await page.close();
});

step('5. the welcome email\'s unsubscribe link unsubscribes', async () => {
  assert.ok(welcomeEmail, 'step 2 found no welcome email');
  const page = await withScript.newPage();
  const email = await openEmail(page, welcomeEmail.href);
  const header = /^<(.*)>$/.exec(email.headers['List-Unsubscribe'] ?? '')?.[1];
  assert.ok(header && linkIn(header, 'unsubscribe') === header, `List-Unsubscribe: ${header}`);
  const link = email.htmlLinks.find((href) => linkIn(href, 'unsubscribe') === href);
  assert.ok(link, `no unsubscribe link in the HTML part: ${email.htmlLinks.join(' ')}`);
  assert.ok(linkIn(email.text, 'unsubscribe'), 'no unsubscribe link in the text part');

  const response = await page.goto(link);
  assert.equal(response.status(), 200);
  assert.equal(supporter(SIGNUP_JS)[0]?.status, 'confirmed', 'opening the page unsubscribed');
  // The first form stops everything; the second, when shown, only topics.
  const everything = page.locator('form').filter({ hasNot: page.locator('[name="topics"]') });
  assert.equal(await everything.count(), 1, 'no button to stop every email');
  const [done] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    everything.locator('button[type="submit"]').click(),
  ]);
  assert.equal(done.status(), 200);
  await page.waitForLoadState();
  assert.match(await page.locator('[role="status"]').textContent(), /\S/);

  assert.equal(supporter(SIGNUP_JS)[0]?.status, 'unsubscribed');
  const history = consents(SIGNUP_JS);
  assert.deepEqual(
    history.map((c) => [c.action, c.form]),
    [
      ['given', 'signup'],
      ['confirmed', 'signup'],
      ['withdrawn', 'unsubscribe'],
    ],
  );
  await page.close();
});

test('no page logged an error or asked another host for anything', () => {
  assert.deepEqual([...new Set(problems)], []);
});

test('the server logged no address or name', () => {
  const output = server.output();
  const people = [SIGNUP_JS, SIGNUP_NO_JS, ...RSVPS.map((r) => r.email), 'Basile', 'Driss'];
  const leaked = people.filter((value) => output.includes(value));
  assert.deepEqual(leaked, [], `the server's output:\n${output}`);
});
