// Prompt templates of declared tasks: text with named placeholders `{name}`; `{{` and `}}` are
// literal braces. A placeholder names an item column or a name the form provides (sentence1…).

export type TemplatePart = { text: string } | { name: string };

export type TemplateError = { reason: 'unclosed' | 'empty' | 'stray-brace'; at: number };

export function parseTemplate(template: string): TemplatePart[] | TemplateError {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (ch === '{' && template[i + 1] === '{') { text += '{'; i++; continue; }
    if (ch === '}' && template[i + 1] === '}') { text += '}'; i++; continue; }
    if (ch === '}') return { reason: 'stray-brace', at: i };
    if (ch !== '{') { text += ch; continue; }
    const end = template.indexOf('}', i + 1);
    if (end < 0) return { reason: 'unclosed', at: i };
    const name = template.slice(i + 1, end);
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) return { reason: 'empty', at: i };
    if (text) parts.push({ text });
    text = '';
    parts.push({ name });
    i = end;
  }
  if (text) parts.push({ text });
  return parts;
}

export function isTemplateError(x: TemplatePart[] | TemplateError): x is TemplateError {
  return !Array.isArray(x);
}

export function templateError(e: TemplateError): string {
  switch (e.reason) {
    case 'unclosed': return `a "{" at character ${e.at + 1} is never closed (write {{ for a literal brace)`;
    case 'empty': return `the placeholder at character ${e.at + 1} is not a name (write {{ for a literal brace)`;
    case 'stray-brace': return `a "}" at character ${e.at + 1} closes nothing (write }} for a literal brace)`;
  }
}

/** The placeholder names of a template (parsed already). */
export function placeholders(parts: readonly TemplatePart[]): string[] {
  return parts.flatMap((p) => ('name' in p ? [p.name] : []));
}

/** Fill a parsed template; every placeholder must have a value (validated before anything runs). */
export function fillTemplate(parts: readonly TemplatePart[], values: Record<string, string | undefined>): string {
  return parts.map((p) => {
    if ('text' in p) return p.text;
    const v = values[p.name];
    if (v === undefined) throw new Error(`template placeholder {${p.name}} has no value`);
    return v;
  }).join('');
}
