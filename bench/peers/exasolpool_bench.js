'use strict';
// B1 (d): throughput and latency of the official TypeScript driver's pool, ExasolPool from
// @exasol/exasol-driver-ts 0.8.0, against exasim (or any Exasol given by --dsn). The same
// workloads as the C++ B1 benchmark: N concurrent async loops ("sessions") share one pool of
// 8 connections and run a statement back to back for a fixed time.
//
//   node bench/peers/exasolpool_bench.js --exapool=<path to exapool> [options]   (starts exasim)
//   node bench/peers/exasolpool_bench.js --dsn=host/fingerprint:port [options]  (a running server)
//
// Options: --sessions=1,8,32,128  --workloads=select1,rows1000  --seconds=3 (measured, per case)
//   --warmup=0.5 (seconds per case, same concurrency, not measured)  --pool=8 (connections)
//   --csv=<path> (append rows benchmark,workload,variant,sessions,metric,value,unit)
//   --fingerprint=<hex> (pin the server's certificate; overrides the DSN's)  --nocertcheck
//   --plain-ws (ws instead of wss)  --user= --password= (or EXASOL_USER / EXASOL_PASSWORD,
//   default sys / exasol).
//
// How ExasolPool is configured (it is generic-pool 3.9 underneath; from the driver's dist/ build,
// getPool()): maximumPoolSize = --pool (8; the driver's default is 5), minimumPoolSize = --pool
// as well, so that like exapool's prewarmed pool and HikariCP's minimumIdle all 8 connections
// are opened up front (the driver's default is 0; each case waits for generic-pool's ready()). testOnBorrow is fixed to true by the driver
// and its validation is only "client not marked broken" (no round trip). The driver passes no
// other generic-pool option: no acquire timeout, no idle eviction, FIFO queue of waiters.
// Each driver connection uses the driver's defaults: fetchSize 1 MiB, compression off,
// autocommit on. Queries run with pool.query(), which fetches every row before resolving.
//
// Metrics per case: qps (queries completed in the measured window / its length), p50 and p99
// latency of pool.query() including the wait for a connection, connections (WebSockets the
// pool opened for the case: one fresh pool per case), and cpu_us_per_query: this node
// process's CPU time (process.cpuUsage(), user + system, every thread) over the measured window
// divided by the queries completed, the same metric as the C++ B1 variants'. With --exapool the
// exasim it starts is a child process, so its work is not counted either way.
// Benchmark only: it reports numbers and asserts nothing about speed. Exit code 1 when a
// query fails or returns the wrong number of rows, 2 on a usage error.

const fs = require('node:fs');
const path = require('node:path');

// The driver and ws come from integration/peers/node_modules (one install, one lock file);
// harness.js there loads them and knows how to start exasim and pin its certificate.
const harness = require(path.join(__dirname, '..', '..', 'integration', 'peers', 'harness.js'));

const { driver, WebSocket } = harness.loadDependencies();

const USAGE =
  'usage: node exasolpool_bench.js (--exapool=<path to exapool> | --dsn=host[/fingerprint]:port)\n' +
  '       [--sessions=1,8,32,128] [--workloads=select1,rows1000] [--seconds=3] [--warmup=0.5]\n' +
  '       [--pool=8] [--csv=<path>] [--fingerprint=<hex> | --nocertcheck] [--plain-ws]\n' +
  '       [--user=U] [--password=P]';

const KNOWN_OPTIONS = new Set([
  'positional', 'exapool', 'dsn', 'sessions', 'workloads', 'seconds', 'warmup', 'pool', 'csv',
  'fingerprint', 'nocertcheck', 'plain-ws', 'user', 'password', 'help',
]);

const ROWS_TABLE = 'ts_rows1000';
const ROWS = 1000;
const WORKLOADS = {
  select1: { sql: 'SELECT 1', rows: 1 },
  rows1000: { sql: `SELECT id, label FROM ${ROWS_TABLE}`, rows: ROWS },
};

class UsageError extends Error {}

function usageError(message) {
  throw new UsageError(message);
}

function positiveNumber(options, name, fallback) {
  if (options[name] === undefined) return fallback;
  const value = Number(options[name]);
  if (!Number.isFinite(value) || value <= 0) usageError(`--${name} must be a positive number, got "${options[name]}"`);
  return value;
}

function positiveIntegerList(options, name, fallback) {
  const text = options[name] === undefined ? fallback : options[name];
  const items = text.split(',');
  for (const item of items) {
    if (!/^[1-9][0-9]*$/.test(item)) usageError(`--${name} takes positive integers separated by commas, got "${text}"`);
  }
  return items.map(Number);
}

function workloadList(options) {
  const text = options.workloads === undefined ? 'select1,rows1000' : options.workloads;
  const names = text.split(',');
  for (const name of names) {
    if (!WORKLOADS[name]) usageError(`unknown workload "${name}" in --workloads (select1, rows1000)`);
  }
  return names;
}

// "host/fingerprint:port" or "host:port", as Exasol's DSNs (and `exapool sim`) write them.
function parseDsn(dsn) {
  const match = /^([^/:]+)(?:\/([0-9A-Fa-f]{64}))?:([0-9]+)$/.exec(dsn);
  if (!match) usageError(`--dsn must be host:port or host/<64 hex digit fingerprint>:port, got "${dsn}"`);
  const port = Number(match[3]);
  if (port < 1 || port > 65535) usageError(`port ${port} in --dsn is out of range`);
  return { host: match[1], port, fingerprint: match[2] ? match[2].toLowerCase() : undefined };
}

function readSettings(argv) {
  const options = harness.parseArgs(argv);
  if (options.help) return { help: true };
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) usageError(`unknown option --${key}`);
  }
  if (options.positional.length) usageError(`unexpected argument "${options.positional[0]}"`);
  if (!options.dsn && !options.exapool) usageError('give --exapool=<path to exapool> (to start exasim) or --dsn');
  if (options.dsn && options.exapool) usageError('give either --exapool or --dsn, not both');
  if (options.fingerprint !== undefined && !/^[0-9A-Fa-f]{64}$/.test(options.fingerprint)) {
    usageError('--fingerprint must be 64 hex digits (the SHA-256 `exapool sim` prints)');
  }
  if (options.fingerprint && options.nocertcheck) usageError('give either --fingerprint or --nocertcheck, not both');
  const settings = {
    exapool: options.exapool,
    dsn: options.dsn ? parseDsn(options.dsn) : undefined,
    sessions: positiveIntegerList(options, 'sessions', '1,8,32,128'),
    workloads: workloadList(options),
    seconds: positiveNumber(options, 'seconds', 3),
    warmup: options.warmup === '0' ? 0 : positiveNumber(options, 'warmup', 0.5),
    poolSize: positiveIntegerList(options, 'pool', '8')[0],
    csv: options.csv,
    fingerprint: options.fingerprint ? options.fingerprint.toLowerCase() : undefined,
    noCertCheck: Boolean(options.nocertcheck),
    tls: !options['plain-ws'],
    user: options.user || process.env.EXASOL_USER || 'sys',
    password: options.password || process.env.EXASOL_PASSWORD || 'exasol',
  };
  if (settings.csv === '' || settings.csv === 'true') usageError('--csv needs a file name: --csv=<path>');
  return settings;
}

// The server to measure: {host, port, fingerprint} and, when exasim was started here, the sim.
async function openTarget(settings) {
  if (settings.dsn) {
    const target = { ...settings.dsn };
    if (settings.fingerprint) target.fingerprint = settings.fingerprint;
    if (settings.tls && !target.fingerprint && !settings.noCertCheck) {
      usageError('wss needs the certificate fingerprint (in the DSN or --fingerprint) or --nocertcheck');
    }
    return target;
  }
  const sim = await harness.startSim(settings.exapool);
  return { host: '127.0.0.1', port: sim.port, fingerprint: sim.fingerprint, sim };
}

// A WebSocket factory that counts what it opens: the pool's connections.
function countingFactory(target, settings) {
  const counter = { opened: 0 };
  const pinned = harness.makeWebsocketFactory(WebSocket, { fingerprint: target.fingerprint });
  const create = (url) => {
    counter.opened++;
    if (settings.noCertCheck && url.startsWith('wss:')) return new WebSocket(url, { rejectUnauthorized: false });
    return pinned(url);
  };
  return { create, counter };
}

function driverConfig(target, settings, extra = {}) {
  const scheme = settings.tls ? 'wss' : 'ws';
  return {
    ...harness.driverConfig({ port: target.port, tls: settings.tls, user: settings.user, password: settings.password }),
    host: target.host,
    url: `${scheme}://${target.host}:${target.port}`,
    ...extra,
  };
}

// One plain driver connection (not the pool) before any case: a wrong password or an
// unreachable server fails here with the server's error, where the pool would retry for ever.
// It also creates the rows1000 table when that workload runs, or drops it afterwards.
async function withOneConnection(target, settings, work) {
  const { create } = countingFactory(target, settings);
  const client = new driver.ExasolDriver(create, driverConfig(target, settings));
  try {
    await client.connect();
    await work(client);
  } finally {
    await client.close().catch(() => {});
  }
}

async function createRowsTable(client) {
  await client.execute(`DROP TABLE IF EXISTS ${ROWS_TABLE}`);
  await client.execute(`CREATE TABLE ${ROWS_TABLE} (id DECIMAL(9,0), label VARCHAR(20))`);
  const values = [];
  for (let id = 1; id <= ROWS; id++) values.push(`(${id}, 'row-${id}')`);
  const inserted = await client.execute(`INSERT INTO ${ROWS_TABLE} VALUES ${values.join(', ')}`);
  if (inserted !== ROWS) throw new Error(`INSERT INTO ${ROWS_TABLE} reported ${inserted} rows, expected ${ROWS}`);
}

function describeError(error) {
  if (error && error.message) return error.message;
  if (error && error.sqlCode) return `[${error.sqlCode}] ${error.text}`;
  return JSON.stringify(error);
}

// `sessions` loops run the workload on the pool until `seconds` have passed; latencies in ns
// are pushed to `latencies` when given. Resolves with the number of queries completed.
async function runLoops(pool, workload, sessions, seconds, latencies) {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let completed = 0;
  let failure;
  const loop = async () => {
    while (!failure && process.hrtime.bigint() < deadline) {
      const started = process.hrtime.bigint();
      let rows;
      try {
        rows = (await pool.query(workload.sql)).getRows();
      } catch (error) {
        failure = failure || new Error(`${workload.sql} failed: ${describeError(error)}`);
        return;
      }
      if (rows.length !== workload.rows) {
        failure = failure || new Error(`${workload.sql} returned ${rows.length} rows, expected ${workload.rows}`);
        return;
      }
      if (latencies) latencies.push(Number(process.hrtime.bigint() - started));
      completed++;
    }
  };
  await Promise.all(Array.from({ length: sessions }, loop));
  if (failure) throw failure;
  return completed;
}

// Nearest-rank percentile of sorted values.
function percentile(sorted, fraction) {
  if (sorted.length === 0) return 0;
  return sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)];
}

// generic-pool waits for ever for a connection when the server is gone: a hang guard.
function withHangGuard(promise, seconds, what) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

async function measureCase(target, settings, workloadName, sessions) {
  const workload = WORKLOADS[workloadName];
  const { create, counter } = countingFactory(target, settings);
  const pool = new driver.ExasolPool(
    create,
    driverConfig(target, settings, { maximumPoolSize: settings.poolSize, minimumPoolSize: settings.poolSize }),
  );
  try {
    // All `poolSize` connections open before anything runs, as exapool's prewarm does.
    // ExasolPool has no method for that; its generic-pool (a public field) has ready().
    await pool.internalPool.ready();
    if (settings.warmup > 0) await runLoops(pool, workload, sessions, settings.warmup);
    const latencies = [];
    const started = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    const completed = await runLoops(pool, workload, sessions, settings.seconds, latencies);
    const cpu = process.cpuUsage(cpuStart); // microseconds since cpuStart
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    latencies.sort((a, b) => a - b);
    return {
      workload: workloadName,
      sessions,
      queries: completed,
      qps: completed / elapsed,
      p50: percentile(latencies, 0.5) / 1e6,
      p99: percentile(latencies, 0.99) / 1e6,
      connections: counter.opened,
      cpuPerQuery: completed > 0 ? (cpu.user + cpu.system) / completed : 0,
    };
  } finally {
    await pool.drain();
    await pool.clear();
  }
}

function csvRows(result) {
  const prefix = `B1,${result.workload},ts_exasolpool,${result.sessions}`;
  return [
    `${prefix},qps,${result.qps.toFixed(1)},queries/s`,
    `${prefix},p50_latency,${result.p50.toFixed(3)},ms`,
    `${prefix},p99_latency,${result.p99.toFixed(3)},ms`,
    `${prefix},connections,${result.connections},count`,
    `${prefix},cpu_us_per_query,${result.cpuPerQuery.toFixed(2)},us`,
  ];
}

function printHeader(settings, target) {
  const where = target.sim ? `exasim (exapool sim) on 127.0.0.1:${target.port}` : `${target.host}:${target.port}`;
  console.log(
    `ExasolPool (@exasol/exasol-driver-ts 0.8.0) against ${where} over ${settings.tls ? 'wss' : 'ws'}: ` +
      `pool max=min=${settings.poolSize}, ${settings.seconds} s per case after ${settings.warmup} s warm-up`,
  );
  console.log('workload   sessions        qps  cpu us/q    p50 ms    p99 ms  connections   queries');
}

function printResult(r) {
  console.log(
    `${r.workload.padEnd(10)} ${String(r.sessions).padStart(8)} ${r.qps.toFixed(1).padStart(10)} ` +
      `${r.cpuPerQuery.toFixed(1).padStart(9)} ` +
      `${r.p50.toFixed(3).padStart(9)} ${r.p99.toFixed(3).padStart(9)} ${String(r.connections).padStart(12)} ` +
      `${String(r.queries).padStart(9)}`,
  );
}

async function main() {
  const settings = readSettings(process.argv.slice(2));
  if (settings.help) {
    console.log(USAGE);
    return;
  }
  const target = await openTarget(settings);
  try {
    const needsTable = settings.workloads.includes('rows1000');
    const setUp = (client) => (needsTable ? createRowsTable(client) : client.query('SELECT 1'));
    await withHangGuard(withOneConnection(target, settings, setUp), 60, 'connecting to the server');
    printHeader(settings, target);
    for (const workloadName of settings.workloads) {
      for (const sessions of settings.sessions) {
        const guardSeconds = settings.seconds + settings.warmup + 120;
        const result = await withHangGuard(
          measureCase(target, settings, workloadName, sessions),
          guardSeconds,
          `${workloadName} with ${sessions} sessions`,
        );
        printResult(result);
        if (settings.csv) fs.appendFileSync(settings.csv, csvRows(result).join('\n') + '\n');
      }
    }
    if (needsTable && !target.sim) {
      const dropTable = (client) => client.execute(`DROP TABLE IF EXISTS ${ROWS_TABLE}`);
      await withHangGuard(withOneConnection(target, settings, dropTable), 60, `dropping ${ROWS_TABLE}`);
    }
  } finally {
    if (target.sim) await target.sim.closeAndWait(10000).catch(() => target.sim.stop());
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    const usage = error instanceof UsageError;
    process.stderr.write(`exasolpool_bench: ${describeError(error)}\n${usage ? USAGE + '\n' : ''}`);
    process.exit(usage ? 2 : 1);
  },
);
