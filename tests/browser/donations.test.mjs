// The donation form of the example campaign, end to end, as a donor uses
// it under `estrade serve`.
//
// Headless Chromium fills the form on /don/ with JavaScript on and is
// sent, like on AWS, to the payment page: here serve's local stand-in for
// Stripe Checkout. "Pay" makes the event Stripe would send, signed as
// Stripe signs it, for the very webhook handler of the Lambda function;
// the donor lands on the thank-you page and the receipt is in the outbox.
// Without JavaScript, a gift over the legal cap comes back with the
// mistake shown. `estrade donations export` lists the gift. Last, with
// Stripe's API configured (a stand-in on 127.0.0.1), the donor is sent to
// the payment page the API made.
//
//     node --test tests/browser/donations.test.mjs
//
// ESTRADE_BIN names the binary to test (default: cargo builds the debug one),
// CHROMIUM_PATH names the browser.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { copyExampleCampaign, estradeBinary, query, startServe } from './serve.mjs';
import { launchChromium, removeDir } from './support.mjs';

// The functions drop a form sent within a second of its page opening (a
// bot's speed); a person takes longer.
const PERSON_FILL_MS = 2500;
const DONOR = {
  first_name: 'Hélène',
  last_name: 'Moreau',
  birth_date: '1975-09-14',
  email: 'helene.donation-test@example.org',
  address: '3 place d’Armes',
  postcode: '59300',
  city: 'Valenciennes',
};

let root;
let binary;
let server;
let browser;
let failedStep = null;
const problems = [];

before(async () => {
  root = await copyExampleCampaign();
  binary = estradeBinary();
  // Stripe itself is not wanted here, whatever the caller's environment.
  delete process.env.STRIPE_SECRET_KEY;
  server = await startServe(binary, root);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (failedStep) {
    console.log(`# the campaign copy and its store are kept in ${root}`);
  } else {
    await removeDir(root);
  }
});

function step(name, body) {
  test(name, async (t) => {
    if (failedStep) {
      t.skip(`"${failedStep}" failed`);
      return;
    }
    try {
      await body(t);
      assert.deepEqual(problems, [], 'pages reported problems');
    } catch (error) {
      failedStep = name;
      throw error;
    }
  });
}

async function context(options = {}) {
  const made = await browser.newContext(options);
  await made.route(
    (url) => url.hostname !== '127.0.0.1' && !/^(data|blob|about):/.test(url.href),
    (route) => route.abort('blockedbyclient'),
  );
  made.on('console', (m) => {
    // A refused form is a 4xx page, which Chromium logs as such.
    const refusal = /the server responded with a status of 4\d\d/.test(m.text());
    if (m.type() === 'error' && !refusal) {
      problems.push(`console error on ${m.page()?.url()}: ${m.text()}`);
    }
  });
  made.on('weberror', (e) => problems.push(`page error: ${e.error().message}`));
  return made;
}

async function fill(form, amount) {
  if (amount.other) {
    await form.locator('input[name="amount"][value="other"]').check();
    await form.locator('input[name="amount_other"]').fill(amount.other);
  } else {
    await form.locator(`input[name="amount"][value="${amount.value}"]`).check();
  }
  for (const [name, value] of Object.entries(DONOR)) {
    await form.locator(`[name="${name}"]`).fill(value);
  }
  for (const box of ['declare_natural_person', 'declare_nationality', 'declare_cap']) {
    await form.locator(`input[name="${box}"]`).check();
  }
}

function gifts() {
  return query(
    path.join(server.dataDir, 'serve.sqlite'),
    'select receipt, amount, status, currency from gifts order by receipt',
  );
}

step('1. a donor gives 50 € with JavaScript on and reaches the payment page', async () => {
  const page = await (await context()).newPage();
  await page.goto(`${server.origin}/don/`);
  const form = page.locator('form[action$="/api/donate"]');
  assert.equal(await form.count(), 1, '/don/ has no form posting to /api/donate');
  await fill(form, { value: '50' });
  await page.waitForFunction((ms) => performance.now() >= ms, PERSON_FILL_MS);
  await form.locator('button[type="submit"]').click();
  await page.waitForURL((url) => url.pathname.startsWith('/__estrade/checkout/'));
  const payment = await page.locator('main').textContent();
  assert.match(payment, /50,00\s€/);
  assert.match(payment, /helene\.donation-test@example\.org/);
  assert.deepEqual(gifts(), [], 'a gift was counted before it was paid');

  await Promise.all([
    page.waitForURL((url) => url.pathname === '/merci/'),
    page.locator('button[type="submit"]').click(),
  ]);
  assert.deepEqual(gifts(), [{ receipt: 1, amount: 5000, status: 'counted', currency: 'eur' }]);
  await page.goto(`${server.origin}/__estrade/outbox`);
  const rows = await page.locator('tbody tr').evaluateAll((list) =>
    list.map((row) => ({ to: row.cells[1].textContent, subject: row.cells[2].textContent })),
  );
  assert.deepEqual(rows, [
    {
      to: DONOR.email,
      subject: 'Votre reçu de don n° legislatives-2027-nord-21-000001',
    },
  ]);
});

step('2. without JavaScript, a gift over the legal cap comes back with the mistake', async () => {
  const page = await (await context({ javaScriptEnabled: false })).newPage();
  await page.goto(`${server.origin}/don/`);
  const form = page.locator('form[action$="/api/donate"]');
  // 50 € given already: 4,560 more would pass 4,600 €.
  await fill(form, { other: '4560' });
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/donate')),
    form.locator('button[type="submit"]').click(),
  ]);
  assert.equal(response.status(), 422);
  const said = await page.locator('main').textContent();
  assert.match(said, /plafond légal/);
  assert.equal(gifts().length, 1, 'the refused gift reached the store');
});

step('3. the export lists the gift with what the accounts need', async () => {
  const done = spawnSync(binary, ['donations', 'export', '--root', root], { encoding: 'utf8' });
  assert.equal(done.status, 0, done.stderr);
  const [header, row, end] = done.stdout.split('\r\n');
  assert.match(header, /^receipt_number,date,received_at,election,status,amount,/);
  assert.match(
    row,
    /^legislatives-2027-nord-21-000001,\d{4}-\d{2}-\d{2},[^,]+,legislatives-2027-nord-21,counted,50\.00,0\.00,50\.00,EUR,once,Moreau,Hélène,1975-09-14,3 place d’Armes,59300,Valenciennes,FR,helene\.donation-test@example\.org,/,
  );
  assert.equal(end, '');
  const summary = spawnSync(binary, ['donations', 'summary', '--root', root], { encoding: 'utf8' });
  assert.equal(summary.status, 0, summary.stderr);
  assert.match(summary.stdout, /^1 gift\(s\) counted from 1 donor\(s\): 50,00/);
});

/** Stripe's API as the donate function calls it, on 127.0.0.1: records
 * each session asked for, and serves the page it sends donors to. */
async function stripeStandIn() {
  const asked = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const { port } = server.address();
      if (request.method === 'POST' && request.url === '/v1/checkout/sessions') {
        asked.push({ authorization: request.headers.authorization, body: new URLSearchParams(body) });
        const id = `cs_test_standin_${asked.length}`;
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ id, object: 'checkout.session', url: `http://127.0.0.1:${port}/c/pay/${id}` }));
      } else if (request.method === 'GET' && request.url.startsWith('/c/pay/')) {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end('<!doctype html><html lang="en"><title>Checkout</title><h1>Stripe stand-in</h1></html>');
      } else {
        response.writeHead(404);
        response.end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { asked, base: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

step('4. with Stripe configured, the donor is sent to the page Stripe made', async () => {
  const stripe = await stripeStandIn();
  const other = await copyExampleCampaign();
  const withStripe = await startServe(binary, other, {
    STRIPE_SECRET_KEY: 'sk_test_browser',
    STRIPE_WEBHOOK_SECRET: 'whsec_browser',
    STRIPE_API_BASE: stripe.base,
  });
  try {
    assert.match(withStripe.output(), /Donations go to Stripe/);
    const page = await (await context()).newPage();
    await page.goto(`${withStripe.origin}/don/`);
    const form = page.locator('form[action$="/api/donate"]');
    await fill(form, { value: '20' });
    await form.locator('input[name="frequency"][value="monthly"]').check();
    await page.waitForFunction((ms) => performance.now() >= ms, PERSON_FILL_MS);
    await form.locator('button[type="submit"]').click();
    await page.waitForURL(`${stripe.base}/c/pay/cs_test_standin_1`);
    assert.equal(await page.locator('h1').textContent(), 'Stripe stand-in');
    assert.equal(stripe.asked.length, 1);
    const { authorization, body } = stripe.asked[0];
    assert.equal(authorization, 'Bearer sk_test_browser');
    assert.equal(body.get('mode'), 'subscription');
    assert.equal(body.get('line_items[0][price_data][unit_amount]'), '2000');
    assert.equal(body.get('line_items[0][price_data][recurring][interval]'), 'month');
    assert.equal(body.get('customer_email'), DONOR.email);
    assert.equal(body.get('success_url'), `${withStripe.origin}/merci/`);
    assert.match(body.get('subscription_data[metadata][estrade_donor]'), /^[0-9a-f]{64}$/);
    const store = path.join(withStripe.dataDir, 'serve.sqlite');
    assert.deepEqual(query(store, 'select count(*) as n from gifts'), [{ n: 0 }]);
  } finally {
    await withStripe.stop();
    stripe.close();
    await removeDir(other);
  }
});
