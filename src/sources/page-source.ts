// A source the engine reads besides files: pages of JSON bytes (HTTP answers of a vendor API), each split into
// records by the same splitter as a file (readers/record-splitter.ts) and fed into the same segments, so mapping,
// removal, redaction, duplicate keys and the sinks do not know where a record came from. A page's name is the
// position of its records (the request URL without secrets; the record's index in the page completes it).
//
// The engine may run a second attempt of the same run (a removal found late, run-pipeline.ts); a source must then
// give exactly the pages of the first attempt: spooledPages (page-spool.ts) keeps them in the run's folder.

export interface SourcePage {
  /** What the page's records are counted under in the run's inputs (`GET /conversations/{id}/parts`). */
  readonly input: string;
  /** The position of its records: the request, without secrets. */
  readonly name: string;
  /** The answer's bytes, exactly as received. */
  readonly bytes: Buffer;
  /** Keys of the member holding the record array (none: the answer is the array). */
  readonly envelopeKeys: readonly string[];
}

export interface PageSource {
  /** The pages of attempt `attempt` (1-based); `tempDir` is the run's temporary folder. */
  pages(attempt: number, tempDir: string): AsyncIterable<SourcePage>;
}
