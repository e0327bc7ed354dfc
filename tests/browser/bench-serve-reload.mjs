// Benchmark: how long a one-page edit under `estrade serve` takes to show in
// the browser. Not a test: it prints figures, and fails only when the edit
// never shows.
//
//     node tests/browser/bench-serve-reload.mjs --site DIR --page /news/x/ [--edits 20]
//
// DIR is a campaign (by default a 10,000-page synthetic one written by
// tests/bench/build.py --write-only). The time runs from the moment the
// Markdown file is written to the moment the page's DOM holds the new
// words: file watching, the rebuild, the live-reload event, the reload
// request and the browser's parse, everything a comms person waits for.

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { REPO, launchChromium } from './support.mjs';

const { values } = parseArgs({
  options: {
    site: { type: 'string' },
    page: { type: 'string' },
    edits: { type: 'string', default: '20' },
    port: { type: 'string', default: '8471' },
    estrade: { type: 'string', default: path.join(REPO, 'target/release/estrade') },
  },
});
if (!values.site || !values.page) {
  console.error('usage: bench-serve-reload.mjs --site DIR --page /section/slug/ [--edits N]');
  process.exit(2);
}
const site = path.resolve(values.site);
const pagePath = values.page;
const file = path.join(site, 'content', pagePath.replace(/^\/|\/$/g, '') + '.md');
const original = readFileSync(file, 'utf8');
const base = `http://127.0.0.1:${values.port}`;

const server = spawn(values.estrade, ['serve', '--root', site, '--port', values.port], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let serverLog = '';
server.stdout.on('data', (chunk) => (serverLog += chunk));

async function waitForServer() {
  const started = performance.now();
  for (;;) {
    try {
      const answer = await fetch(base + pagePath);
      if (answer.ok) return performance.now() - started;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
}

const times = [];
let browser;
try {
  const startup = await waitForServer();
  browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(base + pagePath);
  for (let i = 1; i <= Number(values.edits); i++) {
    const marker = `fresh-words-${i}-${Date.now()}`;
    // The page swaps its body in place after a one-page rebuild, and
    // reloads after a full one: watch the DOM, and the next document if
    // the page navigates meanwhile.
    const shown = (async () => {
      const deadline = performance.now() + 10_000;
      while (performance.now() < deadline) {
        try {
          // Resolves, in the page, at the mutation that shows the words;
          // returns that instant on the wall clock both sides share.
          return await page.evaluate(
            (m) =>
              new Promise((resolve) => {
                const now = () => performance.timeOrigin + performance.now();
                const seen = () => document.body && document.body.innerText.includes(m);
                if (seen()) return resolve(now());
                new MutationObserver((_, observer) => {
                  if (seen()) {
                    observer.disconnect();
                    resolve(now());
                  }
                }).observe(document, { subtree: true, childList: true, characterData: true });
              }),
            marker,
          );
        } catch (error) {
          if (!/context was destroyed|navigat/i.test(String(error))) throw error;
          await page.waitForLoadState('domcontentloaded');
        }
      }
      throw new Error(`edit ${i} did not show within 10 s`);
    })();
    const written = performance.timeOrigin + performance.now();
    writeFileSync(file, `${original}\n\n${marker}\n`);
    times.push((await shown) - written);
    await sleep(250);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  const fmt = (ms) => `${ms.toFixed(1)} ms`;
  console.log(`serve started and answered in ${fmt(startup)}`);
  console.log(
    `edit visible in the browser over ${times.length} edits: median ${fmt(at(0.5))}, ` +
      `p90 ${fmt(at(0.9))}, max ${fmt(times[times.length - 1])} (target: under 50 ms)`,
  );
  const rebuilds = serverLog.match(/Rebuilt one page[^\n]*in \d+ ms/g) ?? [];
  console.log(`serve's own log: ${rebuilds.length} one-page rebuilds, last: ${rebuilds.at(-1) ?? 'none'}`);
} finally {
  writeFileSync(file, original);
  await browser?.close();
  server.kill();
}
