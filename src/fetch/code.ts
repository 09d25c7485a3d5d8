// The module URLs of this library, for a stage kind's `code:` (their source enters the stage key,
// so a change to how files are chosen or verified re-runs the fetch stages).

const MODULES = [
  'code.js', 'download.js', 'dtype.js', 'errors.js', 'file-lock.js', 'hash.js', 'hub-client.js',
  'hub-config.js', 'mirror.js', 'model-fetch.js', 'revision-select.js', 'revisions.js', 'stimuli.js',
];

export function fetchCodeUrls(): string[] {
  return MODULES.map((m) => new URL(`./${m}`, import.meta.url).href);
}
