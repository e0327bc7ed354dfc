// What the form tests stand on: a copy of the example campaign in a
// temporary folder, `estrade serve` running on it (site, form functions,
// SQLite store and outbox), and a way to read that store.

import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO } from './support.mjs';

/**
 * The `estrade` binary to test: `ESTRADE_BIN`, or the debug build brought
 * up to date first, so that a stale binary is never what gets tested.
 */
export function estradeBinary() {
  if (process.env.ESTRADE_BIN) return process.env.ESTRADE_BIN;
  const built = spawnSync('cargo', ['build', '--quiet', '-p', 'estrade'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (built.error || built.status !== 0) {
    throw new Error(
      `\`cargo build -p estrade\` failed: ${built.error?.message ?? built.stderr}`,
    );
  }
  return path.join(REPO, 'target', 'debug', 'estrade');
}

/**
 * Copies the campaign at the repository root (its settings, content and
 * static files; not its build or its local data) into a fresh temporary
 * folder, and gives back that folder.
 */
export async function copyExampleCampaign() {
  const root = await mkdtemp(path.join(tmpdir(), 'estrade-forms-'));
  for (const part of ['campaign.yaml', 'content', 'static']) {
    await cp(path.join(REPO, part), path.join(root, part), { recursive: true });
  }
  return root;
}

async function markdownFiles(dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await markdownFiles(full)));
    else if (entry.name.endsWith('.md') && entry.name !== '_index.md') found.push(full);
  }
  return found;
}

/** The YAML between the first two `---` lines, and where it ends. */
function frontMatter(text) {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n/.exec(text);
  return match ? { yaml: match[1], end: match[0].length } : null;
}

/**
 * The event of `root`'s agenda that takes RSVPs and starts latest, if it
 * starts at least a day from now (so that it is still upcoming when the
 * test runs): `{ file, start }`, or null. Reads the few keys it needs
 * line by line; the example campaign writes them one per line.
 */
export async function upcomingRsvpEvent(root) {
  const soon = Date.now() + 24 * 3600 * 1000;
  let best = null;
  for (const file of await markdownFiles(path.join(root, 'content', 'agenda'))) {
    const front = frontMatter(await readFile(file, 'utf8'));
    if (!front || !/^\s+rsvp:\s*true\s*$/m.test(front.yaml)) continue;
    const start = /^\s+start:\s*"?(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})/m.exec(front.yaml);
    if (!start) continue;
    const at = Date.parse(`${start[1]}T${start[2]}:00Z`);
    if (at > soon && (!best || at > best.at)) {
      best = { file, start: `${start[1]} ${start[2]}`, at };
    }
  }
  return best && { file: best.file, start: best.start };
}

/** Sets `capacity:` in the `event:` block of the page `file`. */
export async function setEventCapacity(file, capacity) {
  const text = await readFile(file, 'utf8');
  const front = frontMatter(text);
  if (!front) throw new Error(`${file} has no front matter`);
  let yaml = front.yaml;
  if (/^(\s+)capacity:.*$/m.test(yaml)) {
    yaml = yaml.replace(/^(\s+)capacity:.*$/m, `$1capacity: ${capacity}`);
  } else {
    yaml = yaml.replace(/^(\s+)rsvp:\s*true\s*$/m, `$1capacity: ${capacity}\n$1rsvp: true`);
  }
  await writeFile(file, `---\n${yaml}\n---\n${text.slice(front.end)}`);
}

/** The site path of the page in `file` under `root/content`. */
export function pagePathOf(root, file) {
  let relative = path.relative(path.join(root, 'content'), file).split(path.sep).join('/');
  relative = relative.replace(/(\/index)?\.md$/, '');
  return `/${relative}/`;
}

/** A port of 127.0.0.1 nobody listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts `estrade serve --root root` on a free port and resolves once it
 * serves, to `{ origin, dataDir, output(), stop() }`. `output()` is what the
 * server printed so far; `stop()` asks it to stop (Ctrl+C) and kills it if
 * it has not within ten seconds. The port is picked before the server
 * binds it, so a port taken in between is retried with another. `env`
 * adds to the server's environment.
 */
export async function startServe(binary, root, env = {}) {
  let lastProblem = '';
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const server = await launch(binary, root, port, env);
    if (server.ok) return server.value;
    lastProblem = server.problem;
    if (!/cannot listen/.test(lastProblem)) break;
  }
  throw new Error(`estrade serve did not start:\n${lastProblem}`);
}

function launch(binary, root, port, env) {
  const child = spawn(binary, ['serve', '--root', root, '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // Should this process end without stopping the server, the server ends too.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);

  const stop = async () => {
    process.off('exit', orphanGuard);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    let timer;
    const late = new Promise((resolve) => {
      timer = setTimeout(resolve, 10_000, 'late');
    });
    const outcome = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      child.kill('SIGKILL');
      await exited;
    }
  };

  const origin = `http://127.0.0.1:${port}`;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const failed = (problem) => settle({ ok: false, problem });
    child.once('error', (error) => failed(`could not run ${binary}: ${error.message}`));
    exited.then(({ code, signal }) =>
      failed(`exited (${code ?? signal}) before serving:\n${output}`),
    );
    const deadline = Date.now() + 60_000;
    const poll = async () => {
      if (settled) return;
      if (Date.now() > deadline) {
        await stop();
        failed(`not serving ${origin} after 60 s:\n${output}`);
        return;
      }
      // Serving is printed once the first build is in and the port bound.
      if (/^Serving /m.test(output)) {
        try {
          const response = await fetch(`${origin}/`);
          await response.arrayBuffer();
          if (response.status === 200) {
            const dataDir = path.join(root, '.estrade');
            settle({ ok: true, value: { origin, dataDir, output: () => output, stop } });
            return;
          }
        } catch {
          // not answering yet
        }
      }
      setTimeout(poll, 50);
    };
    poll();
  });
}

/** `'text'` as an SQL string literal. */
export function sqlText(value) {
  return `'${String(value).replaceAll("'", "''")}'`;
}

/**
 * The rows `sql` selects from the SQLite file `database`, through Debian's
 * `sqlite3` command, as objects keyed by column.
 */
export function query(database, sql) {
  const done = spawnSync('sqlite3', ['-json', '-cmd', '.timeout 5000', database, sql], {
    encoding: 'utf8',
  });
  if (done.error) {
    throw new Error(
      `cannot run sqlite3 (${done.error.message}): tests/run installs it, ` +
        'or apt-get install sqlite3',
    );
  }
  if (done.status !== 0) throw new Error(`sqlite3 failed on \`${sql}\`:\n${done.stderr}`);
  const text = done.stdout.trim();
  return text === '' ? [] : JSON.parse(text);
}
