// The store's integrity part: is a stored object still the bytes of its digest, and what happens
// when it is not — it is moved to quarantine/ (never deleted, never trusted), the checked-out
// trees that link it are dropped, and the stage that needed it fails saying so. Damaged metadata
// goes to quarantine/meta/ (damage.ts, the other half of this part). docs/store.md.
import { mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../canonical.js';
import type { StageInput } from '../kind.js';
import { hashFile } from './fs-util.js';
import { SMALL_FILE, type Objects } from './objects.js';

/** Small objects this process re-hashed and found intact, with their stat then: memory of this
 * process only (another process checks for itself), and any change to the file changes its ctime. */
const checked = new Map<string, string>();

export class Integrity {
  readonly quarantineDir: string;

  constructor(
    readonly root: string,
    private readonly objects: Objects,
    private readonly warn: (message: string) => void,
  ) {
    this.quarantineDir = join(root, 'quarantine');
  }

  /** Does a stored object still hold the bytes of its digest? Small ones are re-hashed, once per
   * process while their stat is unchanged (an aggregate's hundreds of inputs were checked by the
   * stages before it); large ones go through the stat cache (unchanged size, mtime, ctime and
   * inode since they were hashed). */
  async objectIntact(digest: string): Promise<boolean> {
    const p = this.objects.objectPath(digest);
    let st;
    try {
      st = statSync(p);
    } catch {
      return false;
    }
    if (st.size > SMALL_FILE) return (await this.objects.stat.digest(p)).digest === digest;
    const seen = `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;
    if (checked.get(p) === seen) return true;
    if (sha256(readFileSync(p)) !== digest) return false;
    checked.set(p, seen);
    return true;
  }

  /** An existing object about to be reused: true when intact; a damaged one is quarantined (false),
   * so storing the same bytes again repairs it instead of keeping the damage for ever. */
  async intactOrQuarantined(digest: string): Promise<boolean> {
    if (await this.objectIntact(digest)) return true;
    this.warn(`stored object ${digest.slice(0, 12)}… was damaged; quarantined it to ${this.quarantineObject(digest)} and stored it again`);
    return false;
  }

  /** Move a corrupt object to quarantine/ and drop checked-out trees that link it. */
  quarantineObject(digest: string, trees: string[] = []): string {
    const q = join(this.quarantineDir, digest);
    mkdirSync(this.quarantineDir, { recursive: true });
    try {
      renameSync(this.objects.objectPath(digest), q);
    } catch {
      /* moved by another process */
    }
    this.objects.dropCheckouts(trees);
    return q;
  }

  /** `pipeline verify`: re-hash every stored object in full (no stat cache), quarantine the
   * corrupt ones and drop every checked-out tree that contains one (trees hard-link the objects). */
  async verifyAll(): Promise<{ checked: number; corrupt: string[] }> {
    const all = await this.objects.list();
    const corrupt: string[] = [];
    for (const o of all) if ((await hashFile(o.path)) !== o.digest) corrupt.push(o.digest);
    if (corrupt.length === 0) return { checked: all.length, corrupt };
    const bad = new Set(corrupt);
    for (const d of corrupt) this.quarantineObject(d);
    const drop: string[] = [];
    for (const t of await this.objects.trees()) {
      const entries = bad.has(t) ? undefined : await this.objects.readManifest(t).catch(() => undefined);
      if (!entries || entries.some((e) => bad.has(e.digest))) drop.push(t);
    }
    this.objects.dropCheckouts(drop);
    return { checked: all.length, corrupt };
  }

  /** Check every input object of a stage before it runs: a corrupt one is quarantined and the
   * stage fails with a message saying so (the next run recomputes the object first). */
  async checkInputs(inputs: StageInput[]): Promise<void> {
    for (const inp of inputs) {
      for (const [name, o] of Object.entries(inp.outputs)) {
        const bad: string[] = [];
        if (!(await this.objectIntact(o.digest))) bad.push(o.digest);
        else if (o.type === 'dir') {
          for (const e of await this.objects.readManifest(o.digest)) if (!(await this.objectIntact(e.digest))) bad.push(e.digest);
        }
        if (bad.length === 0) continue;
        const q = bad.map((d) => this.quarantineObject(d, o.type === 'dir' ? [o.digest] : []));
        throw new Error(
          `input "${name}" of ${inp.stageId}: the stored object ${bad[0]!.slice(0, 12)}… no longer matches its digest (damaged on disk); ` +
            `quarantined to ${q[0]}. Run again: ${inp.stageId} is recomputed first.`,
        );
      }
    }
  }
}
