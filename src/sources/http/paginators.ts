// The pagination styles a mapping's api section may declare: each gives a stream's first request and, from an
// answer, the next one or null when the stream is done. They only compute URLs; ApiRequester sends them.
// - position (Dashly v2): the answer names the next position (`meta.next_before_position`, a JSON array such as
//   `[7936756]` or `[1684739969.358085, 1160406004324630614]`), sent back exactly as written; null = done.
// - link_header (OnceHub): the next page is the URL of the `Link: <...>; rel="next"` header; none = done. A link to
//   another origin is refused (SYNC_REDIRECT): the API key would go with it.
// - page_number (Expertflow): page, pageSize; done when the pages read reach the total the answer gives, or a page
//   has fewer records than asked for.
// A next request equal to the current one would loop forever: it is an API error, not a page.

import { ChatportError } from '../../errors.js';
import type { PaginationSpec } from '../../mapping/api-spec.js';
import type { TextGuard } from '../../http/untrusted-text.js';
import type { ApiAnswer } from './api-requester.js';
import { exactJson, scalarText, valueAt } from './value-path.js';

export interface Paginator {
  first(): URL;
  next(answer: ApiAnswer, current: URL): URL | null;
}

export function paginatorFor(spec: PaginationSpec, base: URL, guard: TextGuard): Paginator {
  const withParams = (params: Record<string, string>): URL => {
    const url = new URL(base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url;
  };
  const loop = (answer: ApiAnswer): ChatportError =>
    new ChatportError('SYNC_API_ERROR', `${answer.name}: the answer points to itself as the next page; stopped instead of reading it forever`, 'sync');
  switch (spec.style) {
    case 'none':
      return { first: () => new URL(base), next: () => null };
    case 'position': {
      const fixed = { ...spec.query, ...(spec.count_param && spec.count ? { [spec.count_param]: String(spec.count) } : {}) };
      return {
        first: () => withParams(fixed),
        next(answer, current) {
          const position = valueAt(answer.value, spec.next);
          if (position === undefined || position === null) return null;
          const text = exactJson(position);
          if (current.searchParams.get(spec.position_param) === text) throw loop(answer);
          return withParams({ ...fixed, [spec.position_param]: text });
        },
      };
    }
    case 'link_header':
      return {
        first: () => withParams(spec.limit_param && spec.limit ? { [spec.limit_param]: String(spec.limit) } : {}),
        next(answer, current) {
          const target = nextLink(answer.link);
          if (target === null) return null;
          let url: URL;
          try {
            url = new URL(target, current);
          } catch {
            throw new ChatportError('SYNC_API_ERROR', `${answer.name}: the Link header's next page is not a URL`, 'sync');
          }
          if (url.origin !== base.origin) {
            throw new ChatportError(
              'SYNC_REDIRECT',
              `${answer.name}: the Link header's next page is on ${guard.text(url.origin, 120)}, not the API's origin; not followed, so the key goes nowhere else`,
              'sync',
            );
          }
          if (url.href === current.href) throw loop(answer);
          return url;
        },
      };
    case 'page_number': {
      const first = spec.first_page ?? 1;
      return {
        first: () => withParams({ [spec.page_param]: String(first), [spec.size_param]: String(spec.size) }),
        next(answer, current) {
          const page = Number(current.searchParams.get(spec.page_param));
          const total = Number(scalarText(valueAt(answer.value, spec.total)) ?? NaN);
          const read = (page - first + 1) * spec.size;
          if (answer.records.length < spec.size) return null;
          if (Number.isFinite(total) && read >= total) return null;
          return withParams({ [spec.page_param]: String(page + 1), [spec.size_param]: String(spec.size) });
        },
      };
    }
  }
}

/** The target of the `rel="next"` link in a Link header (RFC 8288), or null. */
export function nextLink(header: string | null): string | null {
  if (header === null) return null;
  for (const m of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    for (const param of m[2]!.split(';')) {
      const pm = /^\s*rel\s*=\s*"?([^"]*)"?\s*$/i.exec(param);
      if (pm && pm[1]!.toLowerCase().split(/\s+/).includes('next')) return m[1]!;
    }
  }
  return null;
}
