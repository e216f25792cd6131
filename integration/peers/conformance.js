'use strict';
// Conformance of exasim with the official Exasol TypeScript driver (@exasol/exasol-driver-ts).
//   node conformance.js <path to the exapool binary>
// Starts `exapool sim --sim.port=0`, runs every scenario with the driver over ws and wss, prints
// one line per check and a final `conformance: N passed, N failed`; exits non-zero on any failure.

const assert = require('node:assert/strict');
const harness = require('./harness.js');

const { driver, WebSocket } = harness.loadDependencies();
const { ExasolDriver, ExasolPool } = driver;

const USER = 'sys';
const PASSWORD = 'exasol'; // exasim's default user; never printed
const STEP_TIMEOUT_MS = 30000;
const OVERALL_TIMEOUT_MS = 120000;
const ROWS = 5000;

let passed = 0;
let failed = 0;
let sim;
let exapoolPath;
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
  if (failed > 0 && sim) {
    const tail = sim.stderrTail();
    if (tail.length) console.error(`exasim stderr (last lines):\n  ${tail.join('\n  ')}`);
  }
  console.log(`conformance: ${passed} passed, ${failed} failed`);
  if (sim) sim.stop();
  process.exit(failed > 0 ? 1 : 0);
}

// ---- driver helpers ---------------------------------------------------------------------------

function newClient({ tls = false, fingerprint, recorder, user = USER, password = PASSWORD, ...extra } = {}) {
  const factory = harness.makeWebsocketFactory(WebSocket, {
    fingerprint: fingerprint || sim.fingerprint,
    recorder,
  });
  const client = new ExasolDriver(factory, harness.driverConfig({ port: sim.port, tls, user, password, ...extra }));
  openClients.add(client);
  return client;
}

async function connect(options) {
  const client = newClient(options);
  await client.connect();
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
    const factory = harness.makeWebsocketFactory(WebSocket, { fingerprint: sim.fingerprint });
    const pool = new ExasolPool(factory, {
      ...harness.driverConfig({ port: sim.port, tls: true, user: USER, password: PASSWORD }),
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

  await check('cancel(): abortQuery ends a running query with R0003 (second exasim, 3 s query latency)', async () => {
    const slow = await harness.startSim(exapoolPath, ['--sim.query-latency=3s']);
    try {
      const factory = harness.makeWebsocketFactory(WebSocket, { fingerprint: slow.fingerprint });
      const client = new ExasolDriver(
        factory,
        harness.driverConfig({ port: slow.port, user: USER, password: PASSWORD }),
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
      await slow.closeAndWait(15000);
    }
  });

  await check('disconnect: EXA_ALL_SESSIONS shows the session, then not', async () => {
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

  await check('exapool sim exits 0 when its stdin closes: 2 failed logins, no protocol violations', async () => {
    const { code, signal } = await sim.closeAndWait(15000);
    assert.equal(signal, null, `killed by ${signal}`);
    assert.equal(code, 0, 'exit code');
    const summary = sim.stderrTail().find((line) => line.startsWith('exasim stopped:'));
    assert.ok(summary, "exapool sim printed its 'exasim stopped: ...' counters");
    const counter = (name) => Number((new RegExp(`${name} (\\d+)`).exec(summary) || [])[1]);
    assert.equal(counter('failed logins'), 2, summary);
    assert.equal(counter('protocol violations'), 0, summary);
    assert.equal(counter('sessions opened'), counter('closed'), summary);
  });
}

async function main() {
  const exapool = process.argv[2];
  exapoolPath = exapool;
  if (!exapool) {
    console.error('usage: node conformance.js <path to the exapool binary>');
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
  if (sim) {
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
