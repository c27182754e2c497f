// One hand-written SVG bar chart per workload: a panel per group, one horizontal bar
// per runner (its median) with a min–max whisker (min–p99 for latencies), each panel
// on its own scale.
import { fmt } from './format.mjs';

const WIDTH = 820;
const LABEL_WIDTH = 290;
const VALUE_WIDTH = 90;
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

export function workloadSvg(result) {
  const groups = result.groups.filter((group) => group.rows.some((row) => !row.error));
  const panelHeight = (group) => PANEL_TITLE + group.rows.filter((row) => !row.error).length * (BAR_HEIGHT + ROW_GAP);
  const height = TOP + groups.reduce((sum, group) => sum + panelHeight(group) + PANEL_GAP, 0) + 10;
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20;
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
    const scaleMax = Math.max(...rows.map((row) => Math.max(upper(row), row.median))) || 1;
    const direction = `${group.better === 'higher' ? 'higher is better' : 'lower is better'}; whiskers: min to ${rows.some((row) => row.p99 !== undefined) ? 'p99' : 'max'}`;
    out.push(`<text x="10" y="${y + 16}" font-weight="bold">${escapeXml(`${group.title} (${group.unit}, ${direction})`)}</text>`);
    y += PANEL_TITLE;
    for (const row of rows) {
      const barWidth = Math.max(1, (row.median / scaleMax) * plotWidth);
      const x0 = LABEL_WIDTH;
      out.push(`<text x="${x0 - 8}" y="${y + BAR_HEIGHT - 5}" text-anchor="end">${escapeXml(row.label)}</text>`);
      out.push(`<rect x="${x0}" y="${y}" width="${barWidth.toFixed(1)}" height="${BAR_HEIGHT}" fill="${colorOf(row)}"/>`);
      if (row.min !== undefined && upper(row) > row.min) {
        const xMin = x0 + (row.min / scaleMax) * plotWidth;
        const xMax = x0 + (upper(row) / scaleMax) * plotWidth;
        const mid = y + BAR_HEIGHT / 2;
        out.push(
          `<path d="M${xMin.toFixed(1)} ${mid}H${xMax.toFixed(1)}M${xMin.toFixed(1)} ${mid - 4}V${mid + 4}M${xMax.toFixed(1)} ${mid - 4}V${mid + 4}" stroke="#222" stroke-width="1"/>`,
        );
      }
      out.push(`<text x="${LABEL_WIDTH + plotWidth + 8}" y="${y + BAR_HEIGHT - 5}">${escapeXml(fmt(row.median))}</text>`);
      y += BAR_HEIGHT + ROW_GAP;
    }
    y += PANEL_GAP;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
