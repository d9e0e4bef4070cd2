// ZSTD pages through @bokuweb/zstd-wasm (the reference zstd compiled to WebAssembly): the same bytes on every Node
// from 20 on (node:zlib has Zstandard only from Node 22.15, with whatever zstd that Node bundles), no native build.
// The WebAssembly module is loaded once per thread, on first need, by `loadZstd()` (awaited where a Parquet file is
// opened, a worker's encoders are built, or a ZSTD file is read); compressing and decompressing are then synchronous,
// as page encoding is.

import { createRequire } from 'node:module';

interface ZstdWasm {
  init(): Promise<void>;
  compress(buf: Uint8Array, level?: number): Uint8Array;
  decompress(buf: Uint8Array): Uint8Array;
}

let loading: Promise<ZstdWasm> | undefined;
let loaded: ZstdWasm | undefined;

/** Loads the codec in this thread (once; later calls return at once). */
export function loadZstd(): Promise<void> {
  loading ??= (async () => {
    // the package's Node entry is CommonJS and reads its .wasm beside itself
    const zstd = createRequire(import.meta.url)('@bokuweb/zstd-wasm') as ZstdWasm;
    await zstd.init();
    loaded = zstd;
    return zstd;
  })();
  return loading.then(() => undefined);
}

function codec(): ZstdWasm {
  // a code path that compresses without having awaited loadZstd() is a bug of ours, not a user's mistake
  if (loaded === undefined) throw new Error('internal: the ZSTD codec was used before loadZstd() finished');
  return loaded;
}

/** Level 3: zstd's default, and DuckDB's. */
export function zstdCompress(body: Uint8Array): Uint8Array {
  return codec().compress(body, 3);
}

export function zstdDecompress(body: Uint8Array): Uint8Array {
  return codec().decompress(body);
}
