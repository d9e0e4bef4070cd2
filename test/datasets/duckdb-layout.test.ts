// What DuckDB does with the dataset layout (docs/datasets.md): a table symlink to the current version is followed
// by a per-table glob with Hive partitions, a flip of the `current` symlink changes what the next read sees, and a
// glob over the whole dataset does not follow the table symlinks (it descends into _chatport/ instead).

import { linkSync, mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { duck, tempDir } from '../helpers/export-helpers.js';

describe('DuckDB on a versioned, symlinked dataset layout', () => {
  let dir = '';
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the current version through DIR/<table>, and the next version after a flip', async () => {
    dir = await tempDir('chatport-layout-');
    const v = (n: string, dt: string) => path.join(dir, '_chatport', 'versions', n, 'messages', `dt=${dt}`);
    for (const n of ['1', '2']) for (const dt of ['2023-05-29', '2023-05-30']) mkdirSync(v(n, dt), { recursive: true });
    await duck(`COPY (SELECT 'a' AS id) TO '${v('1', '2023-05-29')}/part-a.parquet' (FORMAT parquet)`);
    await duck(`COPY (SELECT 'b' AS id) TO '${v('1', '2023-05-30')}/part-b.parquet' (FORMAT parquet)`);
    linkSync(`${v('1', '2023-05-29')}/part-a.parquet`, `${v('2', '2023-05-29')}/part-a.parquet`);
    await duck(`COPY (SELECT 'b2' AS id) TO '${v('2', '2023-05-30')}/part-c.parquet' (FORMAT parquet)`);
    symlinkSync('versions/1', path.join(dir, '_chatport', 'current'));
    symlinkSync('_chatport/current/messages', path.join(dir, 'messages'));
    const read = () => duck(`SELECT id, dt::VARCHAR AS dt FROM read_parquet('${dir}/messages/**/*.parquet', hive_partitioning = true) ORDER BY id`);
    expect(await read()).toEqual([
      { id: 'a', dt: '2023-05-29' },
      { id: 'b', dt: '2023-05-30' },
    ]);
    symlinkSync('versions/2', path.join(dir, '_chatport', 'current.next'));
    renameSync(path.join(dir, '_chatport', 'current.next'), path.join(dir, '_chatport', 'current'));
    expect(await read()).toEqual([
      { id: 'a', dt: '2023-05-29' },
      { id: 'b2', dt: '2023-05-30' },
    ]);
    // a glob over the whole dataset skips the symlinks and reads every version's files: readers must glob a table
    const all = await duck(`SELECT count(*)::INTEGER AS n FROM read_parquet('${dir}/**/*.parquet')`);
    expect(all).toEqual([{ n: 4 }]);
  });
});
