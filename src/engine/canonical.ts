// Canonical JSON (sorted keys, no whitespace) and sha256: the basis of every key and manifest digest.
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  return write(value) ?? 'null';
}

/** Builds the string directly (no sorted copy of the value): fan-in keys name thousands of inputs. */
function write(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => write(v) ?? 'null').join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    const v = write(obj[k]);
    if (v !== undefined) parts.push(`${JSON.stringify(k)}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

export function sha256(data: string | Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function digestOf(value: unknown): string {
  return sha256(canonicalJson(value));
}

/** Short form for messages: the first 10 hex digits. */
export function short(digest: string): string {
  return digest.slice(0, 10);
}
