// Mapping CSVs: header by name, quoting, BOM, CRLF, blank lines, conflicts.

import { describe, expect, it } from 'vitest';
import { parseIdMap } from '../../src/migrate/id-map-csv.js';

describe('parseIdMap', () => {
  it('reads source_id,target_id in any column order, with quotes, BOM, CRLF and extra columns', () => {
    const text = '\ufeffnote,target_id,source_id\r\n"a, b",18446744073709551615,"c""1"\r\n\r\nx,2,c2\n';
    expect([...parseIdMap(text, 'm.csv', '--map-conversations')]).toEqual([
      ['c"1', '18446744073709551615'],
      ['c2', '2'],
    ]);
  });

  it('names the file and line of a problem', () => {
    expect(() => parseIdMap('source,target\n1,2\n', 'm.csv', '--map-users')).toThrow(/--map-users: the header must name source_id and target_id/);
    expect(() => parseIdMap('source_id,target_id\n1,2\n1,3\n', 'm.csv', '--map-users')).toThrow(/mapped twice/);
    try {
      parseIdMap('source_id,target_id\n1,\n', 'm.csv', '--map-admins');
    } catch (e) {
      expect(e).toMatchObject({ code: 'CONFIG_BAD_OPTION', position: { file: 'm.csv', line: 2 } });
    }
    expect(() => parseIdMap('source_id,target_id\n"1,2\n', 'm.csv', '--map-admins')).toThrow(/unclosed quote/);
  });
});
