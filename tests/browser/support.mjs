// What the browser tests stand on: the built example site, a static file
// server standing in for the CDN, and a headless Chromium.

import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

// The flags that keep Chromium from calling home: the site must be the only
// thing on the wire.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

function run(command, args) {
  const done = spawnSync(command, args, { cwd: REPO, encoding: 'utf8' });
  if (done.error) {
    throw new Error(`could not run ${command}: ${done.error.message}`);
  }
  if (done.status !== 0) {
    throw new Error(
      `\`${command} ${args.join(' ')}\` exited with ${done.status}:\n${done.stderr}${done.stdout}`,
    );
  }
  return done;
}

/**
 * Builds the example campaign at the repository root into a fresh temporary
 * folder and gives back that folder. `ESTRADE_BIN` names another binary;
 * otherwise the debug build is brought up to date first, so that a stale
 * binary is never what gets tested.
 */
export async function buildExampleSite() {
  let binary = process.env.ESTRADE_BIN;
  if (!binary) {
    run('cargo', ['build', '--quiet', '-p', 'estrade']);
    binary = path.join(REPO, 'target', 'debug', 'estrade');
  }
  const out = await mkdtemp(path.join(tmpdir(), 'estrade-browser-'));
  run(binary, ['build', '--root', REPO, '--out', out]);
  return out;
}

export async function removeDir(dir) {
  if (dir) await rm(dir, { recursive: true, force: true });
}

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.ics': 'text/calendar; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.webmanifest': 'application/manifest+json',
};

async function fileAt(file) {
  try {
    const info = await stat(file);
    return info.isFile() ? info : null;
  } catch {
    return null;
  }
}

/**
 * Serves `root` on 127.0.0.1 at a free port, the way the CDN does: a folder
 * answers with its `index.html` (after a redirect adding the slash), and
 * anything missing with `404.html` and status 404. Resolves to
 * `{ origin, close }`.
 */
export function serveStatic(root) {
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1');
    let relative;
    try {
      relative = decodeURIComponent(url.pathname);
    } catch {
      response.writeHead(400).end('bad path');
      return;
    }
    const file = path.join(root, path.normalize(relative));
    if (!file.startsWith(root)) {
      response.writeHead(403).end('outside the site');
      return;
    }
    let found = await fileAt(file);
    let served = file;
    if (!found && (await fileAt(path.join(file, 'index.html')))) {
      if (!url.pathname.endsWith('/')) {
        response.writeHead(301, { location: `${url.pathname}/${url.search}` }).end();
        return;
      }
      served = path.join(file, 'index.html');
      found = await fileAt(served);
    }
    let status = 200;
    if (!found) {
      status = 404;
      served = path.join(root, '404.html');
      found = await fileAt(served);
      if (!found) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found, and no 404.html');
        return;
      }
    }
    const type = CONTENT_TYPES[path.extname(served).toLowerCase()] ?? 'application/octet-stream';
    response.writeHead(status, { 'content-type': type, 'content-length': found.size });
    if (request.method === 'HEAD') {
      response.end();
    } else {
      createReadStream(served).pipe(response);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        origin: `http://127.0.0.1:${port}`,
        close: () => new Promise((done) => server.close(done)),
      });
    });
  });
}

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

let axeSource;

/** Runs axe-core in `page` against WCAG 2.1 A and AA; gives its violations. */
export async function axeViolations(page) {
  axeSource ??= await readFile(
    fileURLToPath(import.meta.resolve('axe-core/axe.min.js')),
    'utf8',
  );
  // Evaluated through the DevTools protocol, so the page's own Content
  // Security Policy, which must not allow inline scripts, does not block it.
  await page.evaluate(axeSource);
  const results = await page.evaluate(() =>
    globalThis.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      resultTypes: ['violations'],
    }),
  );
  return results.violations;
}

/** One violation as a few lines a person can act on. */
export function describeViolation(violation) {
  const lines = [`axe ${violation.id} (${violation.impact}): ${violation.help}`];
  for (const node of violation.nodes.slice(0, 5)) {
    // axe says what would fix it in `any` (one is enough) or `all`/`none`
    // (each must hold); the first message is the useful one.
    const checks = [...node.any, ...node.all, ...node.none];
    const reason = checks[0]?.message ?? node.failureSummary ?? '';
    lines.push(`    element ${node.target.join(' ')}: ${reason.replace(/\s+/g, ' ').trim()}`);
  }
  if (violation.nodes.length > 5) {
    lines.push(`    and ${violation.nodes.length - 5} more elements`);
  }
  lines.push(`    see ${violation.helpUrl}`);
  return lines.join('\n');
}
