// Every command line of README.md's shell blocks and every examples/*.sh runs as written, in a
// temporary copy of the repository, so a README change that breaks a line fails here (issue 21).
// Lines are only shortened by appending flags (SHORTEN); SKIP lists the few that cannot run in CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const ROOT = join(fixturePath(), '..', '..');

/** Lines that cannot run in CI, each with why (matched against the start of the command). */
const SKIP: Array<[RegExp, string]> = [
  [/^npm install\b/, 'installs the checkout this test runs in (CI has just done it)'],
  [/^npm test\b/, 'the test suite itself'],
  [/^apt-get install\b/, 'installs system packages as root'],
  [/^npm rebuild\b/, 'rebuilds the addons of the checkout this test runs in'],
  [/^GPTUNE_THREADS=1 mpirun\b/, 'needs Open MPI and the MPI addon; test/train/distributed.test.ts runs 2 ranks when mpirun is there'],
  [/^mpirun -np 4 --hostfile\b/, 'needs 4 machines and a shared /shared mount'],
  [/^gptune train \.\.\. --resume/, '`...` stands for the stopped run\'s own flags; test/cli signal and test/train resume tests run it'],
  [/^ollama\b/, 'Ollama is not part of CI'],
  [/^llama-cli\b/, 'llama.cpp\'s CLI is not part of CI (test/export runs the GGUF files through node-llama-cpp)'],
];

/** Examples too long for CI even shortened, each with why and what tests its pieces. */
const SKIP_EXAMPLES: Array<[string, string]> = [
  ['spam.sh', 'tokenizes the whole 12 MB English corpus (2.86M tokens) for its masked-LM pre-training before the first step, which --max-steps cannot shorten; its data generator and answer scorer are tested in test/data/spam_data.test.ts and test/examples/label_answers.test.ts'],
];

/** Flags appended so a line finishes in seconds (later flags win over the line's own). */
function shorten(cmd: string): string {
  if (/^gptune train\b/.test(cmd) && !/--resume\b/.test(cmd)) return `${cmd} --max-steps 2`;
  if (/^gptune eval\b.*--task\b/.test(cmd)) return `${cmd} --limit 2`;
  if (/^gptune tokenizer train\b/.test(cmd)) return `${cmd} --vocab-size 300`;
  if (/^npm start\b/.test(cmd)) return `${cmd} -- --max-steps 2 --eval-limit 2`;
  if (/^bash examples\//.test(cmd)) return `${cmd} --max-steps 2`;
  return cmd;
}

interface Block { line: number; commands: string[] }

/** The command lines of each ```sh / ```bash block: continuations joined, comment-only lines dropped. */
export function shellBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let current: Block | null = null;
  let pending = '';
  markdown.split('\n').forEach((text, i) => {
    if (/^```(sh|bash)\s*$/.test(text)) { current = { line: i + 1, commands: [] }; return; }
    if (!current) return;
    if (/^```/.test(text)) { blocks.push(current); current = null; return; }
    const joined = pending + (pending ? text.trimStart() : text);
    if (joined.endsWith('\\')) { pending = joined.slice(0, -1).trimEnd() + ' '; return; }
    pending = '';
    const cmd = joined.trim();
    if (cmd && !cmd.startsWith('#')) current.commands.push(cmd);
  });
  return blocks;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A copy of the repository as a user has it after `npm install`: big read-only folders linked (bin and
 * dist copied: scripts compare import.meta.url with argv[1], which a link would tell apart). */
function repoCopy(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir('readme-');
  for (const name of readdirSync(ROOT)) {
    if (['.git', 'runs', 'corpus', 'merged', 'my-tokenizer'].includes(name)) continue;
    if (['examples', 'data', 'README.md', 'package.json', 'bin', 'dist'].includes(name)) cpSync(join(ROOT, name), join(dir, name), { recursive: true });
    else symlinkSync(join(ROOT, name), join(dir, name));
  }
  // `gptune` on PATH, as `npm link` gives it.
  mkdirSync(join(dir, '.bin'));
  writeFileSync(join(dir, '.bin', 'gptune'), `#!/bin/sh\nexec "${process.execPath}" "${join(dir, 'bin', 'gptune.js')}" "$@"\n`);
  chmodSync(join(dir, '.bin', 'gptune'), 0o755);
  const env = { ...process.env, PATH: `${join(dir, '.bin')}:${process.env.PATH}`, GPTUNE_CACHE_DIR: join(dir, '.cache'), GPTUNE_VERBOSE: '' };
  return { dir, env };
}

/** The line without a trailing `# comment` (a # after whitespace, outside quotes). */
function stripComment(cmd: string): string {
  let quote = '';
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i];
    if (quote) { if (c === quote) quote = ''; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && /\s/.test(cmd[i - 1] ?? ' ')) return cmd.slice(0, i).trimEnd();
  }
  return cmd;
}

/** The parts of a `a && b` line that can run (SKIP drops the others), each shortened; null when none. */
function runnable(cmd: string): string | null {
  const parts = stripComment(cmd).split(' && ').map((p) => p.trim()).filter((p) => !SKIP.some(([re]) => re.test(p)));
  return parts.length ? parts.map(shorten).join(' && ') : null;
}

function runLine(cmd: string, cwd: string, env: NodeJS.ProcessEnv, where: string): void {
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', cmd], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${where} failed (exit ${r.status}):\n$ ${cmd}\n${r.stderr.slice(-2000)}${r.stdout.slice(-500)}`);
}

/** Starts a server line and resolves once it prints its address; killed at the end of its block. */
function startServer(cmd: string, cwd: string, env: NodeJS.ProcessEnv, where: string): Promise<() => void> {
  const child = spawn('bash', ['-c', `exec ${cmd}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${where}: no address printed in 60 s:\n$ ${cmd}\n${seen}`)); }, 60_000);
    const onData = (d: Buffer) => {
      seen += d;
      if (/http:\/\/127\.0\.0\.1:\d+/.test(seen)) { clearTimeout(timer); resolve(() => child.kill('SIGKILL')); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${where}: exited ${code} before listening:\n$ ${cmd}\n${seen}`)); });
  });
}

test('every command line of README.md runs as written (servers until they listen)', async (t) => {
  const { dir, env } = repoCopy();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const ran: string[] = [];
  for (const block of shellBlocks(readme)) {
    const stops: Array<() => void> = [];
    try {
      for (let cmd of block.commands) {
        const where = `README.md block at line ${block.line}`;
        const line = runnable(cmd);
        if (line === null) continue;
        if (/^gptune (serve|studio)\b/.test(cmd)) {
          // The README's ports may be taken on a shared machine: the same line on a free port, and
          // the lines after it in the block (curl) follow.
          const port = String(await freePort());
          const fixed = /--port (\d+)/.exec(cmd)?.[1] ?? (cmd.startsWith('gptune serve') ? '8080' : '7860');
          for (let j = block.commands.indexOf(cmd) + 1; j < block.commands.length; j++) block.commands[j] = block.commands[j].replaceAll(`:${fixed}`, `:${port}`);
          cmd = cmd.includes('--port') ? cmd.replace(`--port ${fixed}`, `--port ${port}`) : `${cmd} --port ${port}`;
          stops.push(await startServer(stripComment(cmd), dir, env, where));
        } else {
          runLine(line, dir, env, where);
        }
        ran.push(cmd);
      }
    } finally {
      for (const stop of stops) stop();
    }
  }
  assert.ok(ran.some((c) => c.startsWith('gptune train')) && ran.some((c) => c.startsWith('curl')), `too few lines ran: ${ran.join('\n')}`);
});

test('every examples/*.sh runs as written', (t) => {
  const { dir, env } = repoCopy();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const scripts = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.sh') && !SKIP_EXAMPLES.some(([s]) => s === f)).sort();
  assert.ok(scripts.length >= 3);
  for (const s of scripts) runLine(shorten(`bash examples/${s}`), dir, env, `examples/${s}`);
});

test('shellBlocks joins continued lines and drops comments', () => {
  const md = '```sh\n# a comment\ngptune a \\\n  --b 1   # trailing\n\n```\n```js\nnot shell\n```\n';
  assert.deepEqual(shellBlocks(md), [{ line: 1, commands: ['gptune a --b 1   # trailing'] }]);
  assert.equal(runnable('npm install && npm start   # builds, then "runs"'), 'npm start -- --max-steps 2 --eval-limit 2');
  assert.equal(runnable('gptune generate --prompt "a # b" # c'), 'gptune generate --prompt "a # b"');
  assert.equal(runnable('npm test   # the suite'), null);
});
