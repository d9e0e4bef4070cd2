// The cost of forgetting (issue 15): a dataset of N Dashly parts built by export --dataset, then `forget` of one
// customer (the pass that finds their conversations reads every file; only the files holding their rows are
// rewritten), `forget` again (nothing left to change: the read-only cost), and the next night's export into the
// dataset with its remembered list against the same export into a dataset that forgot nobody.
// Run after `npm run build`: node bench/forget-bench.mjs [--records N] [--format parquet|jsonl|csv] [--per-conversation K]
// Prints one JSON object. docs/privacy.md#cost and docs/performance.md#forgetting keep the measured numbers.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDatasetExport } from '../dist/datasets/run-dataset.js';
import { loadMapping } from '../dist/mapping/load-mapping.js';
import { expandInputs } from '../dist/readers/input-sources.js';
import { forgetInDataset } from '../dist/redact/forget-dataset.js';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const records = Number(arg('--records', '200000'));
const format = arg('--format', 'parquet');
const perConversation = Number(arg('--per-conversation', '10'));

const dir = await mkdtemp(path.join(tmpdir(), 'chatport-forget-bench-'));
try {
  const input = path.join(dir, 'night.jsonl');
  const lines = [];
  const conversations = Math.max(1, Math.floor(records / perConversation));
  for (let i = 0; i < records; i++) {
    const conversation = 1_000_000 + (i % conversations);
    const customer = `customer-${conversation}`;
    const agent = i % 3 === 1;
    lines.push(
      JSON.stringify({
        id: 5_000_000 + i,
        created: 1684923942 + (i % 86400) * 30,
        conversation,
        type: agent ? 'reply_admin' : 'reply_user',
        body: `message ${i} of conversation ${conversation}: my order ${100000 + i} has not arrived yet`,
        from: agent ? { id: 30542, type: 'admin', name: 'Alice' } : customer,
        removed: null,
      }),
    );
  }
  await writeFile(input, lines.join('\n') + '\n');
  const mapping = await loadMapping('dashly');
  const night = async (dataset) => {
    const t = performance.now();
    await runDatasetExport({ mapping, sources: await expandInputs([input]), dataset, format, onError: 'fail', chatportVersion: 'bench', workers: 0 });
    return Math.round(performance.now() - t);
  };
  const ds = path.join(dir, 'ds');
  const control = path.join(dir, 'control');
  const buildMs = await night(ds);
  await night(control);
  const forget = async () => {
    const t = performance.now();
    const r = await forgetInDataset({
      dataset: ds,
      request: { ids: ['customer-1000000'], emails: [] },
      drop: false,
      pseudonymKey: null,
      mapping: null,
      chatportVersion: 'bench',
    });
    return { ms: Math.round(performance.now() - t), rows: r.rows, files: r.files.length };
  };
  const first = await forget();
  const again = await forget();
  const nextWithList = await night(ds);
  const nextControl = await night(control);
  console.log(
    JSON.stringify({
      records,
      format,
      conversations,
      build_ms: buildMs,
      forget_ms: first.ms,
      forget_rows: first.rows,
      forget_files_rewritten: first.files,
      forget_again_ms: again.ms,
      forget_again_rows: again.rows,
      next_night_with_list_ms: nextWithList,
      next_night_control_ms: nextControl,
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
