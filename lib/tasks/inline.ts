/**
 * Inline task functions: a plain function passed where a TaskRef is expected is
 * sent to the worker as source text (what Python cannot pickle, a lambda, works
 * here) and compiled there. That only works for self-contained functions, so
 * the source is parsed once in the caller and every identifier it reads that is
 * neither its own (parameters, locals) nor a global is reported by name.
 */
import type * as Acorn from 'acorn';
import { UncloneableError } from '../errors';
import type { AnyFunction } from './task-ref';
import { invalidArg } from '../validate';

const checked = new WeakMap<AnyFunction, string>();

/**
 * The function's source as an expression the worker can evaluate, validated:
 * it must parse, be a real (not native or bound) function, and capture nothing.
 *
 * @throws UncloneableError (`ERR_UNCLONEABLE`) naming a captured identifier.
 */
export function inlineSource(fn: AnyFunction): string {
  const cached = checked.get(fn);
  if (cached !== undefined) return cached;
  const text = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(text)) {
    throw invalidArg('fn', 'a TaskRef or a self-contained function with its own source (not native or bound)', fn);
  }
  if (/^class[\s{]/.test(text)) throw invalidArg('fn', 'a function, not a class', fn);
  const { source, ast } = parseAsExpression(text, fn);
  // `__name` is the helper TypeScript loaders (tsx, esbuild's keepNames) insert to keep the names of
  // inner functions and classes; the worker defines it for inline tasks (lib/entry/load-task.ts).
  const free = [...freeIdentifiers(ast)].filter((name) => !(name in globalThis) && name !== '__name');
  if (free.length > 0) {
    const names = free.map((name) => `\`${name}\``).join(', ');
    throw new UncloneableError(
      `The inline task function${fn.name ? ` \`${fn.name}\`` : ''} uses ${names} from its surroundings, which ` +
        `${free.length > 1 ? 'do' : 'does'} not exist in a worker thread. An inline function must be ` +
        `self-contained (its parameters, its own locals and globals only): pass the value as an argument, ` +
        `or move the function into a task module and use tasks()/task().`,
    );
  }
  checked.set(fn, source);
  return source;
}

const parseOptions: Acorn.Options = { ecmaVersion: 'latest', sourceType: 'script' };

let acorn: typeof Acorn | undefined;

function parseAsExpression(text: string, fn: AnyFunction): { source: string; ast: Acorn.Node } {
  // acorn loads with the first inline function: a thread that never sends one (every worker,
  // a task module that imports parapool) does not pay for it.
  acorn ??= require('acorn') as typeof Acorn;
  const parser = acorn;
  // A function or arrow expression as written.
  try {
    return { source: `(${text})`, ast: parser.parseExpressionAt(`(${text})`, 0, parseOptions) };
  } catch {
    // Method shorthand (`area(r) { ... }`) is not an expression on its own.
  }
  try {
    const source = `Object.values({ ${text} })[0]`;
    return { source, ast: parser.parseExpressionAt(`({ ${text} })`, 0, parseOptions) };
  } catch {
    throw invalidArg('fn', 'a TaskRef or a function whose source parses', fn);
  }
}

type Scope = Set<string>;
// acorn's nodes, read generically: every child node is visited the same way.
type AnyNode = Acorn.Node & Record<string, unknown>;

/** Collects the names a pattern (parameter or declaration target) binds. */
function bindPattern(pattern: AnyNode | null | undefined, scope: Scope): void {
  if (!pattern) return;
  switch (pattern.type) {
    case 'Identifier':
      scope.add(pattern.name as string);
      break;
    case 'ObjectPattern':
      for (const property of pattern.properties as AnyNode[]) {
        bindPattern((property.type === 'RestElement' ? property.argument : property.value) as AnyNode, scope);
      }
      break;
    case 'ArrayPattern':
      for (const element of pattern.elements as (AnyNode | null)[]) bindPattern(element, scope);
      break;
    case 'AssignmentPattern':
      bindPattern(pattern.left as AnyNode, scope);
      break;
    case 'RestElement':
      bindPattern(pattern.argument as AnyNode, scope);
      break;
  }
}

const FUNCTION_TYPES = new Set(['FunctionExpression', 'FunctionDeclaration', 'ArrowFunctionExpression']);

/**
 * Binds every name declared in a function's body (var, let, const, function,
 * class, catch parameters) to the function's scope. Block scoping is folded
 * into the function: this can only miss a capture, never report a false one.
 */
function hoistDeclarations(node: AnyNode, scope: Scope): void {
  switch (node.type) {
    case 'VariableDeclaration':
      for (const declarator of node.declarations as AnyNode[]) bindPattern(declarator.id as AnyNode, scope);
      break;
    case 'FunctionDeclaration':
    case 'ClassDeclaration':
      if (node.id) scope.add((node.id as AnyNode).name as string);
      break;
    case 'CatchClause':
      bindPattern(node.param as AnyNode | null, scope);
      break;
  }
  if (FUNCTION_TYPES.has(node.type)) return; // a nested function has its own scope
  forEachChild(node, (child) => hoistDeclarations(child, scope));
}

function forEachChild(node: AnyNode, visit: (child: AnyNode) => void): void {
  for (const key of Object.keys(node)) {
    if (key === 'type' || key === 'start' || key === 'end' || key === 'loc') continue;
    const value = node[key];
    if (Array.isArray(value)) {
      for (const item of value) if (item && typeof item.type === 'string') visit(item as AnyNode);
    } else if (value && typeof (value as AnyNode).type === 'string') {
      visit(value as AnyNode);
    }
  }
}

/** The identifiers read but never bound anywhere in the function's own scopes. */
function freeIdentifiers(root: Acorn.Node): Set<string> {
  const free = new Set<string>();
  const isBound = (name: string, scopes: Scope[]): boolean => scopes.some((scope) => scope.has(name));

  const visit = (node: AnyNode, scopes: Scope[]): void => {
    if (FUNCTION_TYPES.has(node.type) || node.type === 'ClassExpression' || node.type === 'ClassDeclaration') {
      const scope: Scope = new Set();
      if (node.id && node.type !== 'FunctionDeclaration' && node.type !== 'ClassDeclaration') {
        scope.add((node.id as AnyNode).name as string);
      }
      if (FUNCTION_TYPES.has(node.type)) {
        if (node.type !== 'ArrowFunctionExpression') scope.add('arguments');
        for (const param of node.params as AnyNode[]) bindPattern(param, scope);
        hoistDeclarations(node.body as AnyNode, scope);
        const inner = [...scopes, scope];
        for (const param of node.params as AnyNode[]) visitPatternDefaults(param, inner);
        visit(node.body as AnyNode, inner);
        return;
      }
      const inner = [...scopes, scope];
      if (node.superClass) visit(node.superClass as AnyNode, inner);
      visit(node.body as AnyNode, inner);
      return;
    }
    switch (node.type) {
      case 'Identifier':
        if (!isBound(node.name as string, scopes)) free.add(node.name as string);
        return;
      case 'MemberExpression':
        visit(node.object as AnyNode, scopes);
        if (node.computed) visit(node.property as AnyNode, scopes);
        return;
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition':
        if (node.computed) visit(node.key as AnyNode, scopes);
        if (node.value) visit(node.value as AnyNode, scopes);
        return;
      case 'LabeledStatement':
        visit(node.body as AnyNode, scopes);
        return;
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
        return;
      case 'VariableDeclarator':
        visitPatternDefaults(node.id as AnyNode, scopes);
        if (node.init) visit(node.init as AnyNode, scopes);
        return;
      case 'CatchClause':
        if (node.param) visitPatternDefaults(node.param as AnyNode, scopes);
        visit(node.body as AnyNode, scopes);
        return;
      default:
        forEachChild(node, (child) => visit(child, scopes));
    }
  };

  /** In a binding pattern only default values and computed keys are reads. */
  const visitPatternDefaults = (pattern: AnyNode | null, scopes: Scope[]): void => {
    if (!pattern) return;
    switch (pattern.type) {
      case 'Identifier':
        return;
      case 'AssignmentPattern':
        visitPatternDefaults(pattern.left as AnyNode, scopes);
        visit(pattern.right as AnyNode, scopes);
        return;
      case 'ObjectPattern':
        for (const property of pattern.properties as AnyNode[]) {
          if (property.type === 'RestElement') visitPatternDefaults(property.argument as AnyNode, scopes);
          else {
            if (property.computed) visit(property.key as AnyNode, scopes);
            visitPatternDefaults(property.value as AnyNode, scopes);
          }
        }
        return;
      case 'ArrayPattern':
        for (const element of pattern.elements as (AnyNode | null)[]) visitPatternDefaults(element, scopes);
        return;
      case 'RestElement':
        visitPatternDefaults(pattern.argument as AnyNode, scopes);
        return;
      default:
        // Assignment targets outside declarations (`[a.b] = x`) are expressions.
        visit(pattern, scopes);
    }
  };

  visit(root as AnyNode, []);
  return free;
}
