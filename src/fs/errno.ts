// The errno code of a Node file-system error ('ENOENT', 'EEXIST', ...), or undefined for anything else.

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
