// `revisionSelect:` of a model declaration, resolved at plan time against whatever holds the
// revisions: the model's path, the mirror, or the hub's refs.

import { isValidRefName } from '../util/safe-path.js';
import { FetchError } from './errors.js';
import type { HubClient } from './hub-client.js';
import { findMirrorRevision, localRevisions } from './mirror.js';
import type { ModelRef } from './model-fetch.js';
import { selectRevisions, type Refs, type RevisionSelect } from './revisions.js';

export interface SelectOptions {
  modelsDir?: string;
  offline: boolean;
  client: HubClient;
}

function asRefs(names: string[]): Refs {
  return { branches: names.map((name) => ({ name, targetCommit: '' })), tags: [] };
}

/** Folder names become revisions (paths, `${revision}` in run: commands): each must be a valid ref name. */
function checkedLocal(model: ModelRef, folder: string, names: string[]): string[] {
  for (const n of names) {
    if (!isValidRefName(n)) {
      throw new FetchError('unsafe-name', `model ${model.id}: revision folder ${JSON.stringify(n)} under ${folder}/revisions is not a valid git ref name; rename it or select around it`);
    }
  }
  return names;
}

/** Revision names matching the selection, sorted by step; local folders are asked before the hub. */
export async function selectModelRevisions(model: ModelRef, select: RevisionSelect, opts: SelectOptions): Promise<string[]> {
  if (model.path) return checkedLocal(model, model.path, selectRevisions(asRefs(await localRevisions(model.path)), select));
  if (opts.modelsDir) {
    const base = await findMirrorRevision(opts.modelsDir, model.id, '', model.name);
    if (base.folder) {
      const names = await localRevisions(base.folder);
      if (names.length > 0 || opts.offline) return checkedLocal(model, base.folder, selectRevisions(asRefs(names), select));
    }
  }
  if (opts.offline || opts.client.config.offline) {
    throw new FetchError('offline-missing',
      `model ${model.id}: revisionSelect ${select.glob} needs the hub's refs, and offline mode forbids asking; `
      + `provide the revisions under <dir>/${model.id}/revisions/ and pass --models-dir <dir> (or set PIPELINE_MODELS_DIR), or list revisions: explicitly`);
  }
  return selectRevisions(await opts.client.refs(model.id), select);
}
