// Node's child_process and execa in bench/peers: one batch of one variant,
// timed here (process.hrtime: CLOCK_MONOTONIC).
//
//   node node_peer.mjs MEASURE VARIANT N CHILD
//
// VARIANT: spawnSync or execa (child_process.spawn for capture-bounded).
// MEASURE: spawn (/bin/true, streams inherited), deadline (/bin/sleep 10,
// timeout 100 ms: end minus 100 ms), capture-bounded (CHILD writes 1 GiB,
// 64 MiB kept, the rest dropped), capture-all (all kept, maxBuffer above it).
// Prints {"samples": [seconds...], "exit": [...]} like peers_driver.
// scripts/bench-peers runs it from the build tree, where `execa` resolves
// from the node_modules that npm ci made from package-lock.json.
import {spawn, spawnSync} from 'node:child_process';

const captureBytes = 2 ** 30;
const keptBytes = 64 * 2 ** 20;

function fail(why) {
  console.error(`node_peer: ${why}`);
  process.exit(2);
}

const execa = async () => (await import('execa')).execa;

const steps = {
  'spawn spawnSync': async (exits) => {
    exits.add(spawnSync('/bin/true', [], {stdio: 'inherit'}).status);
  },
  'spawn execa': async (exits, child, run) => {
    exits.add((await run('/bin/true', [], {stdio: 'inherit'})).exitCode);
  },
  'deadline spawnSync': async (exits) => {
    const r = spawnSync('/bin/sleep', ['10'], {timeout: 100});
    exits.add(r.error ? r.error.code : r.status);
  },
  'deadline execa': async (exits, child, run) => {
    const r = await run('/bin/sleep', ['10'], {timeout: 100, reject: false});
    exits.add(r.timedOut ? 'timeout' : r.exitCode);
  },
  'capture-bounded spawn': (exits, child) => new Promise((resolve) => {
    // The first 64 MiB kept as the chunks come, the rest dropped.
    const kept = [];
    let size = 0, total = 0;
    const p = spawn(child, ['write', String(captureBytes)],
                    {stdio: ['ignore', 'pipe', 'inherit']});
    p.stdout.on('data', (chunk) => {
      total += chunk.length;
      if (size < keptBytes) {
        const part = chunk.subarray(0, keptBytes - size);
        kept.push(part);
        size += part.length;
      }
    });
    p.on('close', (code) => {
      exits.add(code);
      if (total !== captureBytes || Buffer.concat(kept).length !== keptBytes)
        fail(`read ${total} bytes, kept ${size}`);
      resolve();
    });
  }),
  'capture-all spawnSync': async (exits, child) => {
    const r = spawnSync(child, ['write', String(captureBytes)],
                        {maxBuffer: 2 * captureBytes, stdio: ['ignore', 'pipe', 'inherit']});
    if (r.error) fail(r.error.message);
    exits.add(r.status);
    if (r.stdout.length !== captureBytes) fail(`captured ${r.stdout.length}`);
  },
  'capture-all execa': async (exits, child, run) => {
    const r = await run(child, ['write', String(captureBytes)],
                        {encoding: 'buffer', maxBuffer: 2 * captureBytes, stderr: 'inherit'});
    exits.add(r.exitCode);
    if (r.stdout.length !== captureBytes) fail(`captured ${r.stdout.length}`);
  },
};

const [measure, variant, count, child] = process.argv.slice(2);
const step = steps[`${measure} ${variant}`];
if (!step || !(Number(count) > 0) || !child)
  fail('usage: node_peer.mjs MEASURE VARIANT N CHILD (see the source)');
const run = variant === 'execa' ? await execa() : null;
const offset = measure === 'deadline' ? 0.1 : 0;
const exits = new Set();
const samples = [];
for (let i = 0; i < Number(count); ++i) {
  const t0 = process.hrtime.bigint();
  await step(exits, child, run);
  samples.push(Number(process.hrtime.bigint() - t0) / 1e9 - offset);
}
console.log(JSON.stringify({samples, exit: [...exits].map(String).sort()}));
