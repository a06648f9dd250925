/**
 * Offline schema checks of rendered objects, two ways:
 * - `schemaErrors`: the JSON-schema validators that kubernetes-models (Kubernetes' OpenAPI),
 *   @kubernetes-models/prometheus-operator and @kubernetes-models/cert-manager (generated from those projects'
 *   CRDs) ship: required fields, types, enums, formats.
 *   Those schemas allow unknown fields, so a misspelt field would pass; hence
 * - `unknownFieldErrors`: every object becomes a typed object literal (`const o: IDeployment = {...}`) and the
 *   TypeScript compiler's excess-property check reports any field the API does not define, at any depth.
 */
import ts from 'typescript';
import { join } from 'node:path';
import { REPO, ref, type KubeObject } from './render.js';

/** The npm module holding the model class and type of an object's apiVersion/kind. */
function modelModule(o: KubeObject): string {
  const group = o.apiVersion.split('/')[0] ?? '';
  const pkg = CRD_PACKAGES[group] ?? 'kubernetes-models';
  return `${pkg}/${o.apiVersion}/${o.kind}`;
}

/** API groups of custom resources and the package that holds their models (the rest are Kubernetes' own). */
const CRD_PACKAGES: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'cert-manager.io': '@kubernetes-models/cert-manager',
};

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Validation errors of one object against its API schema; an apiVersion/kind with no schema is an error. */
export async function schemaErrors(o: KubeObject): Promise<string[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(modelModule(o))) as Record<string, unknown>;
  } catch {
    return [`${ref(o)}: no schema for ${o.apiVersion} ${o.kind}`];
  }
  const Model = mod[o.kind] as ModelClass | undefined;
  if (!Model) return [`${ref(o)}: no model class ${o.kind} in ${modelModule(o)}`];
  try {
    new Model(o).validate();
    return [];
  } catch (err) {
    return [`${ref(o)}: ${(err as Error).message}`];
  }
}

/** Fields that the API types of these objects do not define (one TypeScript program for all of them). */
export function unknownFieldErrors(objects: readonly KubeObject[]): string[] {
  // A virtual file beside the tests so that module resolution finds node_modules; nothing is written to disk.
  const file = join(REPO, 'test', 'deploy', '__rendered_objects__.ts');
  const source = objects
    .map((o, i) => `import type { I${o.kind} as T${i} } from '${modelModule(o)}';\nexport const o${i}: T${i} = ${JSON.stringify(o)};\n`)
    .join('');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) => (f === file ? ts.createSourceFile(f, source, lang) : getSourceFile.call(host, f, lang, ...rest));
  host.fileExists = (f) => f === file || fileExists.call(host, f);
  host.readFile = (f) => (f === file ? source : readFile.call(host, f));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    // each object sits on its own line pair: line 2i is the import, 2i+1 the literal
    const o = line >= 0 ? objects[Math.floor(line / 2)] : undefined;
    return `${o ? ref(o) : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n').slice(0, 400)}`;
  });
}
