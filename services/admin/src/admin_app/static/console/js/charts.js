// Small SVG charts drawn by hand (no third-party library, nothing fetched at run time).
// Each returns a <figure> with an <svg viewBox> that scales to its container, plus a legend.
// Numbers and texts follow the console's language (i18n.js).

import { fmt, t } from "./i18n.js";

const NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#2f6fdf", "#23a17c", "#e0a21b", "#d9534f", "#8a5cd0", "#1aa3b8", "#7a8699", "#c76b98"];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// Rough width of a label in viewBox units at the tick font size (CJK characters are wider).
function textWidth(text) {
  return [...String(text)].reduce((a, ch) => a + (ch.charCodeAt(0) > 0x2e80 ? 11.5 : 6.4), 0);
}

// A round axis maximum and a tick count giving round steps (1, 2, 2.5 or 5 × 10^k).
function niceScale(v, target = 4) {
  if (!(v > 0)) return { max: 1, ticks: 4 };
  const raw = v / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  const n = raw / p;
  const step = (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * p;
  const ticks = Math.max(1, Math.ceil(v / step - 1e-9));
  return { max: step * ticks, ticks };
}

// 1.2万 / 12K from ten thousand up, two decimals below 1.
function shortNum(v) {
  const a = Math.abs(v);
  if (a >= 1e4) return fmt.compact(v);
  if (a > 0 && a < 1) return fmt.num(v, 2);
  return Number.isInteger(v) ? fmt.int(v) : fmt.num(v, 1);
}

function figure(title, svg, legend, caption) {
  const fig = document.createElement("figure");
  fig.className = "chart";
  if (title) {
    const t = document.createElement("figcaption");
    t.textContent = title;
    fig.appendChild(t);
  }
  fig.appendChild(svg);
  if (legend && legend.length) {
    const ul = document.createElement("ul");
    ul.className = "legend";
    legend.forEach(([name, color]) => {
      const li = document.createElement("li");
      const sw = document.createElement("i");
      sw.style.background = color;
      li.append(sw, name);
      ul.appendChild(li);
    });
    fig.appendChild(ul);
  }
  if (caption) {
    const p = document.createElement("p");
    p.className = "chart-note";
    p.textContent = caption;
    fig.appendChild(p);
  }
  return fig;
}

function empty(title, text) {
  const svg = s("svg", { viewBox: "0 0 400 120", class: "chart-svg", role: "img" },
    s("text", { x: 200, y: 64, "text-anchor": "middle", class: "chart-empty" }, text || t("chart.no_data")));
  return figure(title, svg);
}

function yAxis(svg, { x0, x1, y0, y1, max, ticks, format = shortNum }) {
  for (let i = 0; i <= ticks; i++) {
    const v = (max * i) / ticks;
    const y = y1 - ((y1 - y0) * i) / ticks;
    svg.appendChild(s("line", { x1: x0, x2: x1, y1: y, y2: y, class: i === 0 ? "axis" : "grid" }));
    svg.appendChild(s("text", { x: x0 - 6, y: y + 4, "text-anchor": "end", class: "tick" }, format(v)));
  }
}

// Stacked (or single-series) vertical bars. categories: [label]; series: [{name, values:[n], color?}]
export function stackedBars({ title, categories, series, height = 220, format, caption }) {
  const totals = categories.map((_, i) => series.reduce((a, ser) => a + (Number(ser.values[i]) || 0), 0));
  if (!categories.length || totals.every((t) => t === 0)) return empty(title);
  const W = 520;
  const H = height;
  const m = { l: 48, r: 12, t: 14, b: 34 };
  const { max, ticks } = niceScale(Math.max(...totals));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": title || t("chart.bar") });
  yAxis(svg, { x0: m.l, x1: W - m.r, y0: m.t, y1: H - m.b, max, ticks, format });
  const band = (W - m.l - m.r) / categories.length;
  const bw = Math.min(56, band * 0.64);
  categories.forEach((cat, i) => {
    let acc = 0;
    const x = m.l + band * i + (band - bw) / 2;
    series.forEach((ser, j) => {
      const v = Number(ser.values[i]) || 0;
      if (!v) return;
      const y = H - m.b - ((acc + v) / max) * (H - m.t - m.b);
      const hgt = (v / max) * (H - m.t - m.b);
      svg.appendChild(s("rect", { x, y, width: bw, height: Math.max(0.5, hgt), fill: ser.color || PALETTE[j % PALETTE.length], rx: 2 },
        s("title", {}, `${cat} · ${ser.name}: ${fmt.int(v)}`)));
      acc += v;
    });
    svg.appendChild(s("text", { x: x + bw / 2, y: H - m.b - (acc / max) * (H - m.t - m.b) - 4, "text-anchor": "middle", class: "val" }, shortNum(acc)));
    svg.appendChild(s("text", { x: x + bw / 2, y: H - m.b + 16, "text-anchor": "middle", class: "tick" }, cat));
  });
  const legend = series.length > 1 ? series.map((ser, j) => [ser.name, ser.color || PALETTE[j % PALETTE.length]]) : null;
  return figure(title, svg, legend, caption);
}

export function bars({ title, data, color = PALETTE[0], height, format, caption }) {
  return stackedBars({ title, categories: data.map((d) => d.label), series: [{ name: title || t("chart.value"), values: data.map((d) => d.value), color }], height, format, caption });
}

// Horizontal bars: good for long labels (factor ranking, four-high kinds).
export function hbars({ title, data, color = PALETTE[1], format = shortNum, caption }) {
  if (!data.length || data.every((d) => !Number(d.value))) return empty(title);
  const W = 520;
  const row = 26;
  // Room for the longest label (CJK characters are about twice as wide), within 90–250 units.
  const width = textWidth;
  const labelRoom = Math.min(250, Math.max(90, Math.max(...data.map((d) => width(d.label))) + 12));
  const fit = (text) => {
    let out = "";
    for (const ch of String(text)) {
      if (width(`${out}${ch}…`) > labelRoom - 12) return `${out}…`;
      out += ch;
    }
    return out;
  };
  const m = { l: labelRoom, r: 56, t: 8, b: 8 };
  const H = m.t + m.b + row * data.length;
  const max = Math.max(...data.map((d) => Math.abs(Number(d.value) || 0))) || 1;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": title || t("chart.bar") });
  data.forEach((d, i) => {
    const y = m.t + row * i;
    const w = ((Math.abs(Number(d.value)) || 0) / max) * (W - m.l - m.r);
    svg.appendChild(s("text", { x: m.l - 8, y: y + row / 2 + 4, "text-anchor": "end", class: "tick" }, fit(d.label), s("title", {}, String(d.label))));
    svg.appendChild(s("rect", { x: m.l, y: y + 4, width: Math.max(0.5, w), height: row - 8, fill: d.color || color, rx: 2 }, s("title", {}, `${d.label}: ${d.value}`)));
    svg.appendChild(s("text", { x: m.l + w + 6, y: y + row / 2 + 4, class: "val" }, format(Number(d.value) || 0)));
  });
  return figure(title, svg, null, caption);
}

// Lines over shared x labels. series: [{name, values:[n|null], color?}]
export function lines({ title, labels, series, height = 220, format, caption, yMax }) {
  const all = series.flatMap((ser) => ser.values.filter((v) => v !== null && v !== undefined).map(Number));
  if (!labels.length || !all.length) return empty(title);
  const W = 520;
  const H = height;
  const m = { l: 48, r: 30, t: 14, b: 34 };
  const scale = yMax ? { max: yMax, ticks: 4 } : niceScale(Math.max(...all));
  const max = scale.max;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": title || t("chart.line") });
  yAxis(svg, { x0: m.l, x1: W - m.r, y0: m.t, y1: H - m.b, max, ticks: scale.ticks, format });
  const step = labels.length > 1 ? (W - m.l - m.r) / (labels.length - 1) : 0;
  const xOf = (i) => (labels.length > 1 ? m.l + step * i : (W + m.l - m.r) / 2);
  const yOf = (v) => H - m.b - (v / max) * (H - m.t - m.b);
  // x labels: the first and the last always, the others only where they do not collide
  const last = labels.length - 1;
  const span = (i) => {
    const w = textWidth(labels[i]);
    const x = xOf(i);
    if (labels.length > 1 && i === last) return [x - w, x];
    if (labels.length > 1 && i === 0) return [x, x + w];
    return [x - w / 2, x + w / 2];
  };
  let right = -Infinity;
  const lastLeft = span(last)[0];
  labels.forEach((lab, i) => {
    const [a, b] = span(i);
    if (i !== last && (a < right + 8 || (i > 0 && b > lastLeft - 8))) return;
    const anchor = labels.length > 1 && i === last ? "end" : labels.length > 1 && i === 0 ? "start" : "middle";
    svg.appendChild(s("text", { x: xOf(i), y: H - m.b + 16, "text-anchor": anchor, class: "tick" }, lab));
    right = b;
  });
  series.forEach((ser, j) => {
    const color = ser.color || PALETTE[j % PALETTE.length];
    const pts = ser.values.map((v, i) => (v === null || v === undefined ? null : [xOf(i), yOf(Number(v))])).filter(Boolean);
    if (pts.length > 1) svg.appendChild(s("polyline", { points: pts.map((p) => p.join(",")).join(" "), fill: "none", stroke: color, "stroke-width": 2.2, "stroke-linejoin": "round" }));
    ser.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      svg.appendChild(s("circle", { cx: xOf(i), cy: yOf(Number(v)), r: 3.2, fill: color }, s("title", {}, `${labels[i]} · ${ser.name}: ${format ? format(Number(v)) : v}`)));
    });
  });
  const legend = series.length > 1 ? series.map((ser, j) => [ser.name, ser.color || PALETTE[j % PALETTE.length]]) : null;
  return figure(title, svg, legend, caption);
}

// Estimates with confidence intervals around zero (campaign uplift): rows [{label, value, lo, hi}].
export function intervals({ title, rows, format = (v) => fmt.pp(v), caption }) {
  const usable = rows.filter((r) => r.value !== null && r.value !== undefined);
  if (!usable.length) return empty(title, t("chart.no_estimate"));
  const W = 520;
  const row = 34;
  const m = { l: 150, r: 20, t: 20, b: 26 };
  const H = m.t + m.b + row * usable.length;
  const ext = Math.max(...usable.flatMap((r) => [r.value, r.lo ?? r.value, r.hi ?? r.value].map((v) => Math.abs(Number(v))))) || 0.01;
  const lim = ext * 1.15;
  const xOf = (v) => m.l + ((Number(v) + lim) / (2 * lim)) * (W - m.l - m.r);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": title || t("chart.interval") });
  svg.appendChild(s("line", { x1: xOf(0), x2: xOf(0), y1: m.t - 6, y2: H - m.b + 4, class: "axis" }));
  svg.appendChild(s("text", { x: xOf(0), y: H - 6, "text-anchor": "middle", class: "tick" }, t("chart.no_effect")));
  svg.appendChild(s("text", { x: xOf(-lim), y: H - 6, "text-anchor": "start", class: "tick" }, format(-lim)));
  svg.appendChild(s("text", { x: xOf(lim), y: H - 6, "text-anchor": "end", class: "tick" }, format(lim)));
  usable.forEach((r, i) => {
    const y = m.t + row * i + row / 2;
    const good = r.lo !== null && r.lo !== undefined && Number(r.lo) > 0;
    const bad = r.hi !== null && r.hi !== undefined && Number(r.hi) < 0;
    const color = good ? "#23a17c" : bad ? "#d9534f" : "#7a8699";
    svg.appendChild(s("text", { x: m.l - 8, y: y + 4, "text-anchor": "end", class: "tick" }, r.label));
    if (r.lo !== null && r.lo !== undefined && r.hi !== null && r.hi !== undefined) {
      svg.appendChild(s("line", { x1: xOf(r.lo), x2: xOf(r.hi), y1: y, y2: y, stroke: color, "stroke-width": 3, "stroke-linecap": "round" }));
    }
    svg.appendChild(s("circle", { cx: xOf(r.value), cy: y, r: 5.5, fill: color }, s("title", {}, `${r.label}: ${format(Number(r.value))}`)));
    svg.appendChild(s("text", { x: xOf(r.value), y: y - 9, "text-anchor": "middle", class: "val" }, format(Number(r.value))));
  });
  return figure(title, svg, null, caption);
}

// A ring showing shares (risk levels, hold-out split).
export function donut({ title, data, caption }) {
  const total = data.reduce((a, d) => a + (Number(d.value) || 0), 0);
  if (!total) return empty(title);
  const W = 320;
  const H = 180;
  const cx = 90;
  const cy = 90;
  const R = 70;
  const r = 42;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg donut", role: "img", "aria-label": title || t("chart.donut") });
  let a0 = -Math.PI / 2;
  data.forEach((d, i) => {
    const v = Number(d.value) || 0;
    if (!v) return;
    const color = d.color || PALETTE[i % PALETTE.length];
    if (v === total) {
      svg.appendChild(s("circle", { cx, cy, r: (R + r) / 2, fill: "none", stroke: color, "stroke-width": R - r }));
      return;
    }
    const a1 = a0 + (v / total) * Math.PI * 2;
    const large = a1 - a0 > Math.PI ? 1 : 0;
    const p = (rad, a) => `${cx + rad * Math.cos(a)},${cy + rad * Math.sin(a)}`;
    svg.appendChild(s("path", { d: `M${p(R, a0)} A${R},${R} 0 ${large} 1 ${p(R, a1)} L${p(r, a1)} A${r},${r} 0 ${large} 0 ${p(r, a0)} Z`, fill: color },
      s("title", {}, `${d.label}: ${fmt.int(v)}`)));
    a0 = a1;
  });
  svg.appendChild(s("text", { x: cx, y: cy + 6, "text-anchor": "middle", class: "donut-total" }, shortNum(total)));
  data.forEach((d, i) => {
    const y = 30 + i * 24;
    svg.appendChild(s("rect", { x: 185, y: y - 10, width: 12, height: 12, rx: 2, fill: d.color || PALETTE[i % PALETTE.length] }));
    svg.appendChild(s("text", { x: 204, y, class: "tick legend-text" }, `${d.label}  ${fmt.pct((Number(d.value) || 0) / total, 0)}`));
  });
  return figure(title, svg, null, caption);
}

// Bars left and right of zero (a cluster's features in standard deviations from the population).
// data: [{label, value}]; positive values green, negative red.
export function divergingBars({ title, data, format = (v) => fmt.num(v, 1), caption }) {
  if (!data.length) return empty(title);
  const W = 520;
  const row = 22;
  const m = { l: Math.min(200, Math.max(80, Math.max(...data.map((d) => textWidth(d.label))) + 12)), r: 16, t: 6, b: 18 };
  const H = m.t + m.b + row * data.length;
  const lim = 1.3 * Math.max(1, ...data.map((d) => Math.abs(Number(d.value) || 0))); // room for the value text
  const x0 = m.l + (W - m.l - m.r) / 2;
  const half = (W - m.l - m.r) / 2;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": title || t("chart.bar") });
  svg.appendChild(s("line", { x1: x0, x2: x0, y1: m.t - 2, y2: H - m.b + 2, class: "axis" }));
  data.forEach((d, i) => {
    const v = Number(d.value) || 0;
    const y = m.t + row * i;
    const w = (Math.abs(v) / lim) * half;
    svg.appendChild(s("text", { x: m.l - 8, y: y + row / 2 + 4, "text-anchor": "end", class: "tick" }, String(d.label)));
    svg.appendChild(s("rect", { x: v >= 0 ? x0 : x0 - w, y: y + 4, width: Math.max(0.5, w), height: row - 8, rx: 2, fill: v >= 0 ? "#23a17c" : "#d9534f" },
      s("title", {}, `${d.label}: ${format(v)}`)));
    svg.appendChild(s("text", { x: v >= 0 ? x0 + w + 4 : x0 - w - 4, y: y + row / 2 + 4, "text-anchor": v >= 0 ? "start" : "end", class: "val" }, format(v)));
  });
  svg.appendChild(s("text", { x: x0, y: H - 4, "text-anchor": "middle", class: "tick" }, "0"));
  return figure(title, svg, null, caption);
}
