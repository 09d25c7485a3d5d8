// The stages of a one-model-set scoring pipeline, as the YAML under `stages:` that many end-to-end
// tests write: fetch-model, optionally convert-model, fetch-stimuli, build-config and score.

export function scoreStagesYaml(o: { convert?: boolean; params?: string } = {}): string {
  const convert = o.convert
    ? `  convert-model:
    uses: convert-model
    matrix: { model: $models }
    needs: [fetch-model]
`
    : '';
  return `stages:
  fetch-model:
    uses: fetch-model
    matrix: { model: $models }
${convert}  fetch-stimuli:
    uses: fetch-stimuli
    matrix: { task: $tasks }
  build-config:
    uses: build-config
    matrix: { task: $tasks, model: $models }
  score:
    uses: score
    matrix: { task: $tasks, model: $models }
    needs: [${o.convert ? 'convert-model' : 'fetch-model'}, fetch-stimuli, build-config]
${o.params ? `    params: ${o.params}\n` : ''}`;
}
