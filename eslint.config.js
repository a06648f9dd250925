// Lint rules on top of `tsc --strict`: typescript-eslint's recommended set, the boundary rule the project cares
// about (no `any` leaking through exported signatures), and the layering of ../shared/architecture.json as import
// restrictions, so that a wrong-way import fails `npm test`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Folders a part must never import from (relative import paths; every folder sits at the top or one level
 * under core/, so `(../)+name/` names it). The coordinator and the worker are peers that meet only in
 * core/contract/ and the proto; core/ imports no process; no process imports the command line; the engine is pure.
 */
const PROCESSES = ['coordinator', 'worker', 'process', 'cli', 'bench'];
const LAYERS = [
  { files: ['core/**/*.ts'], never: PROCESSES, why: 'core never imports a process' },
  { files: ['core/engine/**/*.ts'], never: [...PROCESSES, 'bus', 'grpc', 'metrics', 'image', 'diffusion', 'contract'], why: 'the engine is pure: no transport, metrics or images' },
  { files: ['coordinator/**/*.ts'], never: ['worker', 'process', 'cli', 'bench'], why: 'the coordinator reaches workers only through core/contract and the proto' },
  { files: ['worker/**/*.ts'], never: ['coordinator', 'process', 'cli', 'bench'], why: 'the worker serves coordinators only through core/contract and the proto' },
  { files: ['process/**/*.ts'], never: ['cli', 'bench'], why: 'no process imports the command line' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'core/generated/**', 'node_modules/**', 'models/**', 'deploy/tools/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...LAYERS.map(({ files, never, why }) => ({
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: `^(\\.\\./)+(${never.join('|')})/`, message: `${why} (eslint.config.js LAYERS)` }] }],
    },
  })),
  {
    // Tests that break rendered manifests on purpose edit arbitrary nested fields; `any` is the honest type there.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
