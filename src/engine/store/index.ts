// The store (cache/, or --store DIR): one owning module per area on disk. Nothing outside these
// modules writes under the store root; callers go through the Store facade (store.ts) or a part.
//
//   area                                   owner                      what it is
//   objects/ab/<rest>                      objects.ts    (Objects)     immutable objects by sha256, folder manifests
//   trees/<digest>/                        objects.ts                  read-only checked-out folders (hard links)
//   stat-cache.json                        objects.ts    (StatCache)   size/mtime/ctime/inode → digest
//   runs/ab/<key>.json, .fingerprint.json  runs.ts       (RunRecords)  run records (the commit marker) and fingerprints
//   stages/<id hash>.json                  runs.ts                     last successful key of each stage id
//   failures/<id hash>.json                runs.ts                     last failure of each stage id (a Failure, as data)
//   logs/ab/<key>.log                      runs.ts                     stage logs
//   history/                               runs.ts                     the keys of each run (gc --keep-runs)
//   released/ab/<key>.json                 runs.ts                     runs whose large outputs a retain policy released
//   materialized.json                      runs.ts                     what was last materialised where (materialize.ts)
//   tmp/<token>-…                          session.ts    (Session)     staging of this process's objects and stages
//   tmp/invocations/                       session.ts → Slurm executor invocation files and batch scripts (its own subarea)
//   owners/<token>.json                    session.ts                  who holds staging and locks, with a heartbeat
//   locks/<key>.lock                       session.ts    (util/lock-file.ts) one stage computed once
//   leases/                                session.ts    (lease.ts)    shared (run, status) / exclusive (gc, verify) lease
//   quarantine/<digest>                    integrity.ts  (Integrity)   corrupt objects, moved aside
//   quarantine/meta/                       integrity.ts  (damage.ts)   unreadable metadata, moved aside
//   compiled/<key>.json, code-files.json   caches.ts     (Caches)      compiled pipeline files, code digests
//   refs/<hash>.json                       caches.ts                   last resolution of a revision selection
//   requests/, caches/<kind>/<name>/       caches.ts                   StageContext.cacheDir: a kind's folder kept across runs
//                                                                      (the score kind's request cache is requests/)
//   slurm-logs/                            Slurm executor (slurm-bridge.ts) job logs, its own area
//
// Shared helpers: fs-util.ts (writeFileAtomic: every metadata write is staged and renamed),
// src/util/liveness.ts (who is dead) and src/util/lock-file.ts (lock files; src/fetch locks its
// downloads with them too), run-record.ts (types), user-paths.ts (messages name the user's files).
export { Store, manifestBytes, type ManifestEntry } from './store.js';
export { Objects } from './objects.js';
export { RunRecords } from './runs.js';
export { Session } from './session.js';
export { Integrity } from './integrity.js';
export { Caches } from './caches.js';
export type { Fingerprint, RunRecord, StoredOutput } from './run-record.js';
export { writeFileAtomic } from './fs-util.js';
