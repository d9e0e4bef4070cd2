// Runs a sync as the library does (runSync) into a fresh directory, with retries fast enough for tests, and reads
// back what it wrote.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { runSync, type SyncToDataset, type SyncToOut } from '../../src/sources/run-sync.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

export async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'chatport-sync-'));
  dirs.push(d);
  return d;
}

export const FAST_RETRY = { attempts: 8, baseMs: 2, maxMs: 20 };

export type SyncTestOptions = Partial<Omit<SyncToOut, 'mapping'>> & { vendor: string; apiUrl: string; token: string };

/** What every sync of these tests shares: fast, generous limits and retries; the test's options win. */
const TEST_RUN = {
  params: {},
  tokenName: 'TEST_TOKEN',
  format: 'jsonl',
  onError: 'fail',
  rps: 1000,
  concurrency: 4,
  maxRequests: 100_000,
  timeoutMs: 5000,
  retry: FAST_RETRY,
} as const;

export async function sync(o: SyncTestOptions) {
  const outDir = o.outDir ?? (await tempDir());
  const mapping = await loadMapping(o.vendor);
  const { vendor: _v, ...rest } = o;
  const result = await runSync({ ...TEST_RUN, ...rest, mapping, outDir });
  return { ...result, outDir };
}

/** The rows of OUT/<table>.jsonl as their exact lines. */
export async function lines(outDir: string, table: string): Promise<string[]> {
  const file = path.join(outDir, `${table}.jsonl`);
  if (!existsSync(file)) return [];
  const text = await readFile(file, 'utf8');
  return text === '' ? [] : text.trimEnd().split('\n');
}

/** message_id of each messages row, as written (ids are strings in our JSONL). */
export async function messageIds(outDir: string): Promise<string[]> {
  return (await lines(outDir, 'messages')).map((l) => /"message_id":"([^"]+)"/.exec(l)![1]!);
}

export async function files(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

export type DatasetSyncTestOptions = Partial<Omit<SyncToDataset, 'mapping'>> & { vendor: string; apiUrl: string; token: string; dataset: string };

/** A sync into a dataset, in this process, as the library runs it. */
export async function syncDataset(o: DatasetSyncTestOptions) {
  const mapping = await loadMapping(o.vendor);
  const { vendor: _v, ...rest } = o;
  return runSync({ ...TEST_RUN, chatportVersion: 'test', ...rest, mapping });
}
