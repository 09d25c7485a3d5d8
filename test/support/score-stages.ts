// The stages of a one-model-set scoring pipeline, as the YAML under `stages:` that many end-to-end
// tests write: a model stage (fetch-model, or build-model from the models' build: blocks),
// optionally convert-model, a stimuli stage (fetch-stimuli or demo-stimuli), build-config and score.

export interface ScoreStages {
  /** The stage that makes the model (default fetch-model). */
  model?: 'fetch-model' | 'build-model';
  /** A convert-model stage after the model stage, which score then needs. */
  convert?: boolean;
  /** The stage that provides stimuli (default fetch-stimuli). */
  stimuli?: 'fetch-stimuli' | 'demo-stimuli';
  /** Matrix build-config and score over the tasks' conditions too. */
  conditions?: boolean;
  /** Revision matrices: of the model (and convert) stage, and of score ($revisions, [""]). */
  revisions?: { model: string; score: string };
  /** score's params, as a YAML flow mapping. */
  params?: string;
}

export function scoreStagesYaml(o: ScoreStages = {}): string {
  const modelStage = o.model ?? 'fetch-model';
  const stimuli = o.stimuli ?? 'fetch-stimuli';
  const rev = (r: string | undefined): string => (r === undefined ? '' : `, revision: ${r}`);
  const cond = o.conditions ? ', condition: $conditions' : '';
  const convert = o.convert
    ? `  convert-model:
    uses: convert-model
    matrix: { model: $models${rev(o.revisions?.model)} }
    needs: [${modelStage}]
`
    : '';
  return `stages:
  ${modelStage}:
    uses: ${modelStage}
    matrix: { model: $models${rev(o.revisions?.model)} }
${convert}  ${stimuli}:
    uses: ${stimuli}
    matrix: { task: $tasks }
  build-config:
    uses: build-config
    matrix: { task: $tasks${cond}, model: $models }
  score:
    uses: score
    matrix: { task: $tasks${cond}, model: $models${rev(o.revisions?.score)} }
    needs: [${o.convert ? 'convert-model' : modelStage}, ${stimuli}, build-config]
${o.params ? `    params: ${o.params}\n` : ''}`;
}
