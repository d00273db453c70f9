/**
 * Floating promises in workflow and activity code, found with TypeScript's type checker (`npm run lint` runs
 * this after Biome). Biome's nursery `noFloatingPromises` is on too, but its own type inference does not see
 * through `proxyActivities<T>()`: a workflow's `activities.trackPage(ref)` without `await` passes it. An
 * un-awaited activity or child in a workflow is a lost failure and, worse, a command the workflow may or may
 * not wait for.
 *
 * A statement floats when its value is a thenable and it is not awaited, returned, assigned, `void`ed, or
 * handled with `.catch(handler)` / `.then(onFulfilled, onRejected)` (the rules of typescript-eslint's
 * no-floating-promises). Usage: `tsx scripts/check-floating-promises.ts [dir ...]` (default: every file of
 * tsconfig.json, tests included).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dirs = process.argv.slice(2);

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return tsFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [full] : [];
  });
}

const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
const { options, fileNames } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
const files = dirs.length > 0 ? dirs.flatMap((dir) => tsFiles(path.resolve(root, dir))) : fileNames;
const program = ts.createProgram(files, { ...options, noEmit: true });
const checker = program.getTypeChecker();

const isThenable = (type: ts.Type): boolean =>
  type.isUnion() ? type.types.some(isThenable) : type.getProperty('then') !== undefined;

/** `.catch(handler)` and `.then(a, onRejected)` handle the rejection; `.finally` and `.then(a)` do not. */
function handlesRejection(expression: ts.Expression): boolean {
  if (!ts.isCallExpression(expression) || !ts.isPropertyAccessExpression(expression.expression)) return false;
  const method = expression.expression.name.text;
  if (method === 'catch') return expression.arguments.length >= 1;
  if (method === 'then') return expression.arguments.length >= 2;
  if (method === 'finally') return handlesRejection(expression.expression.expression);
  return false;
}

function floats(expression: ts.Expression): boolean {
  let e = expression;
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  if (ts.isVoidExpression(e) || ts.isAwaitExpression(e)) return false;
  if (ts.isBinaryExpression(e) && e.operatorToken.kind >= ts.SyntaxKind.FirstAssignment) {
    if (e.operatorToken.kind <= ts.SyntaxKind.LastAssignment) return false;
  }
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.CommaToken) {
    return floats(e.left) || floats(e.right);
  }
  if (handlesRejection(e)) return false;
  return isThenable(checker.getTypeAtLocation(e));
}

const problems: string[] = [];
for (const file of files) {
  const source = program.getSourceFile(file);
  if (!source) continue;
  const visit = (node: ts.Node): void => {
    if (ts.isExpressionStatement(node) && floats(node.expression)) {
      const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
      const text = node.getText(source).replace(/\s+/g, ' ').slice(0, 80);
      problems.push(`${path.relative(root, file)}:${line + 1}:${character + 1} floating promise: ${text}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`${problems.length} floating promise(s): await, return, assign or \`void\` them.`);
  process.exit(1);
}
console.log(`No floating promises in ${files.length} files${dirs.length > 0 ? ` (${dirs.join(', ')})` : ''}.`);
