'use strict';
// Round trips per second of `SELECT 1` on one connection of the official TypeScript driver,
// over ws and over wss. Prints one machine-readable line per mode:
//   ts-driver ws select1 rt_per_s=12345.6 n=5000 seconds=0.405
//
// Either start a private exasim:
//   node bench_roundtrips.js <path to exapool> [--seconds=3 | --count=N] [--modes=ws,wss]
// or measure a running one:
//   node bench_roundtrips.js --host=127.0.0.1 --port=8563 --fingerprint=<hex> [...]
// Credentials: --user= / --password= or EXASOL_USER / EXASOL_PASSWORD (default sys / exasol).
// Benchmark only: it reports numbers and asserts nothing about speed.

const harness = require('./harness.js');

const { driver, WebSocket } = harness.loadDependencies();

const USAGE =
  'usage: node bench_roundtrips.js <exapool> | --port=P --fingerprint=HEX [--host=H]\n' +
  '       [--seconds=S | --count=N] [--warmup=N] [--modes=ws,wss] [--user=U] [--password=P]';

function fail(message) {
  process.stderr.write(`bench_roundtrips: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function positiveNumber(options, name, fallback) {
  if (options[name] === undefined) return fallback;
  const value = Number(options[name]);
  if (!Number.isFinite(value) || value <= 0) fail(`--${name} must be a positive number, got "${options[name]}"`);
  return value;
}

async function measure(target, mode, { seconds, count, warmup, user, password }) {
  const tls = mode === 'wss';
  const factory = harness.makeWebsocketFactory(WebSocket, { fingerprint: target.fingerprint });
  const config = harness.driverConfig({ port: target.port, tls, user, password });
  config.host = target.host;
  config.url = `${tls ? 'wss' : 'ws'}://${target.host}:${target.port}`;
  const client = new driver.ExasolDriver(factory, config);
  try {
    await client.connect();
    for (let i = 0; i < warmup; i++) await client.query('SELECT 1');
    let n = 0;
    const started = process.hrtime.bigint();
    const deadline = started + BigInt(Math.round(seconds * 1e9));
    for (;;) {
      const rows = (await client.query('SELECT 1')).getRows();
      if (rows.length !== 1) throw new Error(`SELECT 1 returned ${rows.length} rows`);
      n++;
      if (count ? n >= count : process.hrtime.bigint() >= deadline) break;
    }
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(
      `ts-driver ${mode} select1 rt_per_s=${(n / elapsed).toFixed(1)} n=${n} seconds=${elapsed.toFixed(3)}`,
    );
  } finally {
    await client.close();
  }
}

async function main() {
  const options = harness.parseArgs(process.argv.slice(2));
  const exapool = options.exapool || options.positional[0];
  const modes = (options.modes || 'ws,wss').split(',').filter(Boolean);
  for (const mode of modes) if (mode !== 'ws' && mode !== 'wss') fail(`unknown mode "${mode}" (ws or wss)`);
  const settings = {
    seconds: positiveNumber(options, 'seconds', 3),
    count: options.count === undefined ? 0 : Math.floor(positiveNumber(options, 'count')),
    warmup: options.warmup === '0' ? 0 : Math.floor(positiveNumber(options, 'warmup', 200)),
    user: options.user || process.env.EXASOL_USER || 'sys',
    password: options.password || process.env.EXASOL_PASSWORD || 'exasol',
  };

  let sim;
  let target;
  if (exapool) {
    sim = await harness.startSim(exapool);
    target = { host: '127.0.0.1', port: sim.port, fingerprint: sim.fingerprint };
  } else {
    if (!options.port) fail('give the exapool binary, or --port (and --fingerprint for wss)');
    target = {
      host: options.host || '127.0.0.1',
      port: positiveNumber(options, 'port'),
      fingerprint: options.fingerprint,
    };
    if (modes.includes('wss') && !/^[0-9A-Fa-f]{64}$/.test(target.fingerprint || '')) {
      fail('wss needs --fingerprint=<64 hex digits> (the one `exapool sim` prints)');
    }
  }
  try {
    for (const mode of modes) await measure(target, mode, settings);
  } finally {
    if (sim) sim.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench_roundtrips: ${error && error.message ? error.message : JSON.stringify(error)}\n`);
    process.exit(1);
  },
);
