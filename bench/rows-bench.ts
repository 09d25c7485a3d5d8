// Token-tree rows filled up to rowTokens (pairCost 0) against rows sized by cost (row-cost.ts), side
// by side in one process on one converted model: the same sessions, warm, with the packing rule
// switched between runs and the order alternated each repetition. Each task's scoring calls are
// what its own code sends (recorded once, as bench/score-bench.ts does; crt is crt1, generation
// left out). Prints per mix the median CPU and wall seconds of each rule, forward tokens and calls,
// and the largest difference between the two rules' numbers.
//
// Run: node dist/bench/rows-bench.js MODEL_FOLDER [items (16)] [repetitions (3)] [tasks (lambada,dgl,blimp,crt,digit_mat)]
// Threads: BENCH_ROWS_THREADS (1).

import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { LoadedLanguageModel } from '../src/lm/index.js';
import type { PackLimits } from '../src/lm/packing.js';
import { PREPACK_AFTER_RUNS } from '../src/lm/score-graph.js';
import { recordMixes, type MixCalls } from './score-bench.js';

/** The loaded model's packing limits and logits cache: private, reached here so both rules share one warm session. */
interface Internals {
  packLimits: PackLimits;
  cache: { clear(): void };
}

interface Run {
  cpu: number;
  sys: number;
  wall: number;
  tokens: number;
  padded: number;
  calls: number;
  values: number[];
}

async function replay(lm: LoadedLanguageModel, mix: MixCalls): Promise<Run> {
  // nextTokenLogits would reuse rows captured by the previous run otherwise.
  (lm as unknown as Internals).cache.clear();
  const s0 = { ...lm.stats };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const values: number[] = [];
  for (const call of mix.calls) {
    if (call.kind === 'cond') for (const r of await lm.conditional(call.requests, call.reduction)) values.push(r.logprob);
    else if (call.kind === 'seq') for (const r of await lm.sequence(call.texts)) values.push(r.logprob);
    else for (const row of await lm.nextTokenLogits(call.texts)) values.push(...row.subarray(0, 64));
  }
  const c = process.cpuUsage(c0);
  return {
    cpu: (c.user + c.system) / 1e6,
    sys: c.system / 1e6,
    wall: (performance.now() - t0) / 1000,
    tokens: lm.stats.forwardTokens - s0.forwardTokens,
    padded: lm.stats.paddedForwardTokens - s0.paddedForwardTokens,
    calls: lm.stats.forwardCalls - s0.forwardCalls,
    values,
  };
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const [folder, itemsArg, repsArg, tasksArg] = process.argv.slice(2);
  if (!folder) {
    console.error('usage: node dist/bench/rows-bench.js MODEL_FOLDER [items] [repetitions] [tasks,comma,separated]');
    process.exit(2);
  }
  const items = Number(itemsArg ?? 16);
  const reps = Number(repsArg ?? 3);
  const tasks = new Set((tasksArg ?? 'lambada,dgl,blimp,crt,digit_mat').split(','));
  const threads = Number(process.env['BENCH_ROWS_THREADS'] ?? 1);
  const { loadLanguageModel } = await import('../src/lm/index.js');
  const lm = await loadLanguageModel(folder, { threads });
  const limits = (lm as unknown as Internals).packLimits;
  const byCost = limits.pairCost ?? 0;
  if (!(byCost > 0)) throw new Error(`${folder}: the cost model gives pairCost 0 here (not on the CPU, or no hidden size): nothing to compare`);
  const mixes = await recordMixes(folder, items, lm.info.vocabSize, lm.info.contextLength, (r) => tasks.has(r.task) && (r.task !== 'crt' || r.condition === 'crt1'));
  const load0 = loadavg().map((x) => x.toFixed(2)).join(' / ');
  const rules = { fill: 0, cost: byCost } as const;
  const runs = new Map<string, Run[]>();
  const runOnce = async (mix: MixCalls, rule: keyof typeof rules): Promise<Run> => {
    limits.pairCost = rules[rule];
    return replay(lm, mix);
  };
  // Warm-up: both rules, until the sessions have been recreated with prepacking (after
  // PREPACK_AFTER_RUNS graph calls; that recreation and the unpacked calls are not timed).
  do {
    for (const mix of mixes) for (const rule of ['fill', 'cost'] as const) await runOnce(mix, rule);
  } while (lm.stats.forwardCalls <= PREPACK_AFTER_RUNS);
  for (let r = 0; r < reps; r++) {
    for (const mix of mixes) {
      for (const rule of r % 2 === 0 ? (['fill', 'cost'] as const) : (['cost', 'fill'] as const)) {
        const key = `${mix.name}|${rule}`;
        runs.set(key, [...(runs.get(key) ?? []), await runOnce(mix, rule)]);
      }
    }
  }
  const load1 = loadavg().map((x) => x.toFixed(2)).join(' / ');
  console.log(`model ${folder}, ${items} items, ${reps} repetitions, ${threads} thread(s), pairCost ${byCost.toExponential(3)}; load average ${load0} at the start, ${load1} at the end`);
  console.log('| mix | CPU s, rows to rowTokens | CPU s, rows by cost | ratio | wall s (fill / cost) | forward tokens (fill / cost) | padded | graph calls | max abs diff |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  let [sumFill, sumCost] = [0, 0];
  for (const mix of mixes) {
    const f = runs.get(`${mix.name}|fill`)!;
    const c = runs.get(`${mix.name}|cost`)!;
    const [cf, cc] = [median(f.map((x) => x.cpu)), median(c.map((x) => x.cpu))];
    sumFill += cf;
    sumCost += cc;
    const diff = Math.max(0, ...f[0]!.values.map((v, i) => Math.abs(v - c[0]!.values[i]!)));
    console.log(
      `| ${mix.name} | ${cf.toFixed(2)} | ${cc.toFixed(2)} | ${(cc / cf).toFixed(2)} | ${median(f.map((x) => x.wall)).toFixed(2)} / ${median(c.map((x) => x.wall)).toFixed(2)} | ` +
        `${f[0]!.tokens} / ${c[0]!.tokens} | ${f[0]!.padded} / ${c[0]!.padded} | ${f[0]!.calls} / ${c[0]!.calls} | ${diff.toExponential(1)} |`,
    );
  }
  console.log(`| all | ${sumFill.toFixed(2)} | ${sumCost.toFixed(2)} | ${(sumCost / sumFill).toFixed(2)} | | | | | |`);
  console.log('\nEvery run, in order (CPU s, of which system):');
  for (const mix of mixes) {
    for (const rule of ['fill', 'cost'] as const) {
      console.log(`  ${mix.name} ${rule}: ${runs.get(`${mix.name}|${rule}`)!.map((x) => `${x.cpu.toFixed(2)} (${x.sys.toFixed(2)})`).join(', ')}`);
    }
  }
  await lm.dispose();
}

await main();
