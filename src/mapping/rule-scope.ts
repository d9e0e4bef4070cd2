// The vocabulary every compiled rule and condition shares: the per-record context they report into, the ancestors a
// `^` path climbs, where a rule sits in the mapping file (its scope, for messages and for tracking what it consumes),
// how a path is parsed and read in that scope, and the errors a rule raises (load-time CONFIG_MAPPING_INVALID, and
// record errors whose paths are placed in the record by the mapper).

import { ChatportError, type ErrorCode } from '../errors.js';
import type { ColumnType } from '../model/canonical-schema.js';
import { compileGetter, formatPath, parsePath, PathSyntaxError, type ParsedPath, type PathStep } from './paths.js';
import type { BranchMark, ConsumptionScope } from './consumed-tree.js';
import { shareableRead, sharedGetter, type RepeatedReads } from './once-per-element.js';

export interface MapContext {
  unknownEnum(column: string, raw: string): void;
  /** validate's coverage (MapObserver): told each rest that goes to an `extra`, with where its object sits in the record. */
  readonly kept?: (rest: Record<string, unknown>, at: readonly PathStep[]) => void;
  /** With kept: where the element being mapped (0) or one around it (1, 2...) sits in the record. */
  readonly locationUp?: (up: number) => readonly PathStep[];
}

/** The elements and record around the one a rule reads, nearest last (`^` is the last, `^^` the one before). */
export type Ancestors = readonly unknown[];
export const NO_ANCESTORS: Ancestors = Object.freeze([]);

export type Evaluate = (rec: unknown, up: Ancestors, index: number, ctx: MapContext) => unknown;
export type Test = (rec: unknown, up: Ancestors, ctx: MapContext) => boolean;

/** Where the rule sits, for messages and for tracking what it consumes. */
export interface RuleScope {
  readonly file: string;
  /** Path inside the mapping file, e.g. tables.messages.columns.created_at */
  readonly at: string;
  /** Column name reported for unknown enum values and errors. */
  readonly column: string;
  /** Source paths the rule places in a column are marked here (null: not tracked, e.g. derive rules). */
  readonly consumed: ConsumptionScope | null;
  /** The scopes of the levels around (`^` is the last), for paths that start with ^; as many as the rule has ancestors. */
  readonly upConsumed: readonly (ConsumptionScope | null)[];
  /** Whether the rule runs only on some elements (under a when, or a first_of branch after the first). */
  readonly guarded?: boolean;
  /** Output type: decides the default conversion and how timestamps are represented. */
  readonly type: ColumnType;
  /** Inside a JSON value (attachments, object): timestamps become ISO strings there. */
  readonly inJson: boolean;
  /** Told every path the rule reads, conditions included (the removal rule needs the paths removed_at reads). */
  readonly onPath?: ((path: ParsedPath) => void) | undefined;
  /** Conditions and paths the mapping's rules repeat (once-per-element.ts): evaluated or read once per element. */
  readonly repeated?: RepeatedReads | undefined;
}

/**
 * Where a condition sits, who wants to know the paths it reads, and how many levels `^` may climb (unlimited if absent);
 * a rule's condition also has the rule's level and what the mapping repeats, to share its reads (ReadScope).
 */
export type ConditionScope = Pick<RuleScope, 'file' | 'at' | 'onPath'> & ReadScope & { readonly levels?: number };

/** The level whose elements a path is read from, and the paths the mapping repeats: enough to share the read. */
export type ReadScope = Partial<Pick<RuleScope, 'consumed' | 'repeated'>>;

/** Errors whose position names source paths relative to the element the failing rule read (see elementError). */
const relativePaths = new WeakMap<ChatportError, readonly ParsedPath[]>();

/**
 * A record error of a rule, naming the paths it read relative to the element it read them from (`timestamp`,
 * `^.id`). The mapper, which knows where that element sits in the record, turns them into the element's own path
 * (`history[3].timestamp`) with placeError; an `each` rule first puts its sub-record in front (`files[2].size`).
 */
export function elementError(code: ErrorCode, message: string, paths: readonly ParsedPath[]): ChatportError {
  const e = new ChatportError(code, message, 'map', { path: paths.map((p) => p.text).join(' | ') });
  relativePaths.set(e, paths);
  return e;
}

/**
 * The error with its relative paths resolved against where the element sits: `locationUp(k)` is the location in the
 * record of the element k levels up (0: the element itself), or null to leave them relative to a host that is itself
 * an element (`base`, for each rules). Errors without relative paths are returned as they are.
 */
export function placeError(e: unknown, locationUp: (up: number) => readonly PathStep[] | null, base?: (p: ParsedPath) => ParsedPath): unknown {
  if (!(e instanceof ChatportError)) return e;
  const paths = relativePaths.get(e);
  if (!paths) return e;
  if (base) return elementError(e.code, e.message, paths.map(base));
  const text = paths.map((p) => {
    const at = locationUp(p.up);
    return at === null ? p.text : formatPath([...at, ...p.segments]);
  });
  return new ChatportError(e.code, e.message, e.stage, { ...e.position, path: text.join(' | ') });
}

export function invalid(scope: Pick<RuleScope, 'file' | 'at'>, message: string): ChatportError {
  return new ChatportError('CONFIG_MAPPING_INVALID', message, 'config', { file: scope.file, path: scope.at });
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function parseRulePath(text: unknown, scope: ConditionScope): ParsedPath {
  if (typeof text !== 'string') throw invalid(scope, `a path must be a string, got ${JSON.stringify(text)}`);
  try {
    const path = parsePath(text);
    if (scope.levels !== undefined && path.up > scope.levels) {
      throw invalid(
        scope,
        `path "${text}" climbs ${path.up} level${path.up === 1 ? '' : 's'} up, but only ${scope.levels} ${scope.levels === 1 ? 'is' : 'are'} around it here${scope.levels === 0 ? ' (^ reads the record around a for_each element)' : ''}`,
      );
    }
    scope.onPath?.(path);
    return path;
  } catch (e) {
    if (e instanceof PathSyntaxError) throw invalid(scope, e.message);
    throw e;
  }
}

/**
 * A getter that reads from the element or, for `^.` paths, from a level around it. An element path is the compiled
 * getter itself (it ignores the ancestors): each wrapper here is one more call per read, for every record.
 */
export function sourceGetter(p: ParsedPath, scope?: ReadScope): (rec: unknown, up: Ancestors) => unknown {
  const get = plainGetter(p);
  return scope?.consumed && shareableRead(p, scope.repeated) ? sharedGetter(scope.consumed, p, get) : get;
}

function plainGetter(p: ParsedPath): (rec: unknown, up: Ancestors) => unknown {
  const get = compileGetter(p.segments);
  if (p.up === 0) return get;
  const n = p.up;
  if (p.segments.length === 0) return (_rec, up) => up[up.length - n];
  return (_rec, up) => get(up[up.length - n]);
}

/** Marks what a path read consumes; for a guarded rule, returns the mark to set on each element where it is read. */
export function markConsumed(p: ParsedPath, scope: RuleScope, scalarOnly: boolean): BranchMark | null {
  const tree = p.up === 0 ? scope.consumed : scope.upConsumed[scope.upConsumed.length - p.up];
  // a read of a level around is consumed only when some element's rule really made it (a record whose array is empty
  // had nothing read through ^)
  return tree?.track(p.segments, scalarOnly, scope.guarded === true || p.up > 0) ?? null;
}

/**
 * The getter of a path a rule reads that, when it runs, also says that its (guarded) branch was evaluated on this
 * element. The mark's bit is set inside the getter itself: guarded reads are most of a first_of's, on every record.
 */
export function trackedGetter(p: ParsedPath, mark: BranchMark | null, at?: ReadScope): (rec: unknown, up: Ancestors) => unknown {
  const get = sourceGetter(p, at);
  if (!mark) return get;
  const { scope, bit } = mark;
  if (bit === 0) {
    return (rec, up) => {
      mark.set();
      return get(rec, up);
    };
  }
  const first = p.segments[0];
  if (p.up === 0 && p.segments.length === 1 && typeof first === 'string' && !(at?.consumed && shareableRead(p, at.repeated))) {
    // compileGetter's one-key read, with the bit set in the same call
    const hasOwn = Object.prototype.hasOwnProperty;
    return (root) => {
      scope.mask |= bit;
      return root !== null && typeof root === 'object' && !Array.isArray(root) && hasOwn.call(root, first)
        ? (root as Record<string, unknown>)[first]
        : undefined;
    };
  }
  return (rec, up) => {
    scope.mask |= bit;
    return get(rec, up);
  };
}
