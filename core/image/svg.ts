/** Minimal SVG/XML building: escaped text and attributes, so pictures are strings that any viewer opens. */

/** Text or an attribute value with XML's five special characters escaped. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c] as string};`);
}

type Attr = string | number | undefined;

/** `<tag a="1">children</tag>` (self-closing without children); undefined attributes are left out. */
export function el(tag: string, attrs: Readonly<Record<string, Attr>>, ...children: readonly string[]): string {
  const a = Object.entries(attrs)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
  return children.length ? `<${tag}${a}>${children.join('')}</${tag}>` : `<${tag}${a}/>`;
}

/** A text element whose content is escaped. */
export function text(x: number, y: number, content: string, attrs: Readonly<Record<string, Attr>> = {}): string {
  return el('text', { x, y, ...attrs }, escapeXml(content));
}

/** A PNG as a data: URI (how pictures travel inside an SVG or a self-contained HTML file). */
export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64')}`;
}
