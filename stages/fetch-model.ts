// fetch-model: one model revision as a folder: its transformers.js ONNX export (config, tokenizer,
// the dtype's ONNX weights) where it has one, else its PyTorch checkpoint (config, tokenizer,
// safetensors or .bin weights, for convert-model). Source order: the model's path:, the models
// mirror, the hub.
// plan() puts what identifies the weights into the key: a local folder's digest (stat-cached), or
// the hub commit a moving revision like `main` resolves to right now.

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ModelSpec, PlanContext, StageContext, StageKind } from '../src/engine/kind.js';
import { DEFAULT_DTYPE, dtypeSuffix, selectFetchFiles } from '../src/fetch/dtype.js';
import { FetchError } from '../src/fetch/errors.js';
import { HubClient } from '../src/fetch/hub-client.js';
import { hubConfigFromEnv } from '../src/fetch/hub-config.js';
import {
  cacheHubFileForPlan, commitListing, copyModelFiles, describeRevision, downloadHubModel, localFetchSelection, resolveModelSource,
} from '../src/fetch/model-fetch.js';

function modelOf(ctx: PlanContext): ModelSpec {
  if (!ctx.model) throw new FetchError('bad-spec', `stage ${ctx.instance.id}: fetch-model needs a model (vars.model)`);
  return ctx.model;
}

function revisionOf(ctx: PlanContext): string {
  const rev = ctx.instance.vars.revision;
  if (Array.isArray(rev)) throw new FetchError('bad-spec', `stage ${ctx.instance.id}: vars.revision must be one revision, got a list`);
  return rev ?? '';
}

function dtypeOf(model: ModelSpec): string {
  const dtype = model.dtype ?? DEFAULT_DTYPE;
  dtypeSuffix(dtype); // unknown dtypes fail at plan time, naming the valid ones
  return dtype;
}

function clientFor(ctx: PlanContext): HubClient {
  const config = hubConfigFromEnv(process.env);
  return new HubClient({ ...config, offline: config.offline || ctx.spec.offline });
}

/** One digest over the needed files, so the final weights' key ignores the revisions/ beside them. */
async function localDigest(ctx: PlanContext, folder: string, files: string[]): Promise<string> {
  const parts: string[] = [];
  for (const f of files) parts.push(`${f}\0${(await ctx.digest(join(folder, ...f.split('/')))).digest}`);
  return `sha256:${createHash('sha256').update(parts.join('\n')).digest('hex')}`;
}

export const fetchModelKind: StageKind = {
  name: 'fetch-model',
  description: 'one model revision (path, models mirror or hub): its ONNX export or PyTorch checkpoint, with its resolved commit',
  // Takes no params: everything it needs comes from the model, task or stimuli declarations.
  params: {},
  isolation: 'inline',
  resources: () => ({ cpu: 1 }),
  outputs: () => [{ name: 'model', type: 'dir' }],

  async plan(ctx) {
    const model = modelOf(ctx);
    const revision = revisionOf(ctx);
    const dtype = dtypeOf(model);
    const client = clientFor(ctx);
    const src = await resolveModelSource(model, revision, { modelsDir: ctx.spec.modelsDir, offline: ctx.spec.offline, client });
    if (src.source === 'local') {
      const { layout, files } = await localFetchSelection(src.folder, dtype, describeRevision(model.id, revision));
      // A PyTorch checkpoint is the same files whatever dtype it is converted to later.
      return { source: 'local', path: src.folder, layout, ...(layout === 'onnx' ? { dtype } : {}), digest: await localDigest(ctx, src.folder, files) };
    }
    // The listing was cached by the resolution (commits never change, so offline reads it too):
    // check now, without downloading, that the needed files exist and which layout they are.
    const listing = await commitListing(client, model.id, src.commit).catch((err: unknown) => {
      if (client.config.offline) return null; // an old cache without listings: decided at execute
      throw err;
    });
    const layout = listing
      ? selectFetchFiles(listing.siblings.map((f) => f.rfilename), dtype, `${describeRevision(model.id, revision)} on ${client.config.endpoint}`).layout
      : 'onnx';
    // A checkpoint's config.json comes first (a few hundred bytes, the same download execute
    // would make), so convert-model can refuse an unsupported architecture before the weights.
    if (layout === 'pytorch' && !client.config.offline) await cacheHubFileForPlan(client, model.id, src.commit, 'config.json');
    // The commit names the content wherever it is served from, so the endpoint (a hub mirror, a
    // proxy) is recorded when the stage runs but is not part of the key.
    return { source: 'hub', id: model.id, revision: src.revision, commit: src.commit, layout, ...(layout === 'onnx' ? { dtype } : {}) };
  },

  async execute(ctx: StageContext) {
    const model = modelOf(ctx);
    const revision = revisionOf(ctx);
    const dtype = dtypeOf(model);
    const dest = join(ctx.outDir, 'model');
    const planned = ctx.planned;
    if (planned.source === 'local' && typeof planned.path === 'string') {
      const { layout, files } = await localFetchSelection(planned.path, dtype, describeRevision(model.id, revision));
      await copyModelFiles(planned.path, files, dest);
      ctx.log(`copied ${files.length} files (${layout} layout) of ${describeRevision(model.id, revision)} from ${planned.path}`);
      ctx.record('resolved', { source: 'local', path: planned.path, commit: null, layout, files });
      return;
    }
    if (planned.source !== 'hub' || typeof planned.commit !== 'string' || typeof planned.id !== 'string') {
      throw new FetchError('bad-spec', `stage ${ctx.instance.id}: fetch-model's plan is missing (got ${JSON.stringify(planned)})`);
    }
    const client = clientFor(ctx);
    const res = await downloadHubModel(client, planned.id, planned.commit, dtype, dest, {
      // A checkpoint the retain policy releases is not kept in the hub cache either (docs/store.md).
      keepInCache: (model.retain?.checkpoints ?? 'keep') === 'keep',
      signal: ctx.signal,
      log: (m) => ctx.log(m),
    });
    ctx.log(`${describeRevision(model.id, revision)} → ${planned.commit}: ${res.files.length} files (${res.layout} layout), `
      + `${res.bytes} bytes downloaded, ${res.cached} from the cache ${res.snapshotDir}`);
    ctx.record('resolved', {
      source: 'hub', endpoint: client.config.endpoint, revision: planned.revision, commit: planned.commit, layout: res.layout, files: res.files,
    });
    ctx.record('download', { bytes: res.bytes, requests: res.requests, resumed: res.resumed, cached: res.cached });
  },
};

export default fetchModelKind;
