/**
 * Load a policy file: YAML with positions (parseDocument + LineCounter), then compile.ts. Syntax errors
 * stop here (there is no tree to check); everything after that is collected in one pass.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { compilePolicyData, type CompileOptions, type PolicyLoadResult } from './compile.js';
import { DiagnosticSink, NO_LOCATION, sortDiagnostics, yamlLocator } from './diagnostics.js';

export type { PolicyLoadResult } from './compile.js';

export function loadPolicyText(
  text: string,
  fileName: string,
  options: CompileOptions = {},
): PolicyLoadResult {
  const lineCounter = new LineCounter();
  // uniqueKeys: a key written twice is an error, not a silent override.
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    keepSourceTokens: false,
  });
  if (doc.errors.length > 0) {
    const sink = new DiagnosticSink(fileName, NO_LOCATION);
    for (const e of doc.errors) {
      // Positions from the line counter: error.linePos is only filled in with prettyErrors.
      const at = lineCounter.linePos(e.pos[0]);
      sink.errorAt(at.line, at.col, `YAML syntax: ${e.message.split('\n')[0] ?? e.message}`);
    }
    return { ok: false, errors: sortDiagnostics(sink.errors), warnings: [] };
  }
  let data: unknown;
  try {
    // Bounded alias expansion: a "billion laughs" file must not take the server down on reload.
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    const sink = new DiagnosticSink(fileName, NO_LOCATION);
    sink.errorAt(1, 1, `YAML: ${e instanceof Error ? e.message : String(e)}`);
    return { ok: false, errors: sink.errors, warnings: [] };
  }
  return compilePolicyData(data, fileName, yamlLocator(doc, lineCounter), options);
}

export async function loadPolicyFile(path: string, options: CompileOptions = {}): Promise<PolicyLoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    const sink = new DiagnosticSink(path, NO_LOCATION);
    sink.errorAt(1, 1, `cannot read the policy file (${code}); check the path and permissions`);
    return { ok: false, errors: sink.errors, warnings: [] };
  }
  return loadPolicyText(text, path, options);
}
