// sync's cursors in a dataset (docs/sync.md#state): one state file per vendor, stream and --param values (Dashly's
// app_id: two apps synced into one dataset keep two cursors), in the dataset's `_chatport/versions/<n>/state/`,
// written by the dataset's RunState hook in the same commit as the rows the run read, so a cursor can never be
// ahead of the data it covers. Values are UTC ISO-8601 text. The token, the API's URL and any record content are
// never in it: the vendor, the stream, its cursor field, the parameter values, the cursor and the lookback.

import { createHash } from 'node:crypto';
import { ChatportError } from '../errors.js';
import { stableStringify } from '../json/stable-json.js';
import type { RunState } from '../datasets/run-dataset.js';
import type { ApiSpec } from '../mapping/api-spec.js';
import { WINDOW_FIELD, type HttpSource } from './http/http-source.js';

export const STATE_VERSION = 1;

export interface SyncStateFile {
  readonly chatport_sync_state: typeof STATE_VERSION;
  readonly vendor: string;
  readonly stream: string;
  readonly params: Readonly<Record<string, string>>;
  readonly field: string;
  /** ISO-8601 UTC (ends in Z). */
  readonly cursor: string;
  readonly lookback_seconds: number;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The state file of one stream: named by a hash of what identifies it (no value of it appears in the name). */
export function stateFileName(vendor: string, stream: string, params: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256').update(stableStringify({ vendor, stream, params })).digest('hex').slice(0, 16);
  return `sync-${stream.replace(/[^a-z0-9_]/g, '')}-${hash}.json`;
}

/** The RunState of a sync into a dataset: stored cursors into the source before it reads, its cursors out at the commit. */
export function syncRunState(o: {
  readonly api: ApiSpec;
  readonly vendor: string;
  readonly params: Readonly<Record<string, string>>;
  readonly source: HttpSource;
  /** --full-refresh: a state file that does not read is rewritten instead of stopping the run. */
  readonly fullRefresh?: boolean;
}): RunState & { readonly stored: ReadonlyMap<string, string> } {
  const streams = Object.entries(o.api.streams).filter(([, s]) => s.incremental !== undefined || s.windows !== undefined);
  const stored = new Map<string, string>();
  return {
    stored,
    begin(committed) {
      if (o.fullRefresh) refuseSharedFullRefresh(committed, o.vendor, o.params);
      const cursors = new Map<string, number>();
      for (const [name, stream] of streams) {
        const file = stateFileName(o.vendor, name, o.params);
        const text = committed.get(file);
        if (text === undefined) continue;
        let state: SyncStateFile;
        try {
          state = parseState(text, file);
        } catch (e) {
          if (o.fullRefresh) continue;
          throw e;
        }
        if (state.field !== (stream.incremental?.cursor ?? WINDOW_FIELD)) continue; // the mapping's cursor changed: read as a first run
        cursors.set(name, Date.parse(state.cursor));
        stored.set(name, state.cursor);
      }
      o.source.useStored(cursors);
    },
    files() {
      const out = new Map<string, string>();
      for (const c of o.source.cursors) {
        if (c.after === null) continue;
        const stream = o.api.streams[c.stream]!;
        const state: SyncStateFile = {
          chatport_sync_state: STATE_VERSION,
          vendor: o.vendor,
          stream: c.stream,
          params: o.params,
          field: c.field,
          cursor: c.after,
          lookback_seconds: stream.incremental?.lookback_seconds ?? stream.windows!.lookback_days * 86_400,
        };
        out.set(stateFileName(o.vendor, c.stream, o.params), JSON.stringify(state, null, 2) + '\n');
      }
      return out;
    },
  };
}

function parseState(text: string, file: string): SyncStateFile {
  let state: Partial<SyncStateFile>;
  try {
    state = JSON.parse(text) as Partial<SyncStateFile>;
  } catch {
    state = {};
  }
  if (state.chatport_sync_state !== STATE_VERSION || typeof state.cursor !== 'string' || !ISO_UTC.test(state.cursor) || typeof state.field !== 'string') {
    throw new ChatportError(
      'WRITE_IO',
      `the dataset's sync state ${file} is not one chatport wrote (a newer chatport, or changed by hand); sync with --full-refresh rewrites it`,
      'sync',
      { file },
    );
  }
  return state as SyncStateFile;
}

/**
 * A full refresh removes every row the run did not read: in a dataset that other --param values (another Dashly app)
 * also sync into, that would remove theirs. Refused before any request.
 */
function refuseSharedFullRefresh(committed: ReadonlyMap<string, string>, vendor: string, params: Readonly<Record<string, string>>): void {
  const mine = stableStringify(params);
  for (const [file, text] of committed) {
    if (!file.startsWith('sync-')) continue;
    let other: Partial<SyncStateFile>;
    try {
      other = JSON.parse(text) as Partial<SyncStateFile>;
    } catch {
      continue;
    }
    if (other.vendor !== vendor || stableStringify(other.params ?? {}) !== mine) {
      const what = Object.entries(other.params ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      throw new ChatportError(
        'CONFIG_BAD_OPTION',
        `the dataset is also synced from ${other.vendor ?? 'another vendor'}${what ? ` with --param ${what}` : ''}; --full-refresh would remove those rows: sync each into its own dataset to refresh fully`,
        'cli',
      );
    }
  }
}
