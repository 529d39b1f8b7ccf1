// Embedding cache in IndexedDB: embeddings of a data set under a model, keyed by the
// model's and the data's SHA-256 and the preprocessing, so another probe or seed on the
// same files does not embed again. Everything stays in this browser profile.

const DB_NAME = 'downstream-embeddings';
const STORE = 'embeddings';
/** Entries kept; the least recently used beyond this are deleted. */
const MAX_ENTRIES = 4;
/** Bumped when the core's preprocessing or batching changes what an embedding is. */
const FORMAT = 1;

/** The cache key: same model bytes, same data bytes, same preprocessing options (resize,
 * channels, scale, mean/std), output, pooling and batching. */
export function cacheKey(model, data) {
  const prep = [model.layout, model.channels, model.height, model.width, model.batch, model.embedding_dim].join('x');
  const options = JSON.stringify([model.preprocessing?.options ?? null, model.output ?? null, model.pooling ?? null]);
  return `v${FORMAT}:model=${model.sha256}:data=${data.sha256}:prep=${prep}:options=${options}`;
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let dbPromise = null;
/** The open database, once open (lets putEmbeddings clone synchronously). */
let db = null;

function open() {
  dbPromise ??= new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') {
      reject(new Error('IndexedDB is not available'));
      return;
    }
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => {
      db = req.result;
      resolve(db);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('the cache database is blocked by another tab'));
  });
  dbPromise.catch(() => {
    dbPromise = null;
  });
  return dbPromise;
}

async function store(mode) {
  return (await open()).transaction(STORE, mode).objectStore(STORE);
}

/** The cached embeddings (Float32Array, n × dim) for key, or null. Never throws. */
export async function getEmbeddings(key, { n, dim }) {
  try {
    const entry = await request((await store('readonly')).get(key));
    if (!entry || !(entry.embeddings instanceof Float32Array) || entry.embeddings.length !== n * dim) return null;
    request((await store('readwrite')).put({ ...entry, used: Date.now() })).catch(() => {});
    return entry.embeddings;
  } catch {
    return null;
  }
}

/** Opens the database ahead of use; failures are silent (the page then runs without a cache). */
export function warmUp() {
  open().catch(() => {});
}

/**
 * Stores embeddings. IndexedDB clones them before this returns when the database is open
 * (warmUp), otherwise a copy is taken, so the caller may transfer the buffer right after.
 */
export async function putEmbeddings(key, embeddings, { n, dim, model, data }) {
  try {
    const entry = { key, n, dim, model, data, embeddings, used: Date.now() };
    let done;
    if (db) {
      done = request(db.transaction(STORE, 'readwrite').objectStore(STORE).put(entry));
    } else {
      entry.embeddings = embeddings.slice();
      done = store('readwrite').then((s) => request(s.put(entry)));
    }
    await done;
    const all = await request((await store('readonly')).getAll());
    const old = all.sort((a, b) => b.used - a.used).slice(MAX_ENTRIES);
    if (old.length > 0) {
      const w = await store('readwrite');
      await Promise.all(old.map((e) => request(w.delete(e.key))));
    }
    return true;
  } catch {
    return false;
  }
}

/** Deletes every cached embedding; resolves to how many there were. */
export async function clearCache() {
  const s = await store('readwrite');
  const count = await request(s.count());
  await request(s.clear());
  return count;
}
