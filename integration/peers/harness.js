'use strict';
// Shared by conformance.js and bench_roundtrips.js: loads the official driver, starts
// `exapool sim` (and `exapool proxy` in front of it) and builds the WebSocket factories the
// driver needs (plain ws, and wss with the server's self-signed certificate pinned by its
// SHA-256 fingerprint).
// CommonJS and node >= 18 only: a newcomer on Debian 12 gets Debian's nodejs 18.

const { spawn } = require('node:child_process');
const net = require('node:net');
const tls = require('node:tls');

function loadDependencies() {
  try {
    // The package is "type": "module"; require() picks its CommonJS build (dist/index.cjs)
    // through the "exports" map, which works on node 18 without ESM interop.
    const driver = require('@exasol/exasol-driver-ts');
    const WebSocket = require('ws');
    return { driver, WebSocket };
  } catch (error) {
    if (error && error.code === 'MODULE_NOT_FOUND') {
      process.stderr.write(
        'integration/peers/node_modules is missing or incomplete: run `npm ci` in ' +
          'integration/peers (./run.sh test does it for you)\n' +
          `  (${error.message.split('\n')[0]})\n`,
      );
      process.exit(2);
    }
    throw error;
  }
}

const SIM_READY_LINE = /^exasim ready port=(\d+) fingerprint=([0-9A-Fa-f]{64}) dsn=(\S+)\s*$/;
const PROXY_READY_LINE =
  /^exapool proxy ready port=(\d+) fingerprint=([0-9A-Fa-f]{64}) dsn=(\S+) mode=(\S+) pool-size=(\d+)(?: admin-port=\d+)?(?: open-files=\d+)?\s*$/;

// Starts `<exapool> sim --sim.port=0` and resolves with
// {port, fingerprint, dsn, child, stop, closeAndWait, stderrTail}
// once it printed its ready line. Rejects if it exits first or stays silent for readyTimeoutMs.
function startSim(exapoolPath, extraArgs = [], readyTimeoutMs = 30000) {
  return startServer(exapoolPath, ['sim', '--sim.port=0', ...extraArgs], {
    name: 'exasim',
    readyLine: SIM_READY_LINE,
    readyTimeoutMs,
  });
}

// Starts `<exapool> proxy --proxy.port=0` in front of the exasim whose DSN is upstreamDsn (as
// exasim printed it: host/fingerprint:port, so the proxy pins exasim's certificate) and resolves
// like startSim, plus {mode, poolSize} from its ready line. Same process handling as startSim:
// the proxy stops when its stdin closes, and is killed if this process ends first.
function startProxy(exapoolPath, upstreamDsn, { mode = 'transaction', poolSize = 4, extraArgs = [] } = {},
  readyTimeoutMs = 30000) {
  return startServer(
    exapoolPath,
    ['proxy', '--proxy.port=0', `--proxy.upstream=${upstreamDsn}`, `--proxy.mode=${mode}`,
      `--exapool.max-size=${poolSize}`, ...extraArgs],
    { name: 'exapool proxy', readyLine: PROXY_READY_LINE, readyTimeoutMs },
  ).then((server) => ({ ...server, mode: server.match[4], poolSize: Number(server.match[5]) }));
}

// Starts `<exapool> <args>` with piped stdio and resolves once a stdout line matches readyLine
// (groups: port, fingerprint, dsn, ...). The server's stderr is kept (last 60 lines).
function startServer(exapoolPath, args, { name, readyLine, readyTimeoutMs }) {
  const what = `${exapoolPath} ${args[0]}`;
  const child = spawn(exapoolPath, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderrLines = [];
  let partialLine = ''; // a line can arrive split over several chunks
  const keepLine = (line) => {
    if (line.length === 0) return;
    stderrLines.push(line);
    if (stderrLines.length > 60) stderrLines.shift();
  };
  const keepStderr = (chunk) => {
    const lines = (partialLine + chunk.toString()).split('\n');
    partialLine = lines.pop();
    lines.forEach(keepLine);
  };
  child.stderr.on('data', keepStderr);
  child.stderr.on('end', () => keepLine(partialLine));
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    child.stdin.destroy();
  };
  // Never leave a server behind, whatever way this process ends.
  process.once('exit', stop);
  // The polite way: close its stdin (exapool sim and proxy stop on end of input) and wait for
  // the exit.
  const closeAndWait = (timeoutMs) =>
    new Promise((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve({ code: child.exitCode, signal: child.signalCode });
        return;
      }
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${what} did not exit within ${timeoutMs} ms after its stdin closed`));
      }, timeoutMs);
      // 'close', not 'exit': only then has all of its stderr (the counters) been read.
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        stopped = true;
        resolve({ code, signal });
      });
      child.stdin.end();
    });

  return new Promise((resolve, reject) => {
    let stdoutBuffer = '';
    let settled = false;
    const fail = (message) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop();
      const tail = stderrLines.length ? `\n  ${name} stderr:\n    ${stderrLines.join('\n    ')}` : '';
      reject(new Error(message + tail));
    };
    const timer = setTimeout(
      () => fail(`${what} printed no ready line within ${readyTimeoutMs} ms`),
      readyTimeoutMs,
    );
    child.on('error', (error) => fail(`cannot start ${exapoolPath}: ${error.message}`));
    child.on('exit', (code, signal) =>
      fail(`${what} exited before it was ready (code ${code}, signal ${signal})`),
    );
    child.stdout.on('data', (chunk) => {
      if (settled) return;
      stdoutBuffer += chunk.toString();
      let newline;
      while (!settled && (newline = stdoutBuffer.indexOf('\n')) >= 0) {
        const line = stdoutBuffer.slice(0, newline);
        stdoutBuffer = stdoutBuffer.slice(newline + 1);
        const match = readyLine.exec(line);
        if (!match) continue;
        settled = true;
        clearTimeout(timer);
        child.stdout.resume(); // keep draining so the server never blocks on a full pipe
        resolve({
          port: Number(match[1]),
          fingerprint: match[2].toLowerCase(),
          dsn: match[3],
          match,
          child,
          stop,
          closeAndWait,
          stderrTail: () => stderrLines.slice(),
        });
      }
    });
  });
}

function fingerprintOf(socket) {
  const certificate = socket.getPeerCertificate();
  if (!certificate || !certificate.fingerprint256) return '';
  return certificate.fingerprint256.replace(/:/g, '').toLowerCase();
}

// A replacement for ws's own TLS connect: Node's TLS cannot trust a certificate by its
// fingerprint, so CA checks are off and the leaf certificate's SHA-256 is compared right after
// the handshake instead; on a mismatch the socket is destroyed before the WebSocket opens,
// so no credentials are ever sent to the wrong server.
function pinnedTlsConnect(expectedFingerprint) {
  const expected = expectedFingerprint.toLowerCase();
  return (options) => {
    options.path = undefined;
    if (!options.servername && options.servername !== '') {
      options.servername = net.isIP(options.host) ? '' : options.host;
    }
    const socket = tls.connect({ ...options, rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      const actual = fingerprintOf(socket);
      if (actual !== expected) {
        socket.destroy(
          new Error(`certificate fingerprint mismatch: server has ${actual || 'none'}, expected ${expected}`),
        );
      }
    });
    return socket;
  };
}

// What the driver sent and received on one socket, for checks on the wire shapes.
// Only parsed JSON of text frames is kept; nothing of it is ever printed.
class Recorder {
  constructor() {
    this.sent = [];
    this.received = [];
  }
  commandsSent() {
    return this.sent.map((message) => message.command);
  }
  clear() {
    this.sent.length = 0;
    this.received.length = 0;
  }
}

// Builds the driver's websocketFactory. fingerprint: pin wss to it (required for wss://).
// recorder: optional Recorder that sees every text frame in both directions.
function makeWebsocketFactory(WebSocket, { fingerprint, recorder } = {}) {
  return (url) => {
    const options = {};
    if (url.startsWith('wss:')) {
      if (!fingerprint) throw new Error('wss needs the server certificate fingerprint');
      options.createConnection = pinnedTlsConnect(fingerprint);
    }
    const socket = new WebSocket(url, options);
    if (recorder) {
      const send = socket.send.bind(socket);
      socket.send = (data, ...rest) => {
        if (typeof data === 'string') recorder.sent.push(JSON.parse(data));
        return send(data, ...rest);
      };
      socket.on('message', (data, isBinary) => {
        if (!isBinary) recorder.received.push(JSON.parse(data.toString()));
      });
    }
    return socket;
  };
}

// Driver config for exasim (or the proxy) at 127.0.0.1 (not "localhost": node may resolve it to ::1 first).
function driverConfig({ port, tls: useTls, user, password, ...rest }) {
  return {
    host: '127.0.0.1',
    port,
    url: `${useTls ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    user,
    password,
    clientName: 'exapool-peers',
    clientVersion: '0.1.0',
    ...rest,
  };
}

// Parses --key=value arguments into an object; bare arguments land in positional.
function parseArgs(argv) {
  const options = { positional: [] };
  for (const argument of argv) {
    const match = /^--([^=]+)=(.*)$/.exec(argument);
    if (match) options[match[1]] = match[2];
    else if (argument.startsWith('--')) options[argument.slice(2)] = 'true';
    else options.positional.push(argument);
  }
  return options;
}

module.exports = {
  loadDependencies,
  startSim,
  startProxy,
  makeWebsocketFactory,
  pinnedTlsConnect,
  driverConfig,
  Recorder,
  parseArgs,
};
