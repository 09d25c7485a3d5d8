// Model identity for the analysis: a score file belongs to a declared model (by short name), and
// every name, family and size in a table comes from that declaration (ModelSpec.display), never
// from a table in code — renaming a model in pipeline.yaml re-runs aggregation only.

import type { ModelSpec } from '../engine/kind.js';

export interface ModelInfo {
  /** Short name (file stems, stage vars). */
  name: string;
  /** Hub id as written in score rows. */
  id: string;
  display: string;
  family: string;
  /** Billions of parameters; null when unknown (the model is left out of size regressions). */
  paramsB: number | null;
  /** Whether the model declares revisions other than the final weights. */
  hasRevisions: boolean;
  /** Declared training step of the final weights (`display.final_step`), if any. */
  finalStep: number | null;
}

export function modelInfo(spec: ModelSpec): ModelInfo {
  const revs = spec.revisions ?? [];
  return {
    name: spec.name,
    id: spec.id,
    display: spec.display?.name || spec.name,
    family: spec.display?.family || spec.name,
    paramsB: spec.display?.params_b ?? null,
    hasRevisions: revs.some((r) => r !== '') || spec.revisionSelect !== undefined,
    finalStep: spec.display?.final_step ?? null,
  };
}

/** The key-relevant display metadata of the declared models (aggregate's plan()). */
export function displayMetadata(models: ModelSpec[]): Array<Record<string, unknown>> {
  return models.map((m) => {
    const i = modelInfo(m);
    return { name: i.name, id: i.id, display: i.display, family: i.family, params_b: i.paramsB, has_revisions: i.hasRevisions, final_step: i.finalStep };
  });
}

export class ModelRegistry {
  private readonly byName = new Map<string, ModelInfo>();

  constructor(models: ModelSpec[]) {
    for (const m of models) this.byName.set(m.name, modelInfo(m));
  }

  get(name: string): ModelInfo | undefined {
    return this.byName.get(name);
  }

  all(): ModelInfo[] {
    return [...this.byName.values()];
  }

  /**
   * Split an output file stem `<model>[_<revision>]` into a declared model and a revision. The
   * longest declared name that equals the stem or is followed by `_` wins, so a model whose short
   * name contains `_` still matches. Undefined when no declared model matches.
   */
  matchStem(stem: string): { model: ModelInfo; revision: string } | undefined {
    let best: ModelInfo | undefined;
    for (const m of this.byName.values()) {
      if ((stem === m.name || stem.startsWith(`${m.name}_`)) && (!best || m.name.length > best.name.length)) best = m;
    }
    if (!best) return undefined;
    return { model: best, revision: stem === best.name ? '' : stem.slice(best.name.length + 1) };
  }
}

/** Families in the given order first, then the rest alphabetically. */
export function orderFamilies(families: Iterable<string>, preferred: string[]): string[] {
  const set = new Set(families);
  const first = preferred.filter((f) => set.has(f));
  const rest = [...set].filter((f) => !preferred.includes(f)).sort();
  return [...first, ...rest];
}

export const DEFAULT_FAMILY_ORDER = ['Pythia', 'OLMo', 'Gemma', 'Llama-2', 'Mistral'];
