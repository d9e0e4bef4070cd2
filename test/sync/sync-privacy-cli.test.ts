// `chatport sync --dataset` with --pseudonym-key-env and --mask-pii, through the built CLI against the Dashly test
// server, two nights: the customers' raw ids and the PII planted in their messages reach no byte of the dataset (its
// state and manifests included), stdout, stderr or --report, and the key appears nowhere; the pseudonyms are the HMAC
// docs/privacy.md gives, and the placeholders are there. Positive control: the same sync without the options writes
// every one of those values, so the searches can find them.
import { createHmac } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { filesContaining } from '../datasets/dataset-helpers.js';
import { runCli } from '../helpers/run-cli.js';
import { DashlyApiServer } from './dashly-api-server.js';
import { tempDir } from './sync-helpers.js';

const TOKEN = 'sync-privacy-TOKEN-7b3e1a';
const KEY = 'sync-pseudonym-key-9f2c4e6a8b0d1357';
/** Customer ids (Dashly sends a visitor's id as a bare number). */
const CUSTOMERS = ['731904586217', '846215937402'];
const PII = ['anna.lindqvist@example.org', '4111 1111 1111 1111', 'DE89 3704 0044 0532 0130 00'];
const servers: DashlyApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const pseudonym = (id: string) => createHmac('sha256', KEY).update(id, 'utf8').digest().subarray(0, 16).toString('base64url');

async function allText(dir: string): Promise<string> {
  let text = '';
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) text += await readFile(path.join(entry.parentPath, entry.name), 'utf8');
  }
  return text;
}

async function server(): Promise<DashlyApiServer> {
  const s = await new DashlyApiServer(TOKEN).start();
  servers.push(s);
  CUSTOMERS.forEach((customer, i) => {
    const c = s.add(2, `${1700000000 + i * 600}.000000`);
    c.parts[0]!.from = customer;
    c.parts[0]!.body = `hello, write to ${PII[0]} or charge ${PII[1]}`;
    c.parts[1]!.from = customer;
    c.parts[1]!.body = `my IBAN is ${PII[2]}, thanks`;
  });
  return s;
}

async function syncNight(s: DashlyApiServer, dataset: string, report: string, options: string[]) {
  return runCli(
    [
      'sync',
      '--from',
      'dashly',
      '--param',
      'app_id=4242',
      '--token-env',
      'T',
      '--api-url',
      s.url,
      '--dataset',
      dataset,
      '--report',
      report,
      '--rps',
      '200',
      ...options,
    ],
    { env: { T: TOKEN, SYNC_KEY: KEY } },
  );
}

describe('chatport sync --dataset with pseudonyms and PII masking', () => {
  it('no raw customer id, planted PII or key in any byte of the dataset, state, stdout, stderr or report, over two nights', async () => {
    const dir = await tempDir();
    const options = ['--pseudonym-key-env', 'SYNC_KEY', '--mask-pii', 'email,card,iban'];
    const s = await server();
    const dataset = path.join(dir, 'warehouse');
    const said: string[] = [];
    for (const night of [1, 2]) {
      if (night === 2) {
        // the next night: a new part of each conversation, with PII again
        for (const [i, c] of s.conversations.entries()) {
          const p = s.addPart(c, `new mail: ${PII[0]}`);
          p.from = CUSTOMERS[i]!;
          c.last_update = `${1700100000 + i}.000000`;
        }
      }
      const report = path.join(dir, `report-${night}.json`);
      const r = await syncNight(s, dataset, report, options);
      expect(r.code, r.stderr).toBe(0);
      said.push(r.stdout, r.stderr, await readFile(report, 'utf8'));
    }
    const everything = said.join('\n') + (await allText(dir));
    for (const v of [...CUSTOMERS, ...PII, KEY]) expect(everything, v).not.toContain(v);
    for (const v of [...CUSTOMERS, ...PII]) expect(await filesContaining(dataset, v), v).toEqual([]);
    // what is there instead: the pseudonyms (the HMAC docs/privacy.md gives) and the placeholders
    for (const c of CUSTOMERS) expect(await filesContaining(dataset, pseudonym(c)), c).not.toEqual([]);
    for (const placeholder of ['[email]', '[card]', '[iban]']) expect(await filesContaining(dataset, placeholder), placeholder).not.toEqual([]);
    const state = await allText(path.join(dataset, '_chatport', 'current', 'state'));
    expect(state).toContain('last_update');
  }, 180_000);

  it('positive control: without the options the same searches find every id and every planted value', async () => {
    const dir = await tempDir();
    const s = await server();
    const dataset = path.join(dir, 'warehouse');
    const r = await syncNight(s, dataset, path.join(dir, 'report.json'), []);
    expect(r.code, r.stderr).toBe(0);
    for (const v of [...CUSTOMERS, ...PII]) expect(await filesContaining(dataset, v), v).not.toEqual([]);
  }, 120_000);
});
