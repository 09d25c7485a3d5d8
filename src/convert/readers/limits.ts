// Limits on what a checkpoint file may make the readers allocate or walk, each checked against a
// size read from the file before anything of that size is allocated. A file past one fails with
// CheckpointError('too-large') naming the file and the limit. They are far above what any real
// checkpoint needs (a 70B model's safetensors header is ~100 KB, its data.pkl ~1 MB).

const MiB = 1024 * 1024;

export const LIMITS = {
  /** An index file (model.safetensors.index.json / pytorch_model.bin.index.json). */
  indexBytes: 64 * MiB,
  /**
   * A safetensors header (the format's own limit is 100 MB). Parsing one costs ~20× its size in
   * memory (63 MiB of small entries: 1.4 GB RSS), real ones are under 1 MiB.
   */
  safetensorsHeaderBytes: 16 * MiB,
  /** Dimensions of one tensor. */
  tensorDims: 8,
  /** Entries in one zip's central directory. */
  zipEntries: 1_000_000,
  /** data.pkl, uncompressed. */
  pickleBytes: 64 * MiB,
  /** A deflated data.pkl may expand at most this many times (zip bombs reach 1000×). */
  deflateRatio: 50,
  /** Opcodes in one data.pkl. */
  pickleOps: 16_000_000,
  /** Items on the unpickler's stack (all MARK levels together). */
  pickleStack: 50_000,
  /** Nested MARKs. */
  pickleMarks: 1_000,
  /** Memo entries. */
  pickleMemo: 1_000_000,
  /** config.json, tokenizer.json and the other JSON files of a checkpoint. */
  jsonBytes: 64 * MiB,
} as const;
