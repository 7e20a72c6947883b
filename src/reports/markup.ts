/** Text escaped for XML and HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON to embed in a `<script type="application/json">`: `<` escaped so that no `</script>` ends it early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** A standalone SVG document of the given size around `parts`, with the drawing's stylesheet and background. */
export function svgDocument(width: number, height: number, label: string, css: string, parts: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="ls-drawing" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(label)}">`,
    `<style>${css}</style>`,
    `<rect width="${width}" height="${height}" class="ls-surface"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** A number as SVG writes it: at most one decimal, no trailing zero. */
export function num(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** An id or class fragment from any text: `points-deduct naive read-committed` → `points-deduct-naive-read-committed`. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
