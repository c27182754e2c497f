// Copies each example file into the markdown block that names it
// (```ts examples/docs/readme/main.ts), so the docs show the files verbatim:
//   node scripts/doc-blocks.mjs        rewrite README.md and docs/*.md
// spec/docs.spec.ts checks that every block equals its file and runs the files.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).map((name) => `docs/${name}`)].filter(
  (page) => page.endsWith('.md') && page !== 'docs/api.md',
);
for (const page of pages) {
  const text = readFileSync(join(root, page), 'utf8');
  const updated = text.replace(/^```(\S+) (examples\/\S+)\n[\s\S]*?^```$/gm, (_block, lang, file) => {
    return `\`\`\`${lang} ${file}\n${readFileSync(join(root, file), 'utf8')}\`\`\``;
  });
  if (updated !== text) {
    writeFileSync(join(root, page), updated);
    console.log(`updated ${page}`);
  }
}
