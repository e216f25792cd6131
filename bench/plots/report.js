#!/usr/bin/env node
// Turns the suite's results.csv into results.md (one table per benchmark, workload and metric:
// a row per variant, a column per session count; ratio tables against exapool; the issue's
// targets, measured against B1's figures) and into wide data files for the gnuplot scripts.
//
//   node bench/plots/report.js <results.csv> <machine.txt> <out dir>
// Writes <out dir>/results.md and <out dir>/data/<benchmark>_<workload>_<metric>.dat.
'use strict';
const fs = require('fs');
const path = require('path');

const HEADER = 'benchmark,workload,variant,sessions,metric,value,unit';
const BENCHMARK_TITLES = {
  W: 'W: wire layer, one connection',
  B1: 'B1: end-to-end throughput and latency, pool of 8, exasim on loopback',
  B2: 'B2: connection cost, open vs borrow from a warm pool',
  B3: 'B3: pool mechanics, borrow + return with do-nothing connections',
  B4: 'B4: scale, cost and memory as waiting sessions grow',
  B5: 'B5: scale, threads and memory with N pooled connections',
  R1: 'R1: remote sessions (another process, through a pool node) against local ones',
};
// The plots the suite draws for each benchmark (bench/plots/*.gp), linked from results.md.
const PLOTS = {
  B1: [
    ['b1_qps.png', 'B1 queries per second'],
    ['b1_p99.png', 'B1 p99 latency'],
    ['b1_cpu.png', 'B1 client CPU per statement'],
  ],
  B2: [['b2_cost.png', 'B2 open vs borrow']],
  B3: [['b3_cycles.png', 'B3 cycles per second, exapool and HikariCP']],
  B4: [['b4_scale.png', 'B4 cost and memory per waiting session']],
};
// Throughput metrics get a ratio table (exapool / variant: above 1 means exapool is faster).
const RATIO_METRICS = { B1: ['qps'], B3: ['cycles_per_s'] };
// The issues' targets, read from B1's figures: exapool's figure divided by the variant's at the
// same session count, for the workloads and counts each target names. qps must reach atLeast;
// cpu_us_per_query (client CPU per statement, lower is better) must stay at or below atMost.
// The ratios against ts_exasolpool combine two programs' rows, which is why they are here.
const ALL_SESSIONS = [1, 8, 32, 128];
const TARGETS = [
  { issue: 4, metric: 'qps', workloads: ['select1', 'rows1000'], sessions: [32], variant: 'ts_exasolpool', atLeast: 3.0 },
  { issue: 4, metric: 'qps', workloads: ['select1', 'rows1000'], sessions: [32], variant: 'lock_tuned', atLeast: 0.9 },
  { issue: 4, metric: 'qps', workloads: ['select1', 'rows1000'], sessions: [32], variant: 'physical_limit', atLeast: 0.8 },
  { issue: 10, metric: 'qps', workloads: ['select1'], sessions: [1, 8], variant: 'physical_limit', atLeast: 0.9 },
  { issue: 10, metric: 'qps', workloads: ['select1'], sessions: [32, 128], variant: 'physical_limit', atLeast: 0.95 },
  { issue: 10, metric: 'qps', workloads: ['rows1000'], sessions: ALL_SESSIONS, variant: 'physical_limit', atLeast: 0.95 },
  { issue: 10, metric: 'qps', workloads: ['select1', 'rows1000'], sessions: [8, 32], variant: 'ts_exasolpool', atLeast: 1.5 },
  { issue: 10, metric: 'cpu_us_per_query', workloads: ['select1'], sessions: [32], variant: 'physical_limit', atMost: 1.2 },
  { issue: 10, metric: 'cpu_us_per_query', workloads: ['select1'], sessions: [32], variant: 'ts_exasolpool', atMost: 1 / 3 },
];

function fail(message) {
  process.stderr.write(`report.js: ${message}\n`);
  process.exit(1);
}

function readRows(csvPath) {
  const lines = fs.readFileSync(csvPath, 'utf8').split('\n').filter((l) => l.trim() !== '');
  if (lines[0] !== HEADER) fail(`${csvPath}: first line is not the header ${HEADER}`);
  return lines.slice(1).map((line, i) => {
    const f = line.split(',');
    const value = Number(f[5]);
    const sessions = Number(f[3]);
    if (f.length !== 7 || !Number.isFinite(value) || !Number.isInteger(sessions))
      fail(`${csvPath} line ${i + 2}: not a row of ${HEADER}: ${line}`);
    const [benchmark, workload, variant, , metric, , unit] = f;
    return { benchmark, workload, variant, sessions, metric, value, unit };
  });
}

// B1 runs in rounds (run_suite.sh --rounds): a variant's k-th row of one workload, session
// count and metric is its round k. The tables show the median of the rounds; each row keeps
// its rounds' values in order (rounds) for the targets' per-round ratios.
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function collapseRounds(rows) {
  const byKey = new Map();
  for (const r of rows) {
    const key = [r.benchmark, r.workload, r.variant, r.sessions, r.metric].join('|');
    if (!byKey.has(key)) byKey.set(key, { ...r, rounds: [] });
    byKey.get(key).rounds.push(r.value);
  }
  return [...byKey.values()].map((r) => ({ ...r, value: median(r.rounds) }));
}

function unique(values) {
  return [...new Set(values)];
}

// exapool first, the others in the order the suite ran them.
function variantsOf(rows) {
  const all = unique(rows.map((r) => r.variant));
  return all.includes('exapool') ? ['exapool', ...all.filter((v) => v !== 'exapool')] : all;
}

function format(value) {
  if (value === undefined) return '–';
  // Thousands grouped with commas: 1,234,567.
  if (Math.abs(value) >= 100)
    return Math.round(value).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return Number(value.toPrecision(3)).toString();
}

// Several rows for one cell (a program run twice) keep the last, as a rerun supersedes.
function cellMap(rows) {
  const cells = new Map();
  for (const r of rows) cells.set(`${r.variant}|${r.sessions}`, r.value);
  return cells;
}

function markdownTable(corner, columns, rowNames, cellOf) {
  const lines = [
    `| ${corner} | ${columns.join(' | ')} |`,
    `|---|${columns.map(() => '---:').join('|')}|`,
  ];
  for (const name of rowNames)
    lines.push(`| ${name} | ${columns.map((c) => cellOf(name, c)).join(' | ')} |`);
  return lines.join('\n');
}

// Rows grouped by a key, groups and rows in the order of the CSV.
function groupBy(rows, keyOf) {
  const out = new Map();
  for (const r of rows) {
    const key = keyOf(r);
    if (!out.has(key)) out.set(key, []);
    out.get(key).push(r);
  }
  return out;
}

function sessionLabel(benchmark) {
  if (benchmark === 'B4') return 'variant \\ waiting sessions';
  if (benchmark === 'B3') return 'variant \\ sessions (threads)';
  return 'variant \\ sessions';
}

function valueTable(rows) {
  const sessions = unique(rows.map((r) => r.sessions)).sort((a, b) => a - b);
  const cells = cellMap(rows);
  return markdownTable(sessionLabel(rows[0].benchmark), sessions, variantsOf(rows), (v, s) =>
    format(cells.get(`${v}|${s}`)),
  );
}

function ratioTable(rows) {
  const sessions = unique(rows.map((r) => r.sessions)).sort((a, b) => a - b);
  const cells = cellMap(rows);
  const others = variantsOf(rows).filter((v) => v !== 'exapool');
  return markdownTable('exapool ÷ variant', sessions, others, (v, s) => {
    const mine = cells.get(`exapool|${s}`);
    const theirs = cells.get(`${v}|${s}`);
    if (mine === undefined || theirs === undefined || theirs === 0) return '–';
    return `${(mine / theirs).toFixed(2)}x`;
  });
}

// exapool's figure ÷ the variant's, round by round (a variant measured in fewer rounds pairs
// with exapool's first ones, from the same program run): their median and range.
function roundRatios(mine, theirs) {
  const ratios = [];
  for (let i = 0; i < Math.min(mine.length, theirs.length); ++i)
    if (theirs[i] !== 0) ratios.push(mine[i] / theirs[i]);
  return ratios;
}

function targetLines(rows) {
  const lines = [];
  const b1 = rows.filter((r) => r.benchmark === 'B1');
  for (const t of TARGETS) {
    for (const workload of t.workloads) {
      const ofWorkload = b1.filter((r) => r.workload === workload && r.metric === t.metric);
      const rounds = new Map(ofWorkload.map((r) => [`${r.variant}|${r.sessions}`, r.rounds]));
      for (const sessions of t.sessions) {
        const mine = rounds.get(`exapool|${sessions}`);
        const theirs = rounds.get(`${t.variant}|${sessions}`);
        if (mine === undefined || theirs === undefined) continue;
        const ratios = roundRatios(mine, theirs);
        if (ratios.length === 0) continue;
        const ratio = median(ratios);
        const range = `${ratios.length}: ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
        const bound = t.atLeast !== undefined ? `≥ ${t.atLeast}x` : `≤ ${t.atMost.toFixed(2)}x`;
        const met = t.atLeast !== undefined ? ratio >= t.atLeast : ratio <= t.atMost;
        const by = t.atLeast !== undefined ? t.atLeast - ratio : ratio - t.atMost;
        const verdict = met ? 'met' : `missed by ${by.toFixed(2)}`;
        const fields = [t.issue, workload, sessions, t.metric, t.variant, `${ratio.toFixed(2)}x`, bound, verdict, range];
        lines.push(`| ${fields.join(' | ')} |`);
      }
    }
  }
  if (lines.length === 0) return '';
  const header = [
    '| issue | workload | sessions | metric | against | exapool ÷ it (median) | target | | rounds: range |',
    '|---:|---|---:|---|---|---:|---:|---|---|',
  ];
  return [...header, ...lines].join('\n');
}

// B5 (bench/scale_bench): one table per variant with the thread counts before any connection,
// with N pooled connections and after N concurrent SELECT 1, the memory per pooled connection,
// and issue 10's thread target measured against them.
function scaleSection(rows) {
  const md = [];
  for (const [variant, ofVariant] of groupBy(rows, (r) => r.variant)) {
    const n = Math.max(...ofVariant.map((r) => r.sessions));
    const value = (workload, sessions, metric) => {
      const found = ofVariant.filter((r) => r.workload === workload && r.sessions === sessions && r.metric === metric);
      return found.length > 0 ? found[found.length - 1].value : undefined;
    };
    const before = value('pooled', 0, 'threads');
    const pooled = value('pooled', n, 'threads');
    const afterStatements = value('select1', n, 'threads');
    const limit = value('pooled', n, 'thread_limit');
    const perConnection = value('pooled', n, 'rss_bytes_per_connection');
    const fields = [
      ['threads before any connection', format(before)],
      [`threads with ${format(n)} pooled connections`, format(pooled)],
      [`threads after ${format(n)} concurrent SELECT 1`, format(afterStatements)],
      [
        'allowed: scheduler threads + I/O threads + 4',
        `${format(limit)} (${format(value('pooled', n, 'scheduler_threads'))} + ${format(value('pooled', n, 'io_threads'))} + 4)`,
      ],
      [
        'memory per pooled connection (VmRSS growth ÷ N)',
        perConnection === undefined ? '–' : `${format(perConnection)} bytes (${(perConnection / 1024).toFixed(1)} KB)`,
      ],
      [`prewarm of ${format(n)} connections`, `${format(value('pooled', n, 'prewarm_ms'))} ms`],
      [`${format(n)} concurrent SELECT 1`, `${format(value('select1', n, 'statements_ms'))} ms`],
    ];
    const note = variant === 'exapool' ? 'the client process alone' : 'exasim in the same process: memory includes its side';
    md.push(`### B5: threads and memory, ${variant} (${note})`, '', '| | |', '|---|---:|');
    for (const [name, cell] of fields) md.push(`| ${name} | ${cell} |`);
    md.push('');
    const most = Math.max(...[pooled, afterStatements].filter((v) => v !== undefined));
    if (limit !== undefined && Number.isFinite(most)) {
      const verdict = most <= limit ? 'met' : `missed by ${most - limit}`;
      md.push(
        `target (issue 10) threads with ${format(n)} pooled connections ≤ scheduler threads + I/O threads + 4 = ${format(limit)} → ${format(most)} (${verdict})`,
        '',
      );
    }
  }
  return md;
}

function machineSection(machinePath) {
  const lines = fs.readFileSync(machinePath, 'utf8').split('\n').filter((l) => l.includes('='));
  return lines.map((l) => {
    const at = l.indexOf('=');
    return `- ${l.slice(0, at)}: ${l.slice(at + 1)}`;
  });
}

// Benchmarks measured on one connection (W, B2) read best with a column per workload.
const BY_WORKLOAD = new Set(['W', 'B2']);

function byWorkloadTable(rows) {
  const workloads = unique(rows.map((r) => r.workload));
  const cells = new Map(rows.map((r) => [`${r.variant}|${r.workload}`, r.value]));
  return markdownTable('variant \\ workload', workloads, variantsOf(rows), (v, w) =>
    format(cells.get(`${v}|${w}`)),
  );
}

function writeMarkdown(rows, machinePath, outDir) {
  const md = ['# exapool benchmark results', '', ...machineSection(machinePath), ''];
  const targets = targetLines(rows);
  if (targets)
    md.push(
      '## Targets (B1: queries per second, and client CPU per statement; measured, not asserted)',
      '',
      'Each ratio is the median of the per-round ratios (exapool ÷ the variant in the same round);',
      'the last column gives how many rounds and their lowest and highest ratio.',
      '',
      targets,
      '',
    );
  for (const [benchmark, ofBenchmark] of groupBy(rows, (r) => r.benchmark)) {
    md.push(`## ${BENCHMARK_TITLES[benchmark] || benchmark}`, '');
    for (const [png, title] of PLOTS[benchmark] || []) md.push(`![${title}](${png})`, '');
    if (benchmark === 'B5') {
      md.push(...scaleSection(ofBenchmark));
      continue;
    }
    const done = new Set();
    for (const [key, group] of groupBy(ofBenchmark, (r) => `${r.workload}|${r.metric}`)) {
      const [workload, metric] = key.split('|');
      if (BY_WORKLOAD.has(benchmark)) {
        if (done.has(metric)) continue;
        done.add(metric);
        const all = ofBenchmark.filter((r) => r.metric === metric);
        const title = `### ${benchmark}: ${metric} (${all[0].unit}, sessions ${all[0].sessions})`;
        md.push(title, '', byWorkloadTable(all), '');
        continue;
      }
      const title = `### ${benchmark} ${workload}: ${metric} (${group[0].unit})`;
      md.push(title, '', valueTable(group), '');
      if ((RATIO_METRICS[benchmark] || []).includes(metric) && variantsOf(group).length > 1)
        md.push(
          `${benchmark} ${workload}: ${metric}, exapool ÷ variant (above 1: exapool is faster)`,
          '',
          ratioTable(group),
          '',
        );
    }
  }
  fs.writeFileSync(path.join(outDir, 'results.md'), md.join('\n'));
}

function writeWide(file, variants, lineKeys, cells) {
  const lines = [['key', ...variants.map((v) => `"${v}"`)].join(' ')];
  for (const k of lineKeys) {
    const values = variants.map((v) => (cells.has(`${v}|${k}`) ? cells.get(`${v}|${k}`) : 'NaN'));
    lines.push([k, ...values].join(' '));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

// One file per benchmark, workload and metric: a column per variant, a line per session count,
// NaN where a variant has no figure. A metric at one session count only gets one file per
// benchmark and metric instead, a line per workload (for bar charts).
function writePlotData(rows, outDir) {
  const dataDir = path.join(outDir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  for (const [key, group] of groupBy(rows, (r) => `${r.benchmark}|${r.metric}`)) {
    const [benchmark, metric] = key.split('|');
    if (!BY_WORKLOAD.has(benchmark)) continue;
    const cells = new Map(group.map((r) => [`${r.variant}|${r.workload}`, r.value]));
    writeWide(path.join(dataDir, `${benchmark}_${metric}.dat`), variantsOf(group),
      unique(group.map((r) => r.workload)), cells);
  }
  for (const [key, group] of groupBy(rows, (r) => `${r.benchmark}|${r.workload}|${r.metric}`)) {
    const [benchmark, workload, metric] = key.split('|');
    if (BY_WORKLOAD.has(benchmark)) continue;
    const sessions = unique(group.map((r) => r.sessions)).sort((a, b) => a - b);
    writeWide(path.join(dataDir, `${benchmark}_${workload}_${metric}.dat`), variantsOf(group),
      sessions, cellMap(group));
  }
}

function main() {
  const [csvPath, machinePath, outDir] = process.argv.slice(2);
  if (!outDir) fail('usage: report.js <results.csv> <machine.txt> <out dir>');
  fs.mkdirSync(outDir, { recursive: true });
  const rows = collapseRounds(readRows(csvPath));
  if (rows.length === 0) fail(`${csvPath} holds no rows`);
  writeMarkdown(rows, machinePath, outDir);
  writePlotData(rows, outDir);
}

main();
