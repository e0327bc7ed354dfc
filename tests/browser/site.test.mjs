// The example campaign in a real browser, as a supporter on a phone meets it.
//
// The site at the repository root is built with `estrade build`, served from
// 127.0.0.1 and crawled from `/` by headless Chromium. Every page must load
// cleanly, talk to no other host, stay light and pass axe-core's WCAG 2.1 AA
// rules; its forms must work without JavaScript.
//
//     node --test tests/browser/
//
// ESTRADE_BIN names the binary to test (default: cargo builds the debug one),
// ESTRADE_CRAWL_LIMIT bounds the crawl, CHROMIUM_PATH names the browser.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  axeViolations,
  buildExampleSite,
  describeViolation,
  launchChromium,
  removeDir,
  serveStatic,
} from './support.mjs';

const CRAWL_LIMIT = Number(process.env.ESTRADE_CRAWL_LIMIT ?? 400);
// HTML, CSS and JS of one page, first visit, nothing cached; images apart.
const PAGE_BUDGET_BYTES = 50 * 1024;
const BUDGETED_TYPES = { document: 'HTML', stylesheet: 'CSS', script: 'JS' };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

let site;
let server;
let browser;
// Filled by the crawl: path -> number of forms seen with JavaScript on.
const formsWithScript = new Map();

before(async () => {
  site = await buildExampleSite();
  server = await serveStatic(site);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeDir(site);
});

function onLoopback(url) {
  if (/^(data|blob|about):/.test(url)) return true;
  try {
    return new URL(url).hostname === '127.0.0.1';
  } catch {
    return false;
  }
}

/** Where a link leads: a page of the site to crawl, a file of the site to
 * check exists (feed, calendar, image), or elsewhere (null). */
function classifyLink(href) {
  const url = new URL(href);
  if (url.origin !== server.origin) return null;
  url.hash = '';
  // Form endpoints live in the functions, not in the static site.
  if (url.pathname.startsWith('/api/')) return null;
  const extension = path.posix.extname(url.pathname);
  const kind = extension === '' || extension === '.html' ? 'page' : 'file';
  return { kind, path: url.pathname + url.search };
}

/**
 * Opens `pagePath` in a fresh context (so nothing is cached) and records
 * everything that went wrong on the way: status, console and page errors,
 * failed requests, requests off the machine, and the weight of the page.
 */
async function visit(pagePath, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  // Nothing may leave the machine; if the site tries, stop it here and say so.
  await context.route(
    (url) => !onLoopback(url.href),
    (route) => route.abort('blockedbyclient'),
  );
  const page = await context.newPage();
  const problems = [];
  const requested = [];
  const finished = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    requested.push(request.url());
    if (!onLoopback(request.url())) problems.push(`request to another host: ${request.url()}`);
  });
  page.on('requestfailed', (request) => {
    problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  page.on('requestfinished', (request) => {
    finished.push(
      request.sizes().then((sizes) => ({
        type: request.resourceType(),
        url: request.url(),
        bytes: sizes.responseBodySize,
      })),
    );
  });

  const response = await page.goto(server.origin + pagePath, { waitUntil: 'load' });
  // Scripts may fetch after `load`; without them nothing more can come.
  if (contextOptions.javaScriptEnabled !== false) {
    await page.waitForLoadState('networkidle');
  }
  if (response?.status() !== 200) {
    problems.push(`HTTP ${response?.status() ?? 'no response'} for the page itself`);
  }

  const transfers = await Promise.all(finished);
  const byType = {};
  for (const { type, bytes } of transfers) {
    const label = BUDGETED_TYPES[type];
    if (label) byType[label] = (byType[label] ?? 0) + bytes;
  }
  const weight = Object.values(byType).reduce((sum, bytes) => sum + bytes, 0);
  if (weight > PAGE_BUDGET_BYTES) {
    const parts = Object.entries(byType)
      .map(([label, bytes]) => `${label} ${(bytes / 1024).toFixed(1)} KB`)
      .join(', ');
    problems.push(
      `HTML+CSS+JS weigh ${(weight / 1024).toFixed(1)} KB (${parts}), over the ` +
        `${PAGE_BUDGET_BYTES / 1024} KB budget`,
    );
  }

  const links = await page.$$eval('a[href]', (anchors) => anchors.map((a) => a.href));
  return { context, page, problems, requested, links };
}

function failWith(problems, what) {
  const unique = [...new Set(problems)];
  if (unique.length > 0) {
    assert.fail(`${what}:\n  ${unique.join('\n  ')}`);
  }
}

test('every page reachable from / loads cleanly, stays light and passes axe', async (t) => {
  const queue = ['/'];
  const linkedFrom = new Map([['/', null]]); // page path -> first page linking to it
  const files = new Map(); // file path -> first page linking to it
  let visited = 0;

  while (queue.length > 0 && visited < CRAWL_LIMIT) {
    const pagePath = queue.shift();
    visited += 1;
    await t.test(pagePath, async () => {
      const { context, page, problems, requested, links } = await visit(pagePath);
      try {
        for (const href of links) {
          const target = classifyLink(href);
          if (target?.kind === 'page' && !linkedFrom.has(target.path)) {
            linkedFrom.set(target.path, pagePath);
            queue.push(target.path);
          } else if (target?.kind === 'file' && !files.has(target.path)) {
            files.set(target.path, pagePath);
          }
        }
        formsWithScript.set(pagePath, await page.locator('form').count());
        for (const violation of await axeViolations(page)) {
          problems.push(describeViolation(violation));
        }
        const referrer = linkedFrom.get(pagePath);
        failWith(
          problems,
          `${pagePath}${referrer ? ` (linked from ${referrer})` : ''} has problems ` +
            `(${requested.length} requests)`,
        );
      } finally {
        await context.close();
      }
    });
  }

  if (queue.length > 0) {
    t.diagnostic(`crawl stopped at ${CRAWL_LIMIT} pages; ${queue.length} left unvisited`);
  }
  assert.ok(visited > 1, `only ${visited} page reachable from /: the home page links nowhere`);

  await t.test('files linked from pages exist (feeds, calendars, images)', async () => {
    const missing = [];
    for (const [filePath, linkedFrom] of files) {
      const response = await fetch(server.origin + filePath);
      await response.arrayBuffer();
      if (response.status !== 200) {
        missing.push(`${filePath} (linked from ${linkedFrom}): HTTP ${response.status}`);
      }
    }
    failWith(missing, 'broken links to files');
  });
});

test('a missing page gets the 404 page with status 404', async () => {
  assert.ok(existsSync(path.join(site, '404.html')), 'estrade build wrote no 404.html');
  const response = await fetch(`${server.origin}/no-such-page-here/`);
  const body = await response.text();
  assert.equal(response.status, 404);
  assert.match(body, /<html/i, 'the 404 page is not HTML');
});

test('on a 390x844 phone, the home page shows its signup form without scrolling', async () => {
  const context = await browser.newContext(PHONE);
  try {
    const page = await context.newPage();
    await page.goto(`${server.origin}/`);
    // The plain signup form, not the volunteer one that posts to the same
    // function with more fields.
    const signup = page
      .locator('form[action$="/signup"], form[action$="/signup/"]')
      .filter({ hasNot: page.locator('[name="skills"], [name="availability"]') })
      .first();
    assert.equal(await signup.count(), 1, 'no signup form (action ending in /signup) on /');
    const form = await signup.boundingBox();
    const email = await signup.locator('input[name="email"]').boundingBox();
    assert.ok(form && email, 'the signup form or its email field is not displayed');
    const height = PHONE.viewport.height;
    assert.ok(
      form.y >= 0 && form.y < height,
      `the form starts at y=${Math.round(form.y)}, below the ${height}px screen`,
    );
    assert.ok(
      email.y + email.height <= height,
      `the email field ends at y=${Math.round(email.y + email.height)}, below the ` +
        `${height}px screen`,
    );
    const scrolled = await page.evaluate(() => window.scrollY);
    assert.equal(scrolled, 0, 'the page scrolled by itself');
    // Reflow (WCAG 1.4.10): the page itself never scrolls sideways on a
    // phone; a menu may scroll within its own box.
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(
      width <= PHONE.viewport.width,
      `the page is ${width}px wide on a ${PHONE.viewport.width}px screen`,
    );
  } finally {
    await context.close();
  }
});

/** Every control a person fills in, with whether it has a name to read out. */
function unlabelledControls(form) {
  const problems = [];
  const controls = form.querySelectorAll('input, select, textarea');
  for (const control of controls) {
    const type = (control.getAttribute('type') ?? '').toLowerCase();
    if (['hidden', 'submit', 'button', 'reset', 'image'].includes(type)) continue;
    // The honeypot is hidden from people and assistive technology alike.
    if (control.closest('[aria-hidden="true"], [hidden]')) continue;
    const byLabel = [...(control.labels ?? [])].some((label) => label.textContent.trim());
    const byAria = (control.getAttribute('aria-label') ?? '').trim() !== '';
    const byReference = (control.getAttribute('aria-labelledby') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .some((id) => document.getElementById(id)?.textContent.trim());
    if (!byLabel && !byAria && !byReference) {
      problems.push(`${control.tagName.toLowerCase()} name="${control.name}" has no label`);
    }
  }
  return problems;
}

test('every form renders and can be sent with JavaScript disabled', async (t) => {
  const queue = ['/'];
  const seen = new Set(queue);
  let formsFound = 0;
  let visited = 0;

  while (queue.length > 0 && visited < CRAWL_LIMIT) {
    const pagePath = queue.shift();
    visited += 1;
    const { context, page, links } = await visit(pagePath, { javaScriptEnabled: false });
    try {
      for (const href of links) {
        const target = classifyLink(href);
        if (target?.kind === 'page' && !seen.has(target.path)) {
          seen.add(target.path);
          queue.push(target.path);
        }
      }
      const forms = page.locator('form');
      const count = await forms.count();
      formsFound += count;
      const withScript = formsWithScript.get(pagePath);
      if (count === 0 && !withScript) continue;

      await t.test(`forms of ${pagePath}`, async () => {
        const problems = [];
        if (withScript !== undefined && count < withScript) {
          problems.push(`${withScript} forms with JavaScript, only ${count} without`);
        }
        for (let index = 0; index < count; index += 1) {
          const form = forms.nth(index);
          const action = (await form.getAttribute('action')) ?? '';
          const label = `form ${index + 1} (action "${action}")`;
          if (!(await form.isVisible())) problems.push(`${label} is not displayed`);
          if (!action) problems.push(`${label} has no action to post to`);
          const method = ((await form.getAttribute('method')) ?? 'get').toLowerCase();
          if (method !== 'post') problems.push(`${label} uses method "${method}", not post`);
          const submit = form.locator(
            'button[type="submit"], button:not([type]), input[type="submit"]',
          );
          if ((await submit.count()) === 0) {
            problems.push(`${label} has no submit button`);
          } else if (!(await submit.first().isVisible())) {
            problems.push(`${label}'s submit button is not displayed`);
          }
          for (const problem of await form.evaluate(unlabelledControls)) {
            problems.push(`${label}: ${problem}`);
          }
        }
        failWith(problems, `${pagePath} without JavaScript`);
      });
    } finally {
      await context.close();
    }
  }
  assert.ok(formsFound > 0, 'no form anywhere on the site without JavaScript');
});
