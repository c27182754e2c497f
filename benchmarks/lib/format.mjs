// Number formatting and Markdown tables for the console and for docs/benchmarks.md.

/** 3 significant digits, with thousands separators for large values. */
export function fmt(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

export function fmtRatio(ratio) {
  if (!Number.isFinite(ratio)) return '–';
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}×`;
}

export function markdownTable(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  const align = header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [line(header), line(align), ...rows.map(line)].join('\n');
}

/**
 * How many times more a row costs than the group's reference (> 1: the reference is
 * faster). For lower-is-better units that is row ÷ reference; for rates, reference ÷ row.
 */
export function costVsReference(group, row) {
  const reference = group.rows.find((candidate) => candidate.label === group.reference);
  if (!reference || reference.error || row.error) return NaN;
  return group.better === 'higher' ? reference.median / row.median : row.median / reference.median;
}

/** The Markdown for one group: its table, then its notes. */
export function groupMarkdown(group) {
  const hasPercentiles = group.rows.some((row) => row.p99 !== undefined);
  const header = ['runner', `median (${group.unit})`, 'min', 'max'];
  if (hasPercentiles) header.push('p50', 'p99');
  if (group.reference) header.push(`cost vs ${group.reference}`);
  const extraHeaders = [...new Set(group.rows.flatMap((row) => Object.keys(row.extra ?? {})))];
  header.push(...extraHeaders);
  const rows = group.rows.map((row) => {
    if (row.error) return [row.label, `skipped: ${row.error}`, ...Array(header.length - 2).fill('')];
    const cells = [row.label, fmt(row.median), fmt(row.min), fmt(row.max)];
    if (hasPercentiles) cells.push(fmt(row.p50), fmt(row.p99));
    if (group.reference) cells.push(fmtRatio(costVsReference(group, row)));
    cells.push(...extraHeaders.map((key) => row.extra?.[key] ?? ''));
    return cells;
  });
  const parts = [`**${group.title}**`, '', markdownTable(header, rows)];
  const notes = [
    ...(group.notes ?? []),
    ...group.rows
      .filter((row) => row.teardownError)
      .map((row) => `${row.label}: shutting its pool down after the run failed: ${row.teardownError}`),
  ];
  if (notes.length) parts.push('', ...notes.map((note) => `- ${note}`));
  return parts.join('\n');
}

/** The Markdown for a workload: a heading, its description, its groups and its key ratios. */
export function workloadMarkdown(result, { headingLevel = 2, svgLink, goals = true } = {}) {
  const hashes = '#'.repeat(headingLevel);
  const parts = [`${hashes} ${result.number}. ${result.title}`, '', result.description];
  if (result.skipped) {
    parts.push('', `Skipped: ${result.skipped}`);
    return parts.join('\n');
  }
  parts.push(
    '',
    `Sizes: ${result.sizes}. ${result.repeats} timed repeats after ${result.warmup} warm-up(s); median quoted, min and max shown. Run ${result.date}${result.quick ? ' (quick)' : ''}, ${result.seconds} s.`,
  );
  for (const group of result.groups) parts.push('', groupMarkdown(group));
  if (result.ratios?.length) {
    parts.push(
      '',
      '**Key ratios**',
      '',
      goals
        ? markdownTable(
            ['ratio', 'value', 'goal', 'status'],
            result.ratios.map((ratio) => [
              ratio.label,
              fmtRatio(ratio.value),
              ratio.goal ?? '',
              ratio.met === undefined ? '' : ratio.met ? 'met' : 'missed',
            ]),
          )
        : markdownTable(
            ['ratio', 'value'],
            result.ratios.map((ratio) => [ratio.label, fmtRatio(ratio.value)]),
          ),
    );
  }
  if (result.notes?.length) parts.push('', ...result.notes.map((note) => `- ${note}`));
  if (svgLink) parts.push('', `![${result.title}](${svgLink})`);
  return parts.join('\n');
}
