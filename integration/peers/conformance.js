'use strict';
// Conformance of exasim with the official Exasol TypeScript driver (@exasol/exasol-driver-ts).
//   node conformance.js <path to the exapool binary> [--via-proxy=session|transaction]
// Starts `exapool sim --sim.port=0`, runs every scenario with the driver over ws and wss, prints
// one line per check and a final `conformance: N passed, N failed`; exits non-zero on any failure.
// With --via-proxy, `exapool proxy` in that mode runs in front of exasim and the driver talks to
// the proxy only (observers of exasim's own view log in to exasim directly); checks whose answers
// differ through a proxy say what the proxy must show instead, and proxy-only checks follow.

const assert = require('node:assert/strict');
const harness = require('./harness.js');

const { driver, WebSocket } = harness.loadDependencies();
const { ExasolDriver, ExasolPool } = driver;

const USER = 'sys';
const PASSWORD = 'exasol'; // exasim's default user; never printed
const STEP_TIMEOUT_MS = 30000;
const OVERALL_TIMEOUT_MS = 120000;
const ROWS = 5000;
const POOL_SIZE = 4; // --exapool.max-size of the proxy
const PROXY_ID_BASE = 2 ** 62; // the proxy's session ids start there, exasim's stay below
const PROXY_CLIENT = 'exapool proxy for SYS'; // the CLIENT of the proxy's upstream sessions

let passed = 0;
let failed = 0;
let sim; // exasim
let proxy; // exapool proxy in front of exasim, with --via-proxy
let exapoolPath;
let failedLogins = 0; // logins that exasim must have refused, counted by the checks that cause them
let directLogins = 0; // driver sessions on exasim that bypass the proxy (observers)
let killedUpstream = 0; // upstream sessions of the proxy killed by a check (the pool replaces them)
let finished = false;
const openClients = new Set();
const unhandled = [];

function clip(text, max = 300) {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function describe(error) {
  if (error instanceof assert.AssertionError && error.generatedMessage) {
    // The generated message is a multi-line diff; one line with both sides reads better here.
    return `${error.message.split('\n')[0]} actual ${clip(JSON.stringify(error.actual) ?? 'undefined')}, ` +
      `expected ${clip(JSON.stringify(error.expected) ?? 'undefined')}`;
  }
  if (error instanceof Error) return error.message.split('\n')[0];
  if (error && typeof error === 'object') return JSON.stringify(error);
  return String(error);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function check(name, body) {
  if (finished) return;
  try {
    await withTimeout(Promise.resolve().then(body), STEP_TIMEOUT_MS, 'the check');
    passed++;
    console.log(`ok   - ${name}`);
  } catch (error) {
    failed++;
    console.log(`FAIL - ${name}: ${describe(error)}`);
  }
}

function finish() {
  if (finished) return;
  finished = true;
  if (unhandled.length > 0) {
    failed++;
    console.log(`FAIL - the driver raised no unhandled errors: ${unhandled.join(' | ')}`);
  }
  if (failed > 0) {
    for (const [name, server] of [['exasim', sim], ['exapool proxy', proxy]]) {
      const tail = server ? server.stderrTail() : [];
      if (tail.length) console.error(`${name} stderr (last lines):\n  ${tail.join('\n  ')}`);
    }
  }
  console.log(`conformance: ${passed} passed, ${failed} failed`);
  if (proxy) proxy.stop();
  if (sim) sim.stop();
  process.exit(failed > 0 ? 1 : 0);
}

// ---- driver helpers ---------------------------------------------------------------------------

// The server the driver is tested against: the proxy with --via-proxy, else exasim.
function target() {
  return proxy || sim;
}

// A driver client of the target; direct: of exasim itself, bypassing the proxy.
function newClient({ tls = false, fingerprint, recorder, user = USER, password = PASSWORD, direct = false, ...extra } = {}) {
  const server = direct ? sim : target();
  const factory = harness.makeWebsocketFactory(WebSocket, {
    fingerprint: fingerprint || server.fingerprint,
    recorder,
  });
  const client = new ExasolDriver(factory, harness.driverConfig({ port: server.port, tls, user, password, ...extra }));
  openClients.add(client);
  return client;
}

async function connect(options) {
  const client = newClient(options);
  await client.connect();
  return client;
}

// A session on exasim itself, to see exasim's view (EXA_ALL_SESSIONS) past the proxy.
async function connectDirect(options = {}) {
  const client = await connect({ ...options, direct: true });
  if (proxy) directLogins++;
  return client;
}

async function closeClient(client) {
  openClients.delete(client);
  await withTimeout(client.close(), 10000, 'close()');
}

// Column-major values of a raw response's first result set, as the driver returns them.
function firstResultSet(response) {
  assert.equal(response.status, 'ok', `status ${response.status}: ${describe(response.exception)}`);
  assert.ok(response.responseData.numResults >= 1, 'no results');
  const result = response.responseData.results[0];
  assert.equal(result.resultType, 'resultSet');
  return result.resultSet;
}

// The execute response as it came off the wire (before the driver fetched and merged rows).
function wireResponseTo(recorder, command) {
  const index = recorder.sent.findIndex((message) => message.command === command);
  assert.ok(index >= 0, `no ${command} was sent`);
  // Strict lockstep: the n-th response answers the n-th request.
  return recorder.received[index];
}

function range(from, to) {
  const values = [];
  for (let value = from; value < to; value++) values.push(value);
  return values;
}

async function sessionCount(client) {
  const rows = (await client.query('SELECT COUNT(*) AS N FROM EXA_ALL_SESSIONS')).getRows();
  assert.equal(rows.length, 1);
  assert.equal(typeof rows[0].N, 'number', 'COUNT(*) is DECIMAL(18,0), a JSON number');
  return rows[0].N;
}

async function waitForSessionCount(client, expected, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let count = await sessionCount(client);
  while (count !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    count = await sessionCount(client);
  }
  assert.equal(count, expected, `EXA_ALL_SESSIONS has ${count} rows, expected ${expected}`);
}

// The upstream sessions exasim has apart from the observer's own (clientName exapool-observer),
// with the checks every one of them must pass: opened by the proxy, for SYS, with exasim's ids.
async function proxySessions(observer) {
  const rows = (await observer.query('SELECT SESSION_ID, USER_NAME, CLIENT FROM EXA_ALL_SESSIONS')).getRows();
  const others = rows.filter((row) => !String(row.CLIENT).includes('exapool-observer'));
  assert.equal(rows.length - others.length, 1, `the observer sees itself once: ${JSON.stringify(rows)}`);
  for (const row of others) {
    assert.equal(row.CLIENT, PROXY_CLIENT, `every other session is the proxy's: ${JSON.stringify(rows)}`);
    assert.equal(String(row.USER_NAME).toUpperCase(), 'SYS');
    assert.ok(Number(row.SESSION_ID) < PROXY_ID_BASE, `upstream id ${row.SESSION_ID} is exasim's`);
  }
  assert.ok(others.length <= POOL_SIZE, `${others.length} upstream sessions, pool size ${POOL_SIZE}`);
  return others;
}

async function count(client, table) {
  const rows = (await client.query(`SELECT COUNT(*) AS N FROM ${table}`)).getRows();
  return rows[0].N;
}

// Whether a promise settles within ms (it keeps running either way).
function settlesWithin(promise, ms) {
  let timer;
  const later = new Promise((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true, () => true), later]).finally(() => clearTimeout(timer));
}

// ---- scenarios --------------------------------------------------------------------------------

// The data scenarios share one ws and one wss client; when their login failed, say so plainly.
function loggedIn(client, which) {
  if (!client) throw new Error(`no ${which} session: its login check failed`);
  return client;
}

async function run() {
  let wsClient; // a plain-ws client shared by the data scenarios
  let wssClient; // a TLS client shared by the data scenarios
  const ws = new Proxy({}, { get: (_, name) => loggedIn(wsClient, 'ws')[name].bind(wsClient) });
  const wss = new Proxy({}, { get: (_, name) => loggedIn(wssClient, 'wss')[name].bind(wssClient) });

  await check('login over ws: public key and session info have Exasol shapes', async () => {
    const recorder = new harness.Recorder();
    wsClient = await connect({ recorder });
    assert.deepEqual(recorder.sent[0], { command: 'login', protocolVersion: 3 });
    const key = recorder.received[0];
    assert.equal(key.status, 'ok');
    assert.match(key.responseData.publicKeyPem, /^-----BEGIN RSA PUBLIC KEY-----\n/);
    assert.match(key.responseData.publicKeyModulus, /^[0-9A-Fa-f]{256}$/, '1024-bit modulus in hex');
    assert.match(key.responseData.publicKeyExponent, /^0*10001$/i);
    const credentials = recorder.sent[1];
    assert.equal(credentials.command, undefined, 'the credentials message has no command');
    assert.equal(credentials.username, USER);
    const session = recorder.received[1];
    assert.equal(session.status, 'ok', describe(session.exception));
    const info = session.responseData;
    assert.ok(info.sessionId > 2 ** 53, `sessionId ${info.sessionId} is above 2^53`);
    if (proxy) assert.ok(info.sessionId >= PROXY_ID_BASE, `the proxy's own session id: ${info.sessionId} >= 2^62`);
    assert.equal(info.protocolVersion, 3);
    assert.equal(typeof info.releaseVersion, 'string');
    assert.equal(typeof info.databaseName, 'string');
    assert.equal(info.productName, 'EXASolution');
    assert.ok(info.maxDataMessageSize >= 64 << 20, 'maxDataMessageSize >= 64 MiB');
    assert.equal(info.identifierQuoteString, '"');
    assert.equal(typeof info.timeZone, 'string');
  });

  await check('login over ws: SELECT 1', async () => {
    const result = await ws.query('SELECT 1 AS ONE');
    assert.deepEqual(result.getRows(), [{ ONE: 1 }]);
    const [column] = result.getColumns();
    assert.equal(column.name, 'ONE');
    assert.equal(column.dataType.type, 'DECIMAL');
    assert.equal(column.dataType.scale, 0);
  });

  await check('login over wss with the certificate fingerprint pinned: SELECT 1', async () => {
    wssClient = await connect({ tls: true });
    const result = await wss.query('SELECT 1 AS ONE');
    assert.deepEqual(result.getRows(), [{ ONE: 1 }]);
  });

  await check('wss with a wrong fingerprint is refused before anything is sent', async () => {
    const recorder = new harness.Recorder();
    const client = newClient({ tls: true, fingerprint: '00'.repeat(32), recorder });
    await assert.rejects(client.connect());
    assert.deepEqual(recorder.sent, [], 'no message may reach a server that failed the pin');
    await closeClient(client);
  });

  await check('SELECT of every type (DECIMAL, DOUBLE, VARCHAR, CHAR, BOOLEAN, DATE, TIMESTAMP, NULL)', async () => {
    await ws.execute(
      'CREATE TABLE conf_types (c_int DECIMAL(9,0), c_big DECIMAL(18,0), c_wide DECIMAL(20,0), ' +
        'c_scaled DECIMAL(12,3), c_double DOUBLE, c_varchar VARCHAR(20), c_char CHAR(5), ' +
        'c_bool BOOLEAN, c_date DATE, c_ts TIMESTAMP, c_null VARCHAR(10))',
    );
    const inserted = await ws.execute(
      'INSERT INTO conf_types VALUES ' +
        "(42, 900719925474099, 1234567890123456789, 12345.678, 2.5, 'hello', 'ab', TRUE, " +
        "'2024-02-29', '2024-02-29 13:14:15.123', NULL), " +
        "(-7, -1, -12, -0.125, -1e10, 'äöü😀', 'xyz', FALSE, '1999-12-31', " +
        "'1999-12-31 23:59:59.000', 'x')",
    );
    assert.equal(inserted, 2, 'rowCount of the INSERT');
    const result = await wss.query('SELECT * FROM conf_types ORDER BY c_int DESC');
    const types = Object.fromEntries(result.getColumns().map((c) => [c.name, c.dataType]));
    assert.deepEqual(Object.keys(types), [
      'C_INT', 'C_BIG', 'C_WIDE', 'C_SCALED', 'C_DOUBLE', 'C_VARCHAR', 'C_CHAR', 'C_BOOL',
      'C_DATE', 'C_TS', 'C_NULL',
    ]);
    const decimal = (t) => ({ type: t.type, precision: t.precision, scale: t.scale });
    assert.deepEqual(decimal(types.C_INT), { type: 'DECIMAL', precision: 9, scale: 0 });
    assert.deepEqual(decimal(types.C_BIG), { type: 'DECIMAL', precision: 18, scale: 0 });
    assert.deepEqual(decimal(types.C_WIDE), { type: 'DECIMAL', precision: 20, scale: 0 });
    assert.deepEqual(decimal(types.C_SCALED), { type: 'DECIMAL', precision: 12, scale: 3 });
    assert.equal(types.C_DOUBLE.type, 'DOUBLE');
    assert.equal(types.C_VARCHAR.type, 'VARCHAR');
    assert.equal(types.C_VARCHAR.size, 20);
    assert.equal(types.C_CHAR.type, 'CHAR');
    assert.equal(types.C_CHAR.size, 5);
    assert.equal(types.C_BOOL.type, 'BOOLEAN');
    assert.equal(types.C_DATE.type, 'DATE');
    assert.equal(types.C_TS.type, 'TIMESTAMP');
    assert.equal(types.C_NULL.type, 'VARCHAR');
    assert.deepEqual(result.getRows(), [
      {
        C_INT: 42, C_BIG: 900719925474099, C_WIDE: '1234567890123456789', C_SCALED: '12345.678',
        C_DOUBLE: 2.5, C_VARCHAR: 'hello', C_CHAR: 'ab   ', C_BOOL: true, C_DATE: '2024-02-29',
        C_TS: '2024-02-29 13:14:15.123000', C_NULL: null,
      },
      {
        C_INT: -7, C_BIG: -1, C_WIDE: '-12', C_SCALED: '-0.125', C_DOUBLE: -1e10,
        C_VARCHAR: 'äöü😀', C_CHAR: 'xyz  ', C_BOOL: false, C_DATE: '1999-12-31',
        C_TS: '1999-12-31 23:59:59.000000', C_NULL: 'x',
      },
    ]);
  });

  await check(`prepared statement: INSERT of ${ROWS} rows in one executePreparedStatement`, async () => {
    await ws.execute('CREATE TABLE conf_rows (id DECIMAL(9,0), label VARCHAR(40))');
    const statement = await ws.prepare('INSERT INTO conf_rows VALUES (?, ?)');
    try {
      const args = [];
      for (const id of range(0, ROWS)) args.push(id, `row-${id}`);
      const response = await statement.execute(...args);
      assert.equal(response.status, 'ok', describe(response.exception));
      assert.equal(response.responseData.results[0].resultType, 'rowCount');
      assert.equal(response.responseData.results[0].rowCount, ROWS);
    } finally {
      // The driver keeps its only connection claimed until the statement is closed.
      await statement.close();
    }
  });

  await check(`a ${ROWS}-row result comes through a handle and fetch`, async () => {
    const recorder = new harness.Recorder();
    const client = await connect({ recorder });
    recorder.clear();
    const result = await client.query('SELECT id, label FROM conf_rows ORDER BY id');
    const wire = wireResponseTo(recorder, 'execute').responseData.results[0].resultSet;
    assert.equal(typeof wire.resultSetHandle, 'number', 'a resultSetHandle at >= 1000 rows');
    assert.equal(wire.numRows, ROWS);
    assert.equal(wire.numRowsInMessage, 0);
    assert.equal(wire.data, undefined, 'no inline data with a handle');
    const commands = recorder.commandsSent();
    assert.ok(commands.includes('fetch'), `commands: ${commands}`);
    assert.equal(commands[commands.length - 1], 'closeResultSet');
    const rows = result.getRows();
    assert.equal(rows.length, ROWS);
    rows.forEach((row, i) => assert.deepEqual(row, { ID: i, LABEL: `row-${i}` }));
    await closeClient(client);
  });

  await check(`a ${ROWS}-row result in many small fetches (startPosition honoured)`, async () => {
    const recorder = new harness.Recorder();
    const client = await connect({ recorder, fetchSize: 8192 });
    recorder.clear();
    const rows = (await client.query('SELECT id, label FROM conf_rows ORDER BY id')).getRows();
    const fetches = recorder.sent.filter((message) => message.command === 'fetch');
    assert.ok(fetches.length > 3, `${fetches.length} fetches for ${ROWS} rows at 8 KiB each`);
    let expectedStart = 0;
    recorder.sent.forEach((message, i) => {
      if (message.command !== 'fetch') return;
      assert.equal(message.startPosition, expectedStart);
      const answer = recorder.received[i];
      assert.equal(answer.status, 'ok', describe(answer.exception));
      assert.equal(answer.responseData.data.length, 2, 'column-major: one array per column');
      assert.equal(answer.responseData.data[0].length, answer.responseData.numRows);
      expectedStart += answer.responseData.numRows;
    });
    assert.equal(expectedStart, ROWS);
    assert.equal(rows.length, ROWS);
    rows.forEach((row, i) => assert.deepEqual(row, { ID: i, LABEL: `row-${i}` }));
    await closeClient(client);
  });

  for (const count of [999, 1000, 0]) {
    await check(`a result of ${count} rows (${count >= 1000 ? 'handle' : 'inline'})`, async () => {
      const recorder = new harness.Recorder();
      const client = await connect({ recorder });
      recorder.clear();
      const result = await client.query(`SELECT id, label FROM conf_rows WHERE id < ${count} ORDER BY id`);
      const wire = wireResponseTo(recorder, 'execute').responseData.results[0].resultSet;
      assert.equal(wire.numRows, count);
      assert.equal(wire.numColumns, 2);
      assert.deepEqual(wire.columns.map((c) => c.name), ['ID', 'LABEL']);
      if (count >= 1000) {
        assert.equal(typeof wire.resultSetHandle, 'number');
        assert.ok(recorder.commandsSent().includes('fetch'));
      } else {
        assert.equal(wire.resultSetHandle, undefined, 'no handle below 1000 rows');
        assert.equal(wire.numRowsInMessage, count);
        assert.deepEqual(recorder.commandsSent(), ['execute'], 'no fetch for an inline result');
        if (count === 0) assert.equal(wire.data, undefined, 'no data key for zero rows');
        else assert.equal(wire.data[0].length, count);
      }
      const rows = result.getRows();
      assert.equal(rows.length, count);
      rows.forEach((row, i) => assert.deepEqual(row, { ID: i, LABEL: `row-${i}` }));
      await closeClient(client);
    });
  }

  await check('an error carries its sqlCode (42000 for an unknown table and a syntax error)', async () => {
    const missing = await ws.query('SELECT * FROM conf_missing', undefined, undefined, 'raw');
    assert.equal(missing.status, 'error');
    assert.equal(missing.exception.sqlCode, '42000');
    assert.ok(missing.exception.text.length > 0, 'error text');
    const syntax = await ws.query('SELEC 1', undefined, undefined, 'raw');
    assert.equal(syntax.status, 'error');
    assert.equal(syntax.exception.sqlCode, '42000');
    await assert.rejects(ws.query('SELECT * FROM conf_missing'), /42000/);
    // The session survives its errors.
    assert.deepEqual((await ws.query('SELECT 1 AS ONE')).getRows(), [{ ONE: 1 }]);
  });

  await check('prepared statement: SELECT with parameters, then close', async () => {
    const recorder = new harness.Recorder();
    const client = await connect({ tls: true, recorder });
    recorder.clear();
    const statement = await client.prepare('SELECT id, label FROM conf_rows WHERE id = ? OR id = ? ORDER BY id');
    const response = await statement.execute(4242, 7);
    await statement.close();
    const created = wireResponseTo(recorder, 'createPreparedStatement');
    assert.equal(created.status, 'ok', describe(created.exception));
    assert.equal(typeof created.responseData.statementHandle, 'number');
    assert.equal(created.responseData.parameterData.numColumns, 2);
    assert.equal(created.responseData.parameterData.columns.length, 2);
    const resultSet = firstResultSet(response);
    assert.deepEqual(resultSet.data, [[7, 4242], ['row-7', 'row-4242']]);
    assert.deepEqual(recorder.commandsSent(), [
      'createPreparedStatement', 'executePreparedStatement', 'closePreparedStatement',
    ]);
    assert.equal(recorder.received[2].status, 'ok', 'closePreparedStatement answered ok');
    await closeClient(client);
  });

  await check('executeBatch: several statements, one rowCount each', async () => {
    await wss.execute('CREATE TABLE conf_batch (x DECIMAL(9,0))');
    const response = await wss.executeBatch([
      'INSERT INTO conf_batch VALUES (1)',
      'INSERT INTO conf_batch VALUES (2)',
      'UPDATE conf_batch SET x = x + 10',
    ]);
    assert.equal(response.status, 'ok', describe(response.exception));
    assert.equal(response.responseData.numResults, 3);
    assert.deepEqual(
      response.responseData.results.map((r) => [r.resultType, r.rowCount]),
      [['rowCount', 1], ['rowCount', 1], ['rowCount', 2]],
    );
    const rows = (await wss.query('SELECT x FROM conf_batch ORDER BY x')).getRows();
    assert.deepEqual(rows, [{ X: 11 }, { X: 12 }]);
  });

  await check('a wrong password is rejected with 08004', async () => {
    failedLogins++;
    const client = newClient({ password: 'not-the-password' });
    let rejection;
    await client.connect().catch((error) => {
      rejection = error;
    });
    // The driver rejects with the server's exception object itself, not an Error.
    assert.ok(rejection, 'connect() must fail');
    assert.equal(rejection.sqlCode, '08004', describe(rejection));
    await closeClient(client);
  });

  await check('an unknown user is rejected with 08004', async () => {
    failedLogins++;
    const client = newClient({ tls: true, user: 'nobody' });
    let rejection;
    await client.connect().catch((error) => {
      rejection = error;
    });
    assert.ok(rejection, 'connect() must fail');
    assert.equal(rejection.sqlCode, '08004', describe(rejection));
    await closeClient(client);
  });

  await check('compression (zlib frames after login): SELECT of every type', async () => {
    const recorder = new harness.Recorder();
    const client = await connect({ tls: true, compression: true, recorder });
    assert.equal(recorder.sent[1].useCompression, true);
    const rows = (await client.query('SELECT c_int, c_varchar, c_scaled FROM conf_types ORDER BY c_int')).getRows();
    assert.deepEqual(rows, [
      { C_INT: -7, C_VARCHAR: 'äöü😀', C_SCALED: '-0.125' },
      { C_INT: 42, C_VARCHAR: 'hello', C_SCALED: '12345.678' },
    ]);
    assert.equal(recorder.sent.length, 2, 'after login every request is a binary zlib frame');
    await closeClient(client);
  });

  await check('ExasolPool: 8 queries over a pool of at most 2 sessions', async () => {
    const factory = harness.makeWebsocketFactory(WebSocket, { fingerprint: target().fingerprint });
    const pool = new ExasolPool(factory, {
      ...harness.driverConfig({ port: target().port, tls: true, user: USER, password: PASSWORD }),
      minimumPoolSize: 0,
      maximumPoolSize: 2,
    });
    try {
      const results = await Promise.all(range(0, 8).map((i) => pool.query(`SELECT ${i} AS I`)));
      results.forEach((result, i) => assert.deepEqual(result.getRows(), [{ I: i }]));
    } finally {
      await pool.drain();
      await pool.clear();
    }
  });

  const cancelName = proxy ? 'second exasim with 3 s query latency behind a second proxy' : 'second exasim, 3 s query latency';
  await check(`cancel(): abortQuery ends a running query with R0003 (${cancelName})`, async () => {
    const slow = await harness.startSim(exapoolPath, ['--sim.query-latency=3s']);
    let slowProxy;
    try {
      if (proxy) slowProxy = await harness.startProxy(exapoolPath, slow.dsn, { mode: proxy.mode, poolSize: POOL_SIZE });
      const server = slowProxy || slow;
      const factory = harness.makeWebsocketFactory(WebSocket, { fingerprint: server.fingerprint });
      const client = new ExasolDriver(
        factory,
        harness.driverConfig({ port: server.port, user: USER, password: PASSWORD }),
      );
      await client.connect();
      const running = client.query('SELECT 1 AS ONE', undefined, undefined, 'raw');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await client.cancel(); // abortQuery gets no response of its own
      const response = await running;
      assert.equal(response.status, 'error', 'the query must not finish normally');
      assert.equal(response.exception.sqlCode, 'R0003');
      assert.deepEqual((await client.query('SELECT 1 AS ONE')).getRows(), [{ ONE: 1 }]);
      await client.close();
    } finally {
      if (slowProxy) await slowProxy.closeAndWait(15000);
      await slow.closeAndWait(15000);
    }
  });

  if (proxy) await proxyChecks(ws);

  if (proxy) {
    await check(`disconnect through the proxy: exasim's EXA_ALL_SESSIONS shows only the proxy's sessions (CLIENT '${PROXY_CLIENT}', at most ${POOL_SIZE}), before and after`, async () => {
      for (const client of [...openClients]) await closeClient(client);
      wsClient = wssClient = undefined;
      const observer = await connectDirect({ tls: true, clientName: 'exapool-observer' });
      await proxySessions(observer);
      const recorder = new harness.Recorder();
      const probe = await connect({ recorder, clientName: 'exapool-probe' });
      const sessionId = recorder.received[1].responseData.sessionId;
      assert.ok(sessionId >= PROXY_ID_BASE, `the probe's session id ${sessionId} is the proxy's`);
      assert.deepEqual((await probe.query('SELECT 1 AS ONE')).getRows(), [{ ONE: 1 }]);
      // The probe's own view goes upstream too: it sees the proxy's sessions and the observer.
      const seen = (await probe.query('SELECT CLIENT FROM EXA_ALL_SESSIONS')).getRows().map((r) => String(r.CLIENT));
      assert.ok(!seen.some((client) => client.includes('exapool-probe')), `client names stay in the proxy: ${seen}`);
      assert.ok(seen.includes(PROXY_CLIENT), `the probe runs on a proxy session: ${seen}`);
      const during = await proxySessions(observer);
      assert.ok(during.length >= 1);
      await closeClient(probe);
      assert.equal(recorder.commandsSent().pop(), 'disconnect');
      assert.deepEqual(recorder.received[recorder.received.length - 1], { status: 'ok' });
      // The upstream session goes back to the pool, not away: still at most the pool size.
      await proxySessions(observer);
      const last = await connect({ clientName: 'exapool-last' });
      assert.ok((await sessionCount(last)) <= POOL_SIZE + 1, 'the proxy sessions and the observer');
      await closeClient(last);
      await proxySessions(observer);
      await closeClient(observer);
    });
  } else await check('disconnect: EXA_ALL_SESSIONS shows the session, then not', async () => {
    for (const client of [...openClients]) await closeClient(client);
    const observer = await connect({ tls: true, clientName: 'exapool-observer' });
    await waitForSessionCount(observer, 1); // every earlier session is gone
    const recorder = new harness.Recorder();
    const probe = await connect({ recorder, clientName: 'exapool-probe' });
    const rows = (
      await observer.query(
        'SELECT SESSION_ID, USER_NAME, STATUS, CLIENT, DRIVER, LOGIN_TIME FROM EXA_ALL_SESSIONS',
      )
    ).getRows();
    assert.equal(rows.length, 2);
    const row = rows.find((r) => String(r.CLIENT).includes('exapool-probe'));
    assert.ok(row, `a row for the probe session: ${JSON.stringify(rows)}`);
    assert.equal(String(row.USER_NAME).toUpperCase(), 'SYS');
    assert.match(String(row.DRIVER), /exasol-driver-ts/);
    assert.ok(row.SESSION_ID !== null && row.LOGIN_TIME !== null && row.STATUS !== null);
    await closeClient(probe);
    assert.equal(recorder.commandsSent().pop(), 'disconnect');
    assert.deepEqual(recorder.received[recorder.received.length - 1], { status: 'ok' });
    await waitForSessionCount(observer, 1);
    await closeClient(observer);
    const last = await connect({ clientName: 'exapool-last' });
    await waitForSessionCount(last, 1); // only itself: nothing leaked
    await closeClient(last);
  });

  if (proxy) {
    const allowed = POOL_SIZE + killedUpstream;
    const replaced = killedUpstream ? ` (${POOL_SIZE} + ${killedUpstream} replacing killed ones)` : '';
    await check(`exapool proxy exits 0 when its stdin closes, having opened at most ${allowed} upstream sessions${replaced}`, async () => {
      const { code, signal } = await proxy.closeAndWait(15000);
      assert.equal(signal, null, `killed by ${signal}`);
      assert.equal(code, 0, 'exit code');
      const summary = proxy.stderrTail().find((line) => line.startsWith('exapool proxy stopped:'));
      assert.ok(summary, "exapool proxy printed its 'exapool proxy stopped: ...' line");
      const opened = Number((/upstream sessions opened (\d+)/.exec(summary) || [])[1]);
      assert.ok(opened >= 1 && opened <= allowed, summary);
    });
  }

  const simStops = proxy
    ? `${failedLogins} failed logins passed on by the proxy, at most ${POOL_SIZE} + ${killedUpstream} + ${directLogins} direct sessions opened`
    : `${failedLogins} failed logins`;
  await check(`exapool sim exits 0 when its stdin closes: ${simStops}, no protocol violations`, async () => {
    const { code, signal } = await sim.closeAndWait(15000);
    assert.equal(signal, null, `killed by ${signal}`);
    assert.equal(code, 0, 'exit code');
    const summary = sim.stderrTail().find((line) => line.startsWith('exasim stopped:'));
    assert.ok(summary, "exapool sim printed its 'exasim stopped: ...' counters");
    const counter = (name) => Number((new RegExp(`${name} (\\d+)`).exec(summary) || [])[1]);
    assert.equal(counter('failed logins'), failedLogins, summary);
    assert.equal(counter('protocol violations'), 0, summary);
    assert.equal(counter('sessions opened'), counter('closed'), summary);
    if (proxy) assert.ok(counter('sessions opened') <= POOL_SIZE + killedUpstream + directLogins, summary);
  });
}

// Checks that only a proxy needs: what pooling must and must not change for a driver.
// ws: the shared plain-ws client of run(), logged in.
async function proxyChecks(ws) {
  const mode = proxy.mode;
  if (mode === 'transaction') {
    await check(`proxy (transaction mode): 8 driver connections share ${POOL_SIZE} upstream sessions; while open transactions hold all of them, the others wait for a COMMIT (or end on cancel())`, async () => {
      const observer = await connectDirect({ clientName: 'exapool-observer' });
      const holders = [];
      const others = [];
      try {
        // Autocommit off: the first statement opens a transaction, which pins its connection.
        for (const i of range(0, POOL_SIZE)) holders.push(await connect({ tls: i % 2 === 1, autocommit: false }));
        for (const i of range(0, 8 - POOL_SIZE)) others.push(await connect({ tls: i % 2 === 0 }));
        for (const [i, holder] of holders.entries()) {
          assert.deepEqual((await holder.query(`SELECT ${i} AS I`)).getRows(), [{ I: i }]);
        }
        assert.equal((await proxySessions(observer)).length, POOL_SIZE, 'one upstream session per open transaction');
        const [cancelled, ...waiters] = others;
        const gaveUp = cancelled.query('SELECT 0 AS I', undefined, undefined, 'raw');
        const waiting = Promise.all(waiters.map((client, i) => client.query(`SELECT ${i + 1} AS I`)));
        assert.equal(await settlesWithin(waiting, 1000), false, 'no upstream session is free: the statements wait');
        // cancel() of a statement that waits for a pooled connection ends it.
        await cancelled.cancel();
        const response = await withTimeout(gaveUp, 5000, 'the cancelled waiting statement');
        assert.equal(response.status, 'error', 'cancel() ends the wait');
        assert.equal(response.exception.sqlCode, 'R0003');
        for (const holder of holders) await holder.execute('COMMIT');
        const results = await withTimeout(waiting, 10000, 'the waiting statements after COMMIT');
        results.forEach((result, i) => assert.deepEqual(result.getRows(), [{ I: i + 1 }]));
        assert.deepEqual((await cancelled.query('SELECT 0 AS I')).getRows(), [{ I: 0 }]);
        // Now all 8 at once, each statement big enough (5000 rows) that they overlap upstream;
        // the holders (autocommit off) end the transaction each SELECT opens.
        const clients = [...holders, ...others];
        const selectAndCommit = async (client, sql) => {
          const result = await client.query(sql);
          if (holders.includes(client)) await client.execute('COMMIT');
          return result;
        };
        for (const round of range(0, 2)) {
          const all = await Promise.all(
            clients.map((client, i) => selectAndCommit(client, `SELECT id + ${i + round} AS N FROM conf_rows ORDER BY id`)),
          );
          all.forEach((result, i) => {
            const rows = result.getRows();
            assert.equal(rows.length, ROWS);
            assert.deepEqual(rows[ROWS - 1], { N: ROWS - 1 + i + round });
          });
        }
        assert.equal((await proxySessions(observer)).length, POOL_SIZE);
      } finally {
        for (const client of [...holders, ...others]) await closeClient(client);
        await closeClient(observer);
      }
    });
  } else {
    await check(`proxy (session mode): each driver connection holds its own upstream session, one beyond ${POOL_SIZE} waits for a free one`, async () => {
      const observer = await connectDirect({ clientName: 'exapool-observer' });
      const clients = [];
      try {
        // The shared ws and wss clients hold two of the pool's sessions already.
        for (const i of range(0, POOL_SIZE - 2)) clients.push(await connect({ tls: i % 2 === 1 }));
        for (const [i, client] of clients.entries()) {
          assert.deepEqual((await client.query(`SELECT ${i} AS I`)).getRows(), [{ I: i }]);
        }
        assert.equal((await proxySessions(observer)).length, POOL_SIZE, 'one upstream session per client');
        const extra = newClient({ clientName: 'exapool-extra' });
        const login = extra.connect();
        assert.equal(await settlesWithin(login, 1000), false, 'a login beyond the pool size waits');
        await closeClient(clients.pop());
        await withTimeout(login, 10000, 'the waiting login once a session is free');
        assert.deepEqual((await extra.query('SELECT 7 AS I')).getRows(), [{ I: 7 }]);
        assert.equal((await proxySessions(observer)).length, POOL_SIZE, 'the freed session was reused');
        clients.push(extra);
      } finally {
        for (const client of clients) await closeClient(client);
        await closeClient(observer);
      }
    });
  }

  await check('proxy: a transaction (autocommit off) is invisible to another driver connection until COMMIT', async () => {
    await ws.execute('CREATE TABLE conf_tx (x DECIMAL(9,0))');
    const writer = await connect({ autocommit: false, clientName: 'exapool-writer' });
    const reader = await connect({ tls: true, clientName: 'exapool-reader' });
    try {
      assert.equal(await writer.execute('INSERT INTO conf_tx VALUES (1)'), 1);
      assert.equal(await writer.execute('INSERT INTO conf_tx VALUES (2)'), 1);
      assert.equal(await count(writer, 'conf_tx'), 2, 'the writer sees its own rows');
      assert.equal(await count(reader, 'conf_tx'), 0, 'no other connection sees them before COMMIT');
      assert.equal(await count(ws, 'conf_tx'), 0, 'no other connection sees them before COMMIT');
      await writer.execute('COMMIT');
      assert.equal(await count(reader, 'conf_tx'), 2, 'everyone sees them after COMMIT');
      assert.equal(await writer.execute('INSERT INTO conf_tx VALUES (3)'), 1);
      assert.equal(await count(writer, 'conf_tx'), 3);
      assert.equal(await count(reader, 'conf_tx'), 2);
      await writer.execute('ROLLBACK');
      assert.equal(await count(writer, 'conf_tx'), 2, 'ROLLBACK took the third row back');
      assert.equal(await count(reader, 'conf_tx'), 2);
      await closeClient(writer);
      // Autocommit switched off by a statement's own attributes instead of at login.
      const late = await connect({ clientName: 'exapool-late' });
      try {
        assert.equal(await late.execute('INSERT INTO conf_tx VALUES (4)', { autocommit: false }), 1);
        assert.equal(await count(late, 'conf_tx'), 3);
        assert.equal(await count(reader, 'conf_tx'), 2, 'no other connection sees it before COMMIT');
        await late.execute('ROLLBACK');
        assert.equal(await count(late, 'conf_tx'), 2);
      } finally {
        await closeClient(late);
      }
    } finally {
      if (openClients.has(writer)) await closeClient(writer);
      await closeClient(reader);
    }
  });

  await check('proxy: an open transaction is rolled back when its driver connection closes', async () => {
    const writer = await connect({ autocommit: false });
    assert.equal(await writer.execute('INSERT INTO conf_tx VALUES (99)'), 1);
    await closeClient(writer);
    const rows = (await ws.query('SELECT x FROM conf_tx ORDER BY x')).getRows();
    assert.deepEqual(rows, [{ X: 1 }, { X: 2 }]);
    // The pool's connection that held it serves others afterwards.
    const again = await connect({ autocommit: false });
    assert.equal(await again.execute('INSERT INTO conf_tx VALUES (3)'), 1);
    await again.execute('COMMIT');
    await closeClient(again);
    assert.equal(await count(ws, 'conf_tx'), 3);
  });

  await check('proxy: when the upstream session holding a transaction is killed, that driver connection can commit nothing more', async () => {
    const observer = await connectDirect({ clientName: 'exapool-observer' });
    try {
      const writer = await connect({ autocommit: false, clientName: 'exapool-writer' });
      try {
        assert.equal(await writer.execute('INSERT INTO conf_tx VALUES (10)'), 1);
        const [{ S: upstream }] = (await writer.query('SELECT CURRENT_SESSION AS S')).getRows();
        assert.ok(Number(upstream) < PROXY_ID_BASE, `CURRENT_SESSION is the upstream session: ${upstream}`);
        await observer.execute(`KILL SESSION ${upstream}`);
        killedUpstream++;
        const sqlCode = async (sql) => {
          const response = await writer.execute(sql, undefined, undefined, 'raw');
          return response.status === 'ok' ? 'ok' : response.exception.sqlCode;
        };
        assert.equal(await sqlCode('INSERT INTO conf_tx VALUES (11)'), '08001', 'the statement that finds the loss');
        // Exasol would have closed this connection; on another upstream session a COMMIT would
        // commit row 12 without row 10.
        assert.equal(await sqlCode('INSERT INTO conf_tx VALUES (12)'), '08001', 'every later statement fails');
        assert.equal(await sqlCode('COMMIT'), '08001');
      } finally {
        await closeClient(writer);
      }
      assert.deepEqual((await observer.query('SELECT x FROM conf_tx WHERE x >= 10')).getRows(), []);
      const next = await connect({ autocommit: false });
      assert.equal(await next.execute('INSERT INTO conf_tx VALUES (10)'), 1);
      await next.execute('ROLLBACK');
      await closeClient(next);
      assert.equal(await count(observer, 'conf_tx'), 3);
    } finally {
      await closeClient(observer);
    }
  });

  await check('proxy: a prepared statement keeps working while other connections run statements, then closes', async () => {
    const recorder = new harness.Recorder();
    const owner = await connect({ recorder });
    const others = [];
    try {
      // Session mode: the shared ws and wss clients and the owner hold three of the pool's sessions.
      const otherCount = proxy.mode === 'transaction' ? 3 : POOL_SIZE - 3;
      for (const i of range(0, otherCount)) others.push(await connect({ tls: i % 2 === 1 }));
      const statement = await owner.prepare('SELECT id, label FROM conf_rows WHERE id = ? ORDER BY id');
      for (const id of [11, 4999, 0]) {
        const response = await statement.execute(id);
        assert.deepEqual(firstResultSet(response).data, [[id], [`row-${id}`]]);
        // Meanwhile the others keep the pool busy with statements of their own.
        const results = await Promise.all(others.map((client, i) => client.query(`SELECT ${i} AS I`)));
        results.forEach((result, i) => assert.deepEqual(result.getRows(), [{ I: i }]));
      }
      await statement.close();
      const closed = recorder.received[recorder.sent.map((m) => m.command).lastIndexOf('closePreparedStatement')];
      assert.deepEqual(closed, { status: 'ok' });
      assert.deepEqual((await owner.query('SELECT COUNT(*) AS N FROM conf_rows')).getRows(), [{ N: ROWS }]);
    } finally {
      for (const client of others) await closeClient(client);
      await closeClient(owner);
    }
  });

  if (mode === 'transaction') {
    await check('proxy (transaction mode): upstream sessions killed while idle are replaced before the driver notices', async () => {
      const observer = await connectDirect({ clientName: 'exapool-observer' });
      const clients = [];
      try {
        for (const i of range(0, POOL_SIZE)) clients.push(await connect({ tls: i % 2 === 1 }));
        const before = await proxySessions(observer);
        assert.ok(before.length >= 1, 'the proxy holds upstream sessions');
        for (const row of before) {
          await observer.execute(`KILL SESSION ${row.SESSION_ID}`);
          killedUpstream++;
        }
        // Past the pool's validation bypass (500 ms): a borrow checks an idle connection first.
        await new Promise((resolve) => setTimeout(resolve, 700));
        const results = await Promise.all(clients.map((client, i) => client.query(`SELECT ${i} AS I`)));
        results.forEach((result, i) => assert.deepEqual(result.getRows(), [{ I: i }]));
        assert.deepEqual((await ws.query('SELECT 1 AS ONE')).getRows(), [{ ONE: 1 }]);
        const after = await proxySessions(observer);
        const killed = new Set(before.map((row) => String(row.SESSION_ID)));
        assert.ok(after.every((row) => !killed.has(String(row.SESSION_ID))), 'only new upstream sessions');
      } finally {
        for (const client of clients) await closeClient(client);
        await closeClient(observer);
      }
    });
  }

  await check('proxy: a wrong password gets 08004, and does not keep the right one out', async () => {
    failedLogins++;
    const wrong = newClient({ password: 'exasol-but-wrong', clientName: 'exapool-wrong' });
    let rejection;
    await wrong.connect().catch((error) => {
      rejection = error;
    });
    assert.ok(rejection, 'connect() must fail');
    assert.equal(rejection.sqlCode, '08004', describe(rejection));
    await closeClient(wrong);
    const right = await connect({ tls: true });
    assert.deepEqual((await right.query('SELECT 1 AS ONE')).getRows(), [{ ONE: 1 }]);
    await closeClient(right);
  });
}

async function main() {
  const args = harness.parseArgs(process.argv.slice(2));
  const exapool = args.positional[0];
  exapoolPath = exapool;
  const viaProxy = args['via-proxy'];
  if (!exapool || args.positional.length > 1 || (viaProxy !== undefined && !['session', 'transaction'].includes(viaProxy))) {
    console.error('usage: node conformance.js <path to the exapool binary> [--via-proxy=session|transaction]');
    process.exit(2);
  }
  const guard = setTimeout(() => {
    failed++;
    console.log(`FAIL - everything finished within ${OVERALL_TIMEOUT_MS / 1000} s (hang guard)`);
    finish();
  }, OVERALL_TIMEOUT_MS);
  process.on('unhandledRejection', (reason) => unhandled.push(describe(reason)));
  process.on('uncaughtException', (error) => {
    failed++;
    console.log(`FAIL - uncaught exception: ${describe(error)}`);
    finish();
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      failed++;
      console.log(`FAIL - interrupted by ${signal}`);
      finish();
    });
  }
  await check('exapool sim starts and prints its ready line', async () => {
    sim = await harness.startSim(exapool);
  });
  if (sim && viaProxy) {
    await check(`exapool proxy (${viaProxy} mode, pool size ${POOL_SIZE}) starts in front of exasim and prints its ready line`, async () => {
      const started = await harness.startProxy(exapool, sim.dsn, { mode: viaProxy, poolSize: POOL_SIZE });
      proxy = started;
      assert.equal(started.mode, viaProxy);
      assert.equal(started.poolSize, POOL_SIZE);
      assert.notEqual(started.port, sim.port);
    });
  }
  if (sim && (proxy || !viaProxy)) {
    await run();
    for (const client of [...openClients]) {
      await closeClient(client).catch(() => {});
    }
  }
  clearTimeout(guard);
  finish();
}

main().catch((error) => {
  failed++;
  console.log(`FAIL - the harness itself: ${error && error.stack ? error.stack : error}`);
  finish();
});
