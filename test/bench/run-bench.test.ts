// Tests for the benchmark harness (bench/run-bench.mjs) against a stand-in CLI (fixtures/fake-chatport.mjs), so
// the measuring, caching, failure reporting and exit codes are checked without depending on the real `chatport
// export`: a run that holds a known amount of memory must be reported with at least that peak RSS by both
// methods, a failing run must surface its stderr line and make the bench exit 1.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const RUN_BENCH = path.join(ROOT, 'bench', 'run-bench.mjs');
const FAKE = path.join(import.meta.dirname, 'fixtures', 'fake-chatport.mjs');

let dir: string;

function bench(args: string[], env: Record<string, string> = {}, bin = FAKE) {
  const r = spawnSync(process.execPath, [RUN_BENCH, '--bin', bin, '--out-dir', dir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const resultsPath = path.join(dir, 'results.json');
  const results = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : null;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, results };
}

const byId = (results: any, id: string) => results.results.find((r: any) => r.id === id);

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'chatport-bench-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('run-bench', () => {
  it("lists the issue's cases", () => {
    const r = spawnSync(process.execPath, [RUN_BENCH, '--list'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const ids = r.stdout.trim().split('\n');
    for (const kind of ['jsonl', 'array', 'envelope', 'jsonl.gz']) {
      for (const format of ['parquet', 'jsonl', 'csv']) expect(ids).toContain(`dashly-${kind}-${format}`);
    }
    expect(ids).toContain('expertflow-jsonl-parquet');
    expect(ids).toContain('oncehub-array-parquet');
    expect(ids).toContain('growth-dashly-jsonl-parquet');
    // the same work with --threads 1, to show what the worker threads add
    expect(ids).toContain('dashly-jsonl-1thread-parquet');
    expect(ids).toContain('dashly-jsonl-1thread-jsonl');
    expect(ids).toContain('dashly-jsonl-2threads-parquet');
    // the DuckDB baselines the ratio targets of issue 11 divide by
    expect(ids).toContain('duckdb-jsonl-parquet');
    expect(ids).toContain('duckdb-envelope-parquet');
    // what pseudonymizing and masking cost (issue 15), beside dashly-jsonl-1thread-jsonl
    expect(ids).toContain('dashly-jsonl-1thread-privacy-jsonl');
    expect(ids).toHaveLength(21);
  });

  it('measures each case in its own process, with the peak RSS the OS reports', () => {
    const r = bench(['--records', '500', '--cases', 'dashly-jsonl-parquet,dashly-jsonl.gz-csv,oncehub*'], { FAKE_CHATPORT_HOLD_MB: '180' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.results.rss.method).toBe(existsSync('/usr/bin/time') ? 'time' : 'proc');
    for (const id of ['dashly-jsonl-parquet', 'dashly-jsonl.gz-csv', 'oncehub-array-parquet']) {
      const c = byId(r.results, id);
      expect(c.status).toBe('ok');
      expect(c.records).toBe(500);
      expect(c.report).toMatchObject({ records_read: 500 });
      expect(c.warnings).toEqual([]);
      expect(c.seconds).toBeGreaterThan(0.15); // the fake lives at least 150 ms
      expect(c.recordsPerSec).toBeCloseTo(500 / c.seconds, 6);
      // The fake mostly sleeps: its own CPU time is positive and well below its wall time.
      expect(c.cpuSeconds).toBeGreaterThan(0);
      expect(c.cpuSeconds).toBeLessThan(c.seconds * 4);
      expect(typeof c.loadAverageBefore).toBe('number');
      expect(c.mbPerSec).toBeCloseTo(c.jsonBytes / 1e6 / c.seconds, 6);
      // 180 MB held by the child: the bench's own memory must not stand in for it, and it must not be missed.
      expect(c.peakRssBytes).toBeGreaterThan(180e6);
      expect(c.peakRssBytes).toBeLessThan(300e6);
    }
    const gz = byId(r.results, 'dashly-jsonl.gz-csv');
    expect(gz.inputBytes).toBeLessThan(gz.jsonBytes);
    expect(byId(r.results, 'dashly-jsonl-parquet').jsonBytes).toBe(gz.jsonBytes);
    expect(r.stdout).toContain('| case | input MB | records | seconds | MB/s | records/s | peak RSS MB | target | met? |');
    expect(r.stdout).toMatch(/\| dashly-jsonl-parquet \| [\d.]+ \| 500 \| [\d.]+ \| [\d.]+ \| [\d,]+ \| \d+ \| <=300 MB \| yes \|/);
    expect(r.stderr).toContain('generating dashly 500 records');
    // Outputs are deleted unless --keep.
    expect(readdirSync(path.join(dir, 'runs', 'dashly-jsonl-parquet-500'))).not.toContain('out');
  });

  it('runs the DuckDB baseline on the same input and prints each target of issue 11 as a ratio of the same run', () => {
    const r = bench(['--records', '500', '--cases', 'dashly-jsonl-parquet,dashly-jsonl-csv,duckdb-jsonl-parquet']);
    expect(r.status, r.stderr).toBe(0);
    const duck = byId(r.results, 'duckdb-jsonl-parquet');
    expect(duck.status).toBe('ok');
    expect(duck.command).toContain('duckdb-baseline.mjs');
    const ratios = r.results.ratios as { id: string; ratio: number; min: number; met: boolean }[];
    expect(ratios.map((x) => x.id).sort()).toEqual(['jsonl-csv-vs-duckdb-parquet', 'jsonl-parquet-vs-duckdb']);
    const parquet = ratios.find((x) => x.id === 'jsonl-parquet-vs-duckdb')!;
    expect(parquet.ratio).toBeCloseTo(byId(r.results, 'dashly-jsonl-parquet').recordsPerSec / duck.recordsPerSec, 9);
    expect(parquet.met).toBe(parquet.ratio >= 0.29);
    expect(r.stdout).toContain('| JSONL -> Parquet >= 0.29x DuckDB |');
  });

  it('reuses cached inputs on the next run', () => {
    const r = bench(['--records', '500', '--cases', 'dashly-jsonl-parquet', '--keep']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('generating');
    expect(readdirSync(path.join(dir, 'runs', 'dashly-jsonl-parquet-500', 'out'))).toEqual(['messages.parquet']);
  });

  it('measures the same peak by polling /proc VmHWM', () => {
    const r = bench(['--records', '500', '--cases', 'dashly-jsonl-parquet', '--rss-method', 'proc'], { FAKE_CHATPORT_HOLD_MB: '180' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.results.rss.method).toBe('proc');
    const c = byId(r.results, 'dashly-jsonl-parquet');
    expect(c.peakRssBytes).toBeGreaterThan(180e6);
    expect(c.peakRssBytes).toBeLessThan(300e6);
    expect(c.cpuSeconds).toBeGreaterThan(0);
  });

  it('reports a failing run with its stderr line and exits 1', () => {
    const r = bench(['--records', '500', '--cases', 'dashly-jsonl-*'], { FAKE_CHATPORT_FAIL_FORMAT: 'csv' });
    expect(r.status).toBe(1);
    const failed = byId(r.results, 'dashly-jsonl-csv');
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('exit 3: chatport: WRITE_FAILED: simulated failure writing csv');
    expect(byId(r.results, 'dashly-jsonl-parquet').status).toBe('ok');
    expect(r.stdout).toContain('| dashly-jsonl-csv | ');
    expect(r.stdout).toMatch(/\| dashly-jsonl-csv \|.*\| FAILED \|/);
    expect(r.stdout).toContain('FAILED dashly-jsonl-csv: exit 3: chatport: WRITE_FAILED: simulated failure writing csv');
    expect(r.results.summary.failed).toBe(1);
  });

  it('warns when chatport reports a different record count or redaction count', () => {
    const r = bench(['--records', '500', '--cases', 'dashly-jsonl-parquet'], { FAKE_CHATPORT_COUNT_OFFSET: '-1' });
    expect(r.status).toBe(0);
    const c = byId(r.results, 'dashly-jsonl-parquet');
    const meta = JSON.parse(readFileSync(`${path.resolve(ROOT, c.inputFile)}.meta.json`, 'utf8'));
    expect(meta.removed).toBeGreaterThan(0);
    expect(c.warnings).toEqual([
      'chatport reported 499 records read, input has 500',
      `chatport reported ${meta.removed - 1} records redacted, input has ${meta.removed} removed`,
    ]);
    expect(r.stdout).toContain('warning dashly-jsonl-parquet: chatport reported 499 records read');
  });

  it('skips the growth case unless --growth, and compares peaks at N and 4N with it', () => {
    const skipped = bench(['--records', '500', '--cases', 'growth']);
    expect(skipped.status).toBe(0);
    expect(byId(skipped.results, 'growth-dashly-jsonl-parquet').status).toBe('skipped');
    const r = bench(['--records', '500', '--cases', 'growth', '--growth']);
    expect(r.status, r.stderr).toBe(0);
    const g = byId(r.results, 'growth-dashly-jsonl-parquet');
    expect(g.runs.map((x: any) => x.records)).toEqual([500, 2000]);
    expect(g.growthRatio).toBeCloseTo(g.runs[1].peakRssBytes / g.runs[0].peakRssBytes, 9);
    expect(g.met).toBe(g.growthRatio <= 1.1);
    // the N run is the default case's, never the same input run with --threads 1
    const both = bench(['--records', '500', '--cases', 'dashly-jsonl-1thread-parquet,dashly-jsonl-parquet', '--growth']);
    expect(both.status, both.stderr).toBe(0);
    const n = byId(both.results, 'growth-dashly-jsonl-parquet').runs[0];
    expect(n.command).not.toContain('--threads');
    expect(n.command).toBe(byId(both.results, 'dashly-jsonl-parquet').command);
    // nor DuckDB's baseline, which reads the same input into the same format after it
    const duck = bench(['--records', '500', '--cases', 'dashly-jsonl-parquet,duckdb-jsonl-parquet', '--growth']);
    expect(duck.status, duck.stderr).toBe(0);
    const first = byId(duck.results, 'growth-dashly-jsonl-parquet').runs[0];
    expect(first.command).toBe(byId(duck.results, 'dashly-jsonl-parquet').command);
    expect(first.command).not.toBe(byId(duck.results, 'duckdb-jsonl-parquet').command);
  });

  it('runs the entry point as its first line says: the environment it sets and the Node flags it passes', () => {
    const bin = path.join(dir, 'entry-line.mjs');
    const fake = readFileSync(FAKE, 'utf8');
    writeFileSync(bin, `#!/usr/bin/env -S FAKE_CHATPORT_ENTRY=from-the-line node --stack-size=900 --max-semi-space-size=4\n${fake}`);
    const r = bench(['--records', '200', '--cases', 'dashly-jsonl-parquet'], {}, bin);
    expect(r.status, r.stderr).toBe(0);
    expect(byId(r.results, 'dashly-jsonl-parquet').report.entry).toEqual({
      env: 'from-the-line',
      execArgv: ['--stack-size=900', '--max-semi-space-size=4'],
    });
    // a plain `env node` line: no flags, no environment
    writeFileSync(bin, `#!/usr/bin/env node\n${fake}`);
    const plain = bench(['--records', '200', '--cases', 'dashly-jsonl-parquet'], {}, bin);
    expect(plain.status, plain.stderr).toBe(0);
    expect(byId(plain.results, 'dashly-jsonl-parquet').report.entry).toEqual({ env: null, execArgv: [] });
    // a first line the bench cannot read would be measured without what it sets: it refuses, before generating inputs
    for (const line of ['#!/usr/bin/env -S node-canary --flag', '#!/usr/bin/env -S FAKE_CHATPORT_ENTRY=$HOME node', '#!/usr/bin/python3']) {
      writeFileSync(bin, `${line}\n${fake}`);
      const refused = bench(['--records', '201', '--cases', 'dashly-jsonl-parquet'], {}, bin);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain("does not understand the entry point's first line");
      expect(refused.stderr).not.toContain('generating');
    }
  });

  it('with --repeat, runs every case that many times in rounds, and keeps the best rate and the highest peak', () => {
    const r = bench(['--records', '300', '--cases', 'dashly-jsonl-parquet,dashly-jsonl-csv', '--growth', '--repeat', '3'], { FAKE_CHATPORT_HOLD_MB: '40' });
    expect(r.status, r.stderr).toBe(0);
    // rounds: each round runs every case once, so the two cases alternate
    const order = [...r.stderr.matchAll(/running (\S+) \(300 records\)/g)].map((m) => m[1]);
    expect(order).toEqual(['dashly-jsonl-parquet', 'dashly-jsonl-csv', 'dashly-jsonl-parquet', 'dashly-jsonl-csv', 'dashly-jsonl-parquet', 'dashly-jsonl-csv']);
    for (const id of ['dashly-jsonl-parquet', 'dashly-jsonl-csv']) {
      const c = byId(r.results, id);
      expect(c.repeats).toHaveLength(3);
      expect(c.recordsPerSec).toBe(Math.max(...c.repeats.map((x: any) => x.recordsPerSec)));
      expect(c.peakRssBytes).toBe(Math.max(...c.repeats.map((x: any) => x.peakRssBytes)));
      expect(c.seconds).toBe(Math.min(...c.repeats.map((x: any) => x.seconds)));
    }
    // the growth case's N is the same three runs; its 4N is run three times too
    const g = byId(r.results, 'growth-dashly-jsonl-parquet');
    expect(g.runs[0].repeats).toEqual(byId(r.results, 'dashly-jsonl-parquet').repeats);
    expect(g.runs[1].repeats).toHaveLength(3);
    expect(g.runs[1].records).toBe(1200);
    expect(r.stdout).toContain('each case ran 3 times, in interleaved rounds');
    expect(r.stdout).toMatch(/dashly-jsonl-csv: 3 of 3 runs ok, [\d,]+-[\d,]+ records\/s, peak RSS \d+-\d+ MB/);
    // a case whose every run failed is a failed case, and its note says so
    const failing = bench(['--records', '300', '--cases', 'dashly-jsonl-parquet,dashly-jsonl-csv', '--repeat', '2'], { FAKE_CHATPORT_FAIL_FORMAT: 'csv' });
    expect(failing.status).toBe(1);
    expect(byId(failing.results, 'dashly-jsonl-csv').status).toBe('failed');
    expect(byId(failing.results, 'dashly-jsonl-parquet').status).toBe('ok');
    expect(failing.stdout).toContain('dashly-jsonl-csv: none of 2 runs ok.');
  });

  it('refuses a --repeat that is not a positive integer, in one line', () => {
    for (const bad of ['0', '-1', '1.5', 'x']) {
      const r = bench(['--records', '300', '--cases', 'dashly-jsonl-parquet', `--repeat=${bad}`]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(`bench: --repeat must be a positive integer, not ${bad}`);
    }
  });

  it('fails with a usage error for a filter that matches nothing', () => {
    const r = bench(['--records', '500', '--cases', 'zendesk']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('matches no case');
  });
});
