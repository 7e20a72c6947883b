/**
 * Text widths for laying out reports without a browser: each character's
 * advance from a fixed table, so the same text always gets the same box.
 * Sans-serif text uses Helvetica's widths (Arial and Liberation Sans share
 * them); monospaced text 0.6 em per character (DejaVu Sans Mono, Liberation
 * Mono, Menlo, Consolas). The fonts reports ask for are in `fontStacks`.
 */

/** The two faces reports use. */
export type Face = 'sans' | 'mono';

/** The CSS font stacks matching the width tables. */
export const fontStacks: Record<Face, string> = {
  sans: "'Liberation Sans', Arial, Helvetica, sans-serif",
  mono: "'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace",
};

/** Helvetica advances in 1/1000 em for the printable ASCII characters, from space (32) to tilde (126). */
const helvetica = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
  556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0 to ?
  1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @ to O
  667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P to _
  333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // ` to o
  556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p to ~
];

/** Anything outside ASCII: arrows, dashes, accented letters; wide enough for most. */
const otherWidth = 700;
const monoWidth = 600;

/** The width in pixels of `text` set in `face` at `size` pixels. */
export function textWidth(text: string, face: Face, size: number): number {
  let units = 0;
  for (const ch of text) {
    if (face === 'mono') {
      units += monoWidth;
      continue;
    }
    const code = ch.codePointAt(0)!;
    units += code >= 32 && code <= 126 ? helvetica[code - 32] : otherWidth;
  }
  return (units * size) / 1000;
}

/**
 * Breaks `text` into lines no wider than `width`: at spaces where it can,
 * inside a word longer than a line where it must. At most `maxLines` lines;
 * the last one ends in an ellipsis when text was left out.
 *
 * ```ts
 * wrapText('update accounts set balance=2700 where id=1', 'mono', 12, 200); // ['update accounts set', 'balance=2700 where id=1']
 * ```
 */
export function wrapText(text: string, face: Face, size: number, width: number, maxLines = Infinity): string[] {
  const lines: string[] = [];
  let line = '';
  const fits = (s: string) => textWidth(s, face, size) <= width;
  for (const word of text.split(' ')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (fits(candidate)) {
      line = candidate;
      continue;
    }
    if (line !== '') lines.push(line);
    line = '';
    let rest = word;
    while (!fits(rest)) {
      let cut = 1;
      while (cut < rest.length && fits(rest.slice(0, cut + 1))) cut++;
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    line = rest;
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = ellipsize(`${kept[maxLines - 1]} ${lines[maxLines]}`, face, size, width, true);
  return kept;
}

/** `text` cut to `width` with a trailing ellipsis, or whole if it fits (and `always` is not set). */
export function ellipsize(text: string, face: Face, size: number, width: number, always = false): string {
  if (!always && textWidth(text, face, size) <= width) return text;
  let cut = text.length;
  while (cut > 0 && textWidth(`${text.slice(0, cut)}…`, face, size) > width) cut--;
  return `${text.slice(0, cut).trimEnd()}…`;
}
