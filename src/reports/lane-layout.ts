import { ellipsize, textWidth, wrapText, type Face } from './text-width.ts';
import type { BoxMark, LaneDiagram, LaneLine, LineTone } from './lanes.ts';

/** A line of text placed at its baseline. */
export interface PlacedText {
  readonly x: number;
  readonly y: number;
  readonly text: string;
  readonly face: Face;
  readonly size: number;
  readonly tone: LineTone | 'label' | 'caption' | 'step' | 'note' | 'tag';
  readonly anchor?: 'start' | 'middle' | 'end';
}

export interface PlacedBox {
  readonly id: string;
  readonly lane: number;
  readonly row: number;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly lines: readonly PlacedText[];
  readonly mark?: BoxMark;
  readonly emphasis?: 'damage' | 'divergence';
  readonly tag?: PlacedText;
  readonly title: string;
}

export interface PlacedLane {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly label: PlacedText;
  readonly caption: PlacedText;
}

export interface PlacedRow {
  readonly step: number;
  readonly y: number;
  readonly h: number;
  readonly band?: 'damage' | 'divergence';
  readonly label: PlacedText;
  readonly note?: PlacedText;
}

/** A hatched span where a statement waited for a lock. */
export interface PlacedWait {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly label?: PlacedText;
}

/** An arrow: a lock wait pointing at its blocker, a release, or a dependency edge. */
export interface PlacedConnector {
  readonly kind: 'wait' | 'release' | 'ww' | 'wr' | 'rw';
  readonly d: string;
  readonly label: { readonly x: number; readonly y: number; readonly w: number; readonly text: string };
  readonly title: string;
}

/** A swimlane diagram with every position computed: what `lanes-svg.ts` draws. */
export interface LaneLayout {
  readonly idPrefix: string;
  readonly width: number;
  readonly height: number;
  readonly lanes: readonly PlacedLane[];
  readonly rows: readonly PlacedRow[];
  readonly boxes: readonly PlacedBox[];
  readonly waits: readonly PlacedWait[];
  readonly connectors: readonly PlacedConnector[];
}

const margin = 12;
const gutter = 58;
const header = 50;
const laneGap = 96;
const inset = 8;
const padX = 10;
const padY = 7;
const icon = 22;
const tagHeight = 15;
const rowGap = 12;
const minRow = 30;
const minLane = 230;
const maxLane = 400;
const type = { statement: { face: 'mono', size: 12, lead: 16 }, other: { face: 'sans', size: 12, lead: 15 } } as const;

const styleOf = (line: LaneLine) => (line.tone === 'statement' ? type.statement : type.other);

/**
 * Places a swimlane diagram: every lane as wide as the widest box needs
 * (within bounds), lines wrapped by estimated text width, each row as tall
 * as its tallest box, and connectors attached to the sides of their boxes,
 * spread along each side in the order of the boxes they lead to. The same
 * diagram always gives the same layout.
 */
export function layoutLanes(diagram: LaneDiagram): LaneLayout {
  const natural = Math.max(0, ...diagram.boxes.flatMap((b) => b.lines.map((l) => textWidth(l.text, styleOf(l).face, styleOf(l).size))));
  const laneW = Math.round(Math.min(maxLane, Math.max(minLane, natural + 2 * inset + 2 * padX + icon)));
  const textW = laneW - 2 * inset - 2 * padX - icon;
  const wrapped = diagram.boxes.map((b) =>
    b.lines.flatMap((l) => wrapText(l.text, styleOf(l).face, styleOf(l).size, textW, l.tone === 'statement' ? 3 : 2).map((text) => ({ text, tone: l.tone }))),
  );
  const contentH = (i: number) => 2 * padY + wrapped[i].reduce((h, l) => h + styleOf(l).lead, 0) + (diagram.boxes[i].tag ? tagHeight : 0);
  const rowH = diagram.rows.map((_, r) => Math.max(minRow, ...diagram.boxes.map((b, i) => (b.row === r ? contentH(i) : 0))));
  const top = margin + header;
  const rowY: number[] = [];
  let y = top + rowGap / 2;
  for (const h of rowH) {
    rowY.push(y);
    y += h + rowGap;
  }
  const height = Math.round(y - rowGap / 2 + margin);
  const laneX = (i: number) => margin + gutter + i * (laneW + laneGap);
  const width = laneX(diagram.lanes.length - 1) + laneW + margin;

  const lanes: PlacedLane[] = diagram.lanes.map((lane, i) => ({
    x: laneX(i),
    y: margin,
    w: laneW,
    h: height - 2 * margin,
    label: { x: laneX(i) + laneW / 2, y: margin + 20, text: `T${lane.tx}`, face: 'sans', size: 15, tone: 'label', anchor: 'middle' },
    caption: { x: laneX(i) + laneW / 2, y: margin + 38, text: ellipsize(lane.caption, 'mono', 11, laneW - 2 * inset), face: 'mono', size: 11, tone: 'caption', anchor: 'middle' },
  }));
  const rows: PlacedRow[] = diagram.rows.map((row, r) => ({
    step: row.step,
    y: rowY[r],
    h: rowH[r],
    ...(row.band ? { band: row.band } : {}),
    label: { x: margin + gutter / 2, y: rowY[r] + 19, text: String(row.step), face: 'sans', size: 14, tone: 'step', anchor: 'middle' },
    ...(row.note ? { note: { x: margin + gutter / 2, y: rowY[r] + 34, text: row.note, face: 'sans', size: 10.5, tone: 'note', anchor: 'middle' } } : {}),
  }));
  const boxes: PlacedBox[] = diagram.boxes.map((b, i) => {
    const x = laneX(b.lane) + inset;
    const by = rowY[b.row] + (b.tag ? tagHeight : 0);
    let ly = by + padY;
    const lines = wrapped[i].map((l) => {
      const s = styleOf(l);
      ly += s.lead;
      return { x: x + padX, y: ly - 4, text: l.text, face: s.face, size: s.size, tone: l.tone };
    });
    return {
      id: b.id,
      lane: b.lane,
      row: b.row,
      x,
      y: by,
      w: laneW - 2 * inset,
      h: contentH(i) - (b.tag ? tagHeight : 0),
      lines,
      ...(b.mark ? { mark: b.mark } : {}),
      ...(b.emphasis ? { emphasis: b.emphasis } : {}),
      ...(b.tag ? { tag: { x: x + 2, y: rowY[b.row] + 11, text: b.tag, face: 'sans', size: 10.5, tone: 'tag' } } : {}),
      title: b.title,
    } satisfies PlacedBox;
  });
  const byId = new Map(boxes.map((b) => [b.id, b]));
  const waits: PlacedWait[] = diagram.waits.map((w) => {
    const from = byId.get(w.waiting)!;
    const to = w.released ? byId.get(w.released) : undefined;
    const y0 = from.y + from.h;
    const y1 = to ? to.y : height - margin;
    const h = Math.max(0, y1 - y0);
    return {
      x: from.x,
      y: y0,
      w: from.w,
      h,
      ...(h >= 22 ? { label: { x: from.x + from.w / 2, y: y0 + h / 2 + 4, text: 'waiting for a lock', face: 'sans', size: 11, tone: 'wait', anchor: 'middle' } } : {}),
    } satisfies PlacedWait;
  });
  return { idPrefix: diagram.idPrefix, width, height, lanes, rows, boxes, waits, connectors: connectors(diagram, byId, laneX, laneW) };
}

interface Wanted {
  kind: PlacedConnector['kind'];
  from: PlacedBox;
  /** A box, or for a wait the point on the blocker's lane it points at. */
  to: PlacedBox | { lane: number; x: number; y: number };
  text: string;
  title: string;
}

/** Every arrow, attached at ports spread along the facing sides of its boxes. */
function connectors(diagram: LaneDiagram, byId: Map<string, PlacedBox>, laneX: (i: number) => number, laneW: number): PlacedConnector[] {
  const wanted: Wanted[] = [];
  for (const w of diagram.waits) {
    const from = byId.get(w.waiting)!;
    for (const lane of w.blockers) {
      const right = lane > from.lane;
      const x = right ? laneX(lane) + inset : laneX(lane) + laneW - inset;
      wanted.push({ kind: 'wait', from, to: { lane, x, y: from.y + from.h / 2 }, text: 'waits for', title: `T${diagram.lanes[from.lane].tx} waits for T${diagram.lanes[lane].tx}` });
    }
    if (w.releasedBy && w.released) {
      const by = byId.get(w.releasedBy)!;
      const released = byId.get(w.released)!;
      wanted.push({ kind: 'release', from: by, to: released, text: 'releases', title: `Step ${diagram.rows[by.row].step} releases T${diagram.lanes[released.lane].tx}` });
    }
  }
  for (const e of diagram.edges) {
    const from = byId.get(e.from)!;
    const to = byId.get(e.to)!;
    const text = textWidth(e.label, 'sans', 10.5) + 10 <= laneGap - 6 ? e.label : e.kind;
    wanted.push({ kind: e.kind, from, to, text, title: `${e.label}: T${diagram.lanes[from.lane].tx} -${e.kind}-> T${diagram.lanes[to.lane].tx}` });
  }
  // Ports: each box side shares its height among the arrows that touch it, ordered by where they go.
  const ports = new Map<string, { w: Wanted; end: 'from' | 'to'; other: number }[]>();
  const side = (box: PlacedBox, towards: number) => `${box.id} ${towards > box.lane ? 'r' : 'l'}`;
  const lane = (end: Wanted['to']) => end.lane;
  const midY = (end: Wanted['to']) => ('id' in end ? end.y + end.h / 2 : end.y);
  for (const w of wanted) {
    const k1 = side(w.from, lane(w.to));
    ports.set(k1, [...(ports.get(k1) ?? []), { w, end: 'from', other: midY(w.to) }]);
    if ('id' in w.to) {
      const k2 = side(w.to, w.from.lane);
      ports.set(k2, [...(ports.get(k2) ?? []), { w, end: 'to', other: midY(w.from) }]);
    }
  }
  const at = new Map<Wanted, { from?: [number, number]; to?: [number, number] }>();
  for (const [key, list] of ports) {
    const box = byId.get(key.slice(0, key.lastIndexOf(' ')))!;
    const right = key.endsWith(' r');
    list.sort((a, b) => a.other - b.other);
    list.forEach((p, i) => {
      const y = Math.round(box.y + (box.h * (i + 1)) / (list.length + 1));
      const point: [number, number] = [right ? box.x + box.w : box.x, y];
      at.set(p.w, { ...at.get(p.w), [p.end]: point });
    });
  }
  return wanted.map((w) => {
    const [x1, y1] = at.get(w)!.from!;
    const [x2, y2] = 'id' in w.to ? at.get(w)!.to! : [w.to.x, y1];
    const dx = (x2 > x1 ? 1 : -1) * Math.min(laneGap * 0.7, Math.abs(x2 - x1) / 2);
    const d = y1 === y2 ? `M${x1} ${y1} L${x2} ${y2}` : `M${x1} ${y1} C${x1 + dx} ${y1} ${x2 - dx} ${y2} ${x2} ${y2}`;
    const mx = (x1 + x2) / 2;
    const my = (y1 + y2) / 2;
    const lw = textWidth(w.text, 'sans', 10.5) + 10;
    return { kind: w.kind, d, label: { x: round(mx), y: round(my), w: round(lw), text: w.text }, title: w.title };
  });
}

const round = (n: number) => Math.round(n * 10) / 10;
