// `${name}` in a `run:` command: the value reaches bash as data, never as shell syntax. A value from
// a hub (a branch name matched by a revision glob), a matrix or `--set` may hold `$(…)`, backticks,
// `;` or quotes. A plain value (what zx's `$` would leave unquoted: letters, digits, `_ / . - @ :
// =`) is written into the command as it is, so commands stay readable and keys unchanged. Any other
// value (the empty one included) goes into an environment variable, and the command refers to it as
// one quoted word, quoted for the context the `${name}` stands in (unquoted, "…", '…', $'…',
// $(…), `…`). A parameter expansion's result is never parsed again by bash, so even a
// misjudged context can only split a value into words — never run it.
export interface CommandValues {
  /** The command with every `${name}` replaced. */
  cmd: string;
  /** PIPELINE_VAR_<name> → value, for the values passed by the environment. */
  env: Record<string, string>;
}

const VAR_RE = /^\$\{([A-Za-z_][A-Za-z0-9_.]*)\}/;
/** zx's `quote` leaves exactly these unquoted (zx build/util: /^[\w/.\-@:=]+$/). */
const PLAIN = /^[\w/.\-@:=]+$/;

type Ctx = 'plain' | 'double' | 'single' | 'ansi' | 'backtick' | 'sub';

export function quoteForCommand(cmd: string, scope: Record<string, unknown>, onUnknown: (name: string) => void): CommandValues {
  const env: Record<string, string> = {};
  const envNames = new Map<string, string>();
  const envName = (name: string): string => {
    let e = envNames.get(name);
    if (!e) {
      const base = `PIPELINE_VAR_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
      e = base;
      for (let n = 2; [...envNames.values()].includes(e); n++) e = `${base}_${n}`;
      envNames.set(name, e);
    }
    return e;
  };
  // Quoting contexts, innermost last; `depth` counts open parentheses inside a $( … ).
  const stack: { ctx: Ctx; depth: number }[] = [{ ctx: 'plain', depth: 0 }];
  let out = '';
  for (let i = 0; i < cmd.length; ) {
    const top = stack[stack.length - 1]!;
    const c = cmd[i]!;
    const m = c === '$' ? VAR_RE.exec(cmd.slice(i)) : null;
    if (m) {
      const name = m[1]!;
      const raw = scope[name];
      if (raw === undefined) onUnknown(name);
      const value = raw === undefined ? '' : Array.isArray(raw) ? raw.join(',') : String(raw);
      if (PLAIN.test(value)) out += value;
      else {
        const e = envName(name);
        env[e] = value;
        out += reference(e, top.ctx);
      }
      i += m[0].length;
      continue;
    }
    const two = cmd.slice(i, i + 2);
    const push = (ctx: Ctx, len: number): void => {
      stack.push({ ctx, depth: 0 });
      out += cmd.slice(i, i + len);
      i += len;
    };
    const pop = (): void => {
      if (stack.length > 1) stack.pop();
      out += c;
      i += 1;
    };
    switch (top.ctx) {
      case 'single':
        if (c === "'") pop();
        else (out += c), i++;
        continue;
      case 'ansi':
      case 'double':
        if (c === '\\') {
          out += two;
          i += two.length;
        } else if ((top.ctx === 'ansi' && c === "'") || (top.ctx === 'double' && c === '"')) pop();
        else if (top.ctx === 'double' && two === '$(') push('sub', 2);
        else if (top.ctx === 'double' && c === '`') push('backtick', 1);
        else (out += c), i++;
        continue;
      default:
        // plain, sub and backtick: the unquoted grammar.
        if (c === '\\') {
          out += two;
          i += two.length;
        } else if (c === "'") push('single', 1);
        else if (two === "$'") push('ansi', 2);
        else if (c === '"') push('double', 1);
        else if (two === '$(') push('sub', 2);
        else if (c === '`' && top.ctx === 'backtick') pop();
        else if (c === '`') push('backtick', 1);
        else if (top.ctx === 'sub' && c === '(') {
          top.depth++;
          out += c;
          i++;
        } else if (top.ctx === 'sub' && c === ')') {
          if (top.depth === 0) pop();
          else {
            top.depth--;
            out += c;
            i++;
          }
        } else (out += c), i++;
    }
  }
  return { cmd: out, env };
}

/** The variable as one word, for the context it stands in. */
function reference(e: string, ctx: Ctx): string {
  switch (ctx) {
    case 'double':
      return `\${${e}}`;
    case 'single':
      return `'"\${${e}}"'`;
    case 'ansi':
      return `'"\${${e}}"$'`;
    default:
      return `"\${${e}}"`;
  }
}
