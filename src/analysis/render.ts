// Server-side SVG rendering of a Vega-Lite spec. vega and vega-lite are imported lazily so that
// nothing loads them unless a figure is drawn.

export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  // vega-lite warns on stderr about facets with independent scales it handles correctly; stay quiet.
  const quiet = { level: () => quiet, error: () => quiet, warn: () => quiet, info: () => quiet, debug: () => quiet };
  const compiled = vl.compile(spec as never, { logger: quiet as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
