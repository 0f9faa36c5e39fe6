// A squarified treemap (Bruls, Huizing, van Wijk) of positive amounts, as positioned links:
// boxes are placed in percentages through the CSSOM (the policy refuses style attributes).
import { h } from "./dom.js";
import { money } from "./format.js";

const WIDTH = 1000;
const HEIGHT = 400;

function worst(row, side) {
  const sum = row.reduce((s, r) => s + r.area, 0);
  const max = Math.max(...row.map((r) => r.area));
  const min = Math.min(...row.map((r) => r.area));
  return Math.max((side * side * max) / (sum * sum), (sum * sum) / (side * side * min));
}

// Lays `row` along the shorter side of `rect`; returns the rectangle left over.
function place(row, rect, boxes) {
  const sum = row.reduce((s, r) => s + r.area, 0);
  const vertical = rect.w >= rect.h; // a column at the left, else a row at the top
  const thickness = sum / (vertical ? rect.h : rect.w);
  let offset = 0;
  for (const r of row) {
    const length = r.area / thickness;
    boxes.push(vertical
      ? { ...r, x: rect.x, y: rect.y + offset, w: thickness, h: length }
      : { ...r, x: rect.x + offset, y: rect.y, w: length, h: thickness });
    offset += length;
  }
  return vertical
    ? { x: rect.x + thickness, y: rect.y, w: rect.w - thickness, h: rect.h }
    : { x: rect.x, y: rect.y + thickness, w: rect.w, h: rect.h - thickness };
}

export function layout(items) {
  const total = items.reduce((s, i) => s + i.value, 0);
  const queue = items.filter((i) => i.value > 0).sort((a, b) => b.value - a.value)
    .map((i) => ({ ...i, area: (i.value / total) * WIDTH * HEIGHT }));
  const boxes = [];
  let rect = { x: 0, y: 0, w: WIDTH, h: HEIGHT };
  let row = [];
  while (queue.length) {
    const side = Math.min(rect.w, rect.h);
    if (!row.length || worst([...row, queue[0]], side) <= worst(row, side)) row.push(queue.shift());
    else { rect = place(row, rect, boxes); row = []; }
  }
  if (row.length) place(row, rect, boxes);
  return boxes;
}

// items: [{label, amount (decimal string), href}]; negative and zero amounts are left out.
export function treemap(title, items) {
  const boxes = layout(items.map((i) => ({ ...i, value: Number(i.amount) })));
  const map = h("div", { class: "treemap", role: "list", "aria-label": title });
  boxes.forEach((b, n) => {
    const box = h("a", { href: b.href, class: `tile tile-${n % 6}`, role: "listitem", title: `${b.label}: ${money(b.amount)}` },
      h("span", {}, b.label), h("span", { class: "num" }, money(b.amount)));
    Object.assign(box.style, { left: `${b.x / 10}%`, top: `${b.y / 4}%`, width: `${b.w / 10}%`, height: `${b.h / 4}%` });
    map.append(box);
  });
  return h("figure", { class: "treemap-figure" }, h("figcaption", {}, title), map);
}
