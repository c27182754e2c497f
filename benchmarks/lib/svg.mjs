// One hand-written SVG bar chart per workload: a panel per group, one horizontal bar
// per runner (its median) with a min–max whisker (min–p99 for latencies). Each panel is
// a chart of its own with one labelled axis: linear, or logarithmic (said in its title)
// when its bars differ by more than LOG_RATIO. The label column is as wide as the
// longest label, so no label is clipped.
import { fmt } from './format.mjs';

const PLOT_WIDTH = 440;
const VALUE_WIDTH = 90;
const CHAR_WIDTH = 6.8; // a generous average advance of 12 px Helvetica/Arial
const AXIS_HEIGHT = 18;
const LOG_RATIO = 30;
const BAR_HEIGHT = 18;
const ROW_GAP = 8;
const PANEL_TITLE = 26;
const PANEL_GAP = 22;
const TOP = 40;

function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]);
}

function colorOf(row) {
  if (row.label.startsWith('parapool')) return '#2b7bb9';
  if (row.label.startsWith('Python')) return '#e0a030';
  if (row.label.startsWith('sequential')) return '#7a7a7a';
  return '#9bb7cc';
}

/** A position function over [lo, hi] for a panel: log10 when the values span orders of magnitude. */
function scaleOf(values, upperBound) {
  const positive = values.filter((v) => v > 0);
  const lo = Math.min(...positive);
  const hi = Math.max(upperBound, ...positive) || 1;
  if (positive.length > 1 && hi / lo > LOG_RATIO) {
    const min = 10 ** Math.floor(Math.log10(lo));
    const max = 10 ** Math.ceil(Math.log10(hi));
    const span = Math.log10(max) - Math.log10(min);
    const ticks = [];
    for (let t = min; t <= max * 1.0001; t *= 10) ticks.push(t);
    return { log: true, at: (v) => (Math.log10(Math.max(v, min)) - Math.log10(min)) / span, ticks };
  }
  const step = 10 ** Math.floor(Math.log10(hi));
  const max = Math.ceil(hi / step) * step;
  const ticks = [];
  for (let t = 0; t <= max * 1.0001; t += max / 4) ticks.push(t);
  return { log: false, at: (v) => v / max, ticks };
}

export function workloadSvg(result) {
  const groups = result.groups.filter((group) => group.rows.some((row) => !row.error));
  const panelHeight = (group) => PANEL_TITLE + group.rows.filter((row) => !row.error).length * (BAR_HEIGHT + ROW_GAP) + AXIS_HEIGHT;
  const height = TOP + groups.reduce((sum, group) => sum + panelHeight(group) + PANEL_GAP, 0) + 10;
  const longestLabel = Math.max(...groups.flatMap((group) => group.rows.map((row) => row.label.length)));
  const LABEL_WIDTH = Math.ceil(longestLabel * CHAR_WIDTH) + 20;
  const plotWidth = PLOT_WIDTH;
  const titles = [
    `${result.number}. ${result.title}`,
    ...groups.map((group) => `${group.title} (${group.unit}, lower is better; whiskers: min to p99; log scale)`),
  ];
  const WIDTH = Math.max(
    LABEL_WIDTH + plotWidth + VALUE_WIDTH + 20,
    Math.ceil(Math.max(...titles.map((t) => t.length)) * CHAR_WIDTH * 1.1) + 20,
  );
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="24" font-size="16" font-weight="bold">${escapeXml(`${result.number}. ${result.title}`)}</text>`,
  ];
  let y = TOP;
  for (const group of groups) {
    const rows = group.rows.filter((row) => !row.error);
    // Latency rows spread over thousands of samples: their whisker ends at p99, not at
    // the single slowest call, or one scheduler hiccup would flatten every bar.
    const upper = (row) => (row.p99 !== undefined ? row.p99 : (row.max ?? row.median));
    const scale = scaleOf(
      rows.flatMap((row) => [row.median, row.min ?? row.median]),
      Math.max(...rows.map((row) => Math.max(upper(row), row.median))),
    );
    const direction = `${group.better === 'higher' ? 'higher is better' : 'lower is better'}; whiskers: min to ${rows.some((row) => row.p99 !== undefined) ? 'p99' : 'max'}${scale.log ? '; log scale' : ''}`;
    out.push(`<text x="10" y="${y + 16}" font-weight="bold">${escapeXml(`${group.title} (${group.unit}, ${direction})`)}</text>`);
    y += PANEL_TITLE;
    const x0 = LABEL_WIDTH;
    const xOf = (value) => x0 + Math.min(1, Math.max(0, scale.at(value))) * plotWidth;
    const top = y;
    for (const row of rows) {
      const barWidth = Math.max(1, xOf(row.median) - x0);
      out.push(`<text x="${x0 - 8}" y="${y + BAR_HEIGHT - 5}" text-anchor="end">${escapeXml(row.label)}</text>`);
      out.push(`<rect x="${x0}" y="${y}" width="${barWidth.toFixed(1)}" height="${BAR_HEIGHT}" fill="${colorOf(row)}"/>`);
      if (row.min !== undefined && upper(row) > row.min) {
        const xMin = xOf(row.min);
        const xMax = xOf(upper(row));
        const mid = y + BAR_HEIGHT / 2;
        out.push(
          `<path d="M${xMin.toFixed(1)} ${mid}H${xMax.toFixed(1)}M${xMin.toFixed(1)} ${mid - 4}V${mid + 4}M${xMax.toFixed(1)} ${mid - 4}V${mid + 4}" stroke="#222" stroke-width="1"/>`,
        );
      }
      out.push(`<text x="${LABEL_WIDTH + plotWidth + 8}" y="${y + BAR_HEIGHT - 5}">${escapeXml(fmt(row.median))}</text>`);
      y += BAR_HEIGHT + ROW_GAP;
    }
    // The panel's axis: its ticks and their values, so the scale (linear or log) is readable.
    out.push(`<path d="M${x0} ${y}H${x0 + plotWidth}" stroke="#888" stroke-width="1"/>`);
    for (const tick of scale.ticks) {
      const x = xOf(tick);
      out.push(`<path d="M${x.toFixed(1)} ${top - 2}V${y + 3}" stroke="#ddd" stroke-width="1"/>`);
      out.push(`<text x="${x.toFixed(1)}" y="${y + 14}" text-anchor="middle" font-size="10" fill="#555">${escapeXml(fmt(tick))}</text>`);
    }
    y += AXIS_HEIGHT;
    y += PANEL_GAP;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
