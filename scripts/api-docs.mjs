// Generates docs/api.md from the JSDoc of every export of lib/index.ts, with the
// TypeScript compiler's own view of each declaration. `--check` exits non-zero
// when an export has no JSDoc or docs/api.md is out of date (the docs spec runs it).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'lib/index.ts');
const output = join(root, 'docs/api.md');

const program = ts.createProgram([entry], {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  types: ['node'],
  lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
});
const checker = program.getTypeChecker();
const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry));

/** The section of each layer folder of lib/ (a file at the top of lib/ is named without its extension). */
const SECTIONS = {
  tasks: 'Tasks and Pool',
  pool: 'Tasks and Pool',
  runtime: 'Tasks and Pool',
  futures: 'Executor, Future, Process',
  process: 'Executor, Future, Process',
  shared: 'Shared memory',
  atomics: 'Synchronization',
  sync: 'Synchronization',
  ipc: 'Queues and pipes',
  errors: 'Errors',
  codec: 'Transfer',
  manager: 'Manager',
};

function sectionOf(file) {
  const [first] = relative(join(root, 'lib'), file).split(/[\\/]/);
  const section = SECTIONS[first.replace(/\.ts$/, '')];
  if (section === undefined) throw new Error(`scripts/api-docs.mjs: no section for ${relative(root, file)}; add its folder to SECTIONS`);
  return section;
}
const ORDER = [
  'Tasks and Pool',
  'Executor, Future, Process',
  'Shared memory',
  'Synchronization',
  'Queues and pipes',
  'Manager',
  'Errors',
  'Transfer',
];

function jsDocText(symbol) {
  const comment = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  const tags = symbol
    .getJsDocTags(checker)
    .filter((tag) => tag.name !== 'internal')
    .map((tag) => ({ name: tag.name, text: ts.displayPartsToString(tag.text ?? []).trim() }));
  return { comment, tags };
}

function render(tags) {
  const lines = [];
  for (const tag of tags) {
    if (tag.name === 'example') lines.push('', '```ts', tag.text.replace(/^\n+/, ''), '```');
    else if (tag.name === 'throws') lines.push(`- **Throws** ${tag.text}`);
    else if (tag.name === 'default') lines.push(`- **Default** \`${tag.text}\``);
    else if (tag.name === 'param') lines.push(`- \`${tag.text.split(/\s/)[0]}\`: ${tag.text.split(/\s/).slice(1).join(' ')}`);
    else lines.push(`- **@${tag.name}** ${tag.text}`);
  }
  return lines.join('\n');
}

function isInternal(symbol) {
  return symbol.getJsDocTags(checker).some((tag) => tag.name === 'internal');
}

function signatureOf(declaration) {
  const printer = ts.createPrinter({ removeComments: true });
  const source = declaration.getSourceFile();
  if (ts.isClassDeclaration(declaration) || ts.isInterfaceDeclaration(declaration)) {
    const kind = ts.isClassDeclaration(declaration) ? 'class' : 'interface';
    const heritage = (declaration.heritageClauses ?? []).map((h) => h.getText(source)).join(' ');
    return `${kind} ${declaration.name?.getText(source)}${declaration.typeParameters ? `<${declaration.typeParameters.map((p) => p.getText(source)).join(', ')}>` : ''}${heritage ? ` ${heritage}` : ''}`;
  }
  if (ts.isFunctionDeclaration(declaration)) {
    const text = printer.printNode(
      ts.EmitHint.Unspecified,
      ts.factory.updateFunctionDeclaration(
        declaration,
        declaration.modifiers?.filter((m) => m.kind !== ts.SyntaxKind.ExportKeyword),
        declaration.asteriskToken,
        declaration.name,
        declaration.typeParameters,
        declaration.parameters,
        declaration.type,
        undefined,
      ),
      source,
    );
    return text.replace(/;?\s*$/, '');
  }
  if (ts.isTypeAliasDeclaration(declaration)) return declaration.getText(source).replace(/^export\s+/, '');
  if (ts.isVariableDeclaration(declaration))
    return `const ${declaration.name.getText(source)}: ${checker.typeToString(checker.getTypeAtLocation(declaration))}`;
  return declaration.getText(source).split('\n')[0];
}

/** A function's overloads, one a line (its implementation's signature is hidden); any other declaration's own signature. */
function signaturesOf(symbol, declaration) {
  if (!ts.isFunctionDeclaration(declaration)) return signatureOf(declaration);
  const functions = (symbol.declarations ?? []).filter(ts.isFunctionDeclaration);
  const overloads = functions.length > 1 ? functions.filter((fn) => fn.body === undefined) : functions;
  return overloads.map((fn) => `${signatureOf(fn)};`).join('\n');
}

/** Public members of a class or interface, with their JSDoc: overloads listed together, implementations hidden. */
function membersOf(_symbol, declaration) {
  if (!ts.isClassDeclaration(declaration) && !ts.isInterfaceDeclaration(declaration)) return [];
  const source = declaration.getSourceFile();
  const groups = new Map();
  for (const member of declaration.members) {
    if (!member.name || ts.isPrivateIdentifier(member.name)) continue;
    const modifiers = ts.getCombinedModifierFlags(member);
    if (modifiers & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
    const memberSymbol = checker.getSymbolAtLocation(member.name);
    if (!memberSymbol || isInternal(memberSymbol)) continue;
    const isStatic = Boolean(modifiers & ts.ModifierFlags.Static);
    const name = member.name.getText(source);
    const key = `${isStatic}:${name}`;
    if (!groups.has(key)) groups.set(key, { symbol: memberSymbol, members: [] });
    groups.get(key).members.push({ member, isStatic, name });
  }
  const out = [];
  for (const { symbol: memberSymbol, members } of groups.values()) {
    const overloads = members.filter(({ member }) => !(ts.isMethodDeclaration(member) && member.body && members.length > 1));
    const signatures = [];
    for (const { member, isStatic, name } of overloads) {
      const prefix = isStatic ? 'static ' : '';
      if (ts.isMethodDeclaration(member) || ts.isMethodSignature(member)) {
        const typeParams = member.typeParameters ? `<${member.typeParameters.map((p) => p.getText(source)).join(', ')}>` : '';
        signatures.push(
          `${prefix}${name}${typeParams}(${member.parameters.map((p) => p.getText(source)).join(', ')})${member.type ? `: ${member.type.getText(source)}` : ''}`,
        );
      } else if (ts.isPropertyDeclaration(member) || ts.isPropertySignature(member)) {
        signatures.push(
          `${prefix}${name}${member.questionToken ? '?' : ''}: ${member.type ? member.type.getText(source) : checker.typeToString(checker.getTypeAtLocation(member))}`,
        );
      } else if (ts.isGetAccessorDeclaration(member)) {
        signatures.push(
          `get ${name}(): ${member.type ? member.type.getText(source) : checker.typeToString(checker.getTypeAtLocation(member))}`,
        );
      }
    }
    if (signatures.length === 0) continue;
    out.push({ signatures, doc: jsDocText(memberSymbol) });
  }
  return out;
}

const sections = new Map(ORDER.map((name) => [name, []]));
const undocumented = [];
for (const exported of checker.getExportsOfModule(moduleSymbol)) {
  const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const declaration = symbol.declarations?.[0];
  if (!declaration) continue;
  const doc = jsDocText(symbol);
  if (!doc.comment) undocumented.push(exported.name);
  const section = sectionOf(declaration.getSourceFile().fileName);
  sections.get(section)?.push({ name: exported.name, symbol, declaration, doc });
}

const parts = [
  '# API reference',
  '',
  'Generated from the JSDoc of `lib/` by `node scripts/api-docs.mjs`; every export of the package root',
  'is listed here. Errors are described by their stable `code` ([errors.md](errors.md)).',
  '',
];
for (const [section, entries] of sections) {
  if (entries.length === 0) continue;
  parts.push(`## ${section}`, '');
  for (const { name, declaration, symbol, doc } of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    parts.push(`### \`${name}\``, '', '```ts', signaturesOf(symbol, declaration), '```', '', doc.comment, render(doc.tags), '');
    for (const member of membersOf(symbol, declaration)) {
      const shown = member.signatures.map((signature) => `\`${signature.replace(/\s+/g, ' ')}\``).join('<br>');
      parts.push(`- ${shown}${member.doc.comment ? ` — ${member.doc.comment.replace(/\n+/g, ' ')}` : ''}`);
      const tags = member.doc.tags.filter((tag) => tag.name === 'throws' || tag.name === 'default');
      for (const tag of tags) parts.push(`  - ${tag.name === 'throws' ? 'Throws' : 'Default'} ${tag.text.replace(/\n+/g, ' ')}`);
    }
    parts.push('');
  }
}
const markdown = `${parts
  .join('\n')
  .replace(/\n{3,}/g, '\n\n')
  .trim()}\n`;

if (process.argv.includes('--check')) {
  let failed = false;
  if (undocumented.length > 0) {
    console.error(`exports without JSDoc: ${undocumented.join(', ')}`);
    failed = true;
  }
  let current = '';
  try {
    current = readFileSync(output, 'utf8');
  } catch {
    // missing counts as out of date
  }
  if (current !== markdown) {
    console.error('docs/api.md is out of date: run `node scripts/api-docs.mjs`');
    failed = true;
  }
  process.exit(failed ? 1 : 0);
}
writeFileSync(output, markdown);
console.log(
  `wrote docs/api.md (${[...sections.values()].reduce((n, e) => n + e.length, 0)} exports${undocumented.length ? `; undocumented: ${undocumented.join(', ')}` : ''})`,
);
