// The sbatch command line and batch script for one job (one invocation, or a group of invocations
// that share a model and so run in one process). Pure: the executor writes and submits the result.

import { join } from 'node:path';
import type { ResourceRequest, StageProgress } from '../kind.js';
import { HUGEPAGE_MALLOC_SHELL } from '../../util/malloc-tunables.js';

export interface JobOptions {
  partition?: string;
  account?: string;
  /** Slurm time format ("30", "1:00:00", "2-00:00:00"). */
  timeLimit?: string;
  extraFlags?: string[];
}

export interface JobSpec {
  /** The stage id(s) the job runs; the first names the job. */
  stageIds: string[];
  resources: ResourceRequest;
  projectDir: string;
  logDir: string;
  /** Shell text that starts `exec-stage`; the invocation files are appended, quoted. */
  execPrefix: string;
  invocationFiles: string[];
}

const MIB = 1024 * 1024;

/** Quote one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * A job name Slurm and file names accept: stage ids contain '/', '=' and such, and '%' would be
 * read as a filename pattern in --output.
 */
export function jobName(stageIds: string[]): string {
  const first = (stageIds[0] ?? 'stage').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');
  const base = first.slice(0, 80) || 'stage';
  return stageIds.length > 1 ? `${base}+${stageIds.length - 1}` : base;
}

/** Resources of a group: its members run one after another in one job, so the largest of each. */
export function mergeResources(requests: ResourceRequest[]): ResourceRequest {
  const merged: ResourceRequest = {};
  for (const r of requests) {
    if (r.cpu !== undefined) merged.cpu = Math.max(merged.cpu ?? 0, r.cpu);
    if (r.gpu !== undefined) merged.gpu = Math.max(merged.gpu ?? 0, r.gpu);
    if (r.memory !== undefined) merged.memory = Math.max(merged.memory ?? 0, r.memory);
  }
  return merged;
}

/** Resource request → sbatch flags: cpus-per-task, --mem in MiB (Slurm's "M"), --gres=gpu:N. */
export function resourceFlags(resources: ResourceRequest): string[] {
  const flags = [`--cpus-per-task=${Math.max(1, Math.ceil(resources.cpu ?? 1))}`];
  if (resources.memory !== undefined && resources.memory > 0) {
    flags.push(`--mem=${Math.max(1, Math.ceil(resources.memory / MIB))}M`);
  }
  if (resources.gpu !== undefined && resources.gpu > 0) flags.push(`--gres=gpu:${Math.ceil(resources.gpu)}`);
  return flags;
}

/** All sbatch flags for the job (the script path comes last, added by the caller). */
export function sbatchArgs(spec: JobSpec, options: JobOptions): string[] {
  const name = jobName(spec.stageIds);
  const args = [
    `--job-name=${name}`,
    // %j: the job id, so retries of the same stage keep their own logs
    `--output=${join(spec.logDir, `${name}-%j.log`)}`,
    `--chdir=${spec.projectDir}`,
    '--nodes=1',
    '--ntasks=1',
    ...resourceFlags(spec.resources),
  ];
  if (options.timeLimit) args.push(`--time=${options.timeLimit}`);
  if (options.partition) args.push(`--partition=${options.partition}`);
  if (options.account) args.push(`--account=${options.account}`);
  args.push(...(options.extraFlags ?? []));
  return args;
}

/** Marker lines the script prints, parsed back for timings (ms since the epoch). */
export const START_MARK = '[slurm-exec] start ';
export const END_MARK = '[slurm-exec] end ';
/** exec-stage's structured progress of a stage, one JSON object a line: the job log is the only
 * channel from a job to the engine (read back by the executor, never shown as a log line). */
export const PROGRESS_MARK = '[slurm-exec] progress ';

export function progressMark(stage: string, p: StageProgress): string {
  return `${PROGRESS_MARK}${JSON.stringify({ stage, done: p.done, total: p.total, unit: p.unit })}`;
}

/** The stage and progress of a progress mark line, or undefined when it is not one. */
export function parseProgressMark(line: string): { stage: string; progress: StageProgress } | undefined {
  if (!line.startsWith(PROGRESS_MARK)) return undefined;
  try {
    const v = JSON.parse(line.slice(PROGRESS_MARK.length)) as Record<string, unknown>;
    const { stage, done, total, unit } = v;
    if (typeof stage !== 'string' || typeof done !== 'number' || typeof total !== 'number' || typeof unit !== 'string') return undefined;
    return { stage, progress: { done, total, unit } };
  } catch {
    return undefined;
  }
}

/**
 * The batch script. It prints a start mark (with the devices Slurm granted), runs exec-stage on
 * the invocation files, and prints an end mark with the exit status, which it passes on.
 */
export function batchScript(spec: JobSpec): string {
  const files = spec.invocationFiles.map(shellQuote).join(' ');
  const wantsGpu = (spec.resources.gpu ?? 0) > 0;
  return [
    '#!/bin/bash',
    `# pipeline slurm executor: ${spec.stageIds.join(' ')}`,
    'set -u',
    // sbatch exports the submitting shell's environment; a job without GPUs must not inherit
    // device ids from it (with --gres Slurm sets CUDA_VISIBLE_DEVICES to the granted ones)
    ...(wantsGpu ? [] : ['unset CUDA_VISIBLE_DEVICES']),
    HUGEPAGE_MALLOC_SHELL,
    `echo "${START_MARK}$(date +%s%3N) job=\${SLURM_JOB_ID:-?} node=$(hostname) cuda_visible_devices=\${CUDA_VISIBLE_DEVICES-unset}"`,
    `cd ${shellQuote(spec.projectDir)} || exit 90`,
    `${spec.execPrefix} ${files}`,
    'rc=$?',
    `echo "${END_MARK}$(date +%s%3N) rc=$rc"`,
    'exit $rc',
    '',
  ].join('\n');
}

/** Parse the marks out of a job log: { start, end, rc } (each null when absent). */
export function parseMarks(log: string): { start: number | null; end: number | null; rc: number | null } {
  const start = new RegExp(`^${escapeRe(START_MARK)}(\\d+)`, 'm').exec(log);
  const end = new RegExp(`^${escapeRe(END_MARK)}(\\d+) rc=(\\d+)`, 'm').exec(log);
  return {
    start: start?.[1] ? Number(start[1]) : null,
    end: end?.[1] ? Number(end[1]) : null,
    rc: end?.[2] ? Number(end[2]) : null,
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
