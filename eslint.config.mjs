// Lint holds the boundaries of DESIGN.md §1: only server/rpc and server/admin speak gRPC/HTTP,
// and domain folders never import the transport.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noGrpc = {
  paths: [
    { name: '@grpc/grpc-js', message: 'Only server/rpc speaks gRPC; domain code returns PinholeError.' },
    { name: '@grpc/proto-loader', message: 'Only server/rpc loads the wire contract.' },
  ],
  patterns: [{ group: ['**/rpc/**', '**/proto/gen/**'], message: 'Domain code knows nothing of the wire.' }],
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'proto/gen/**',
      'certs/**',
      'data/**',
      'bench/results/**',
      'bench/.build/**',
      'server/admin/static/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: [
      'server/core/**',
      'server/policy/**',
      'server/lease/**',
      'server/store/**',
      'server/watch/**',
      'server/audit/**',
      'server/identity/**',
    ],
    rules: { 'no-restricted-imports': ['error', noGrpc] },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      // unaryCall(client, client.Method, req) calls the method with `client` as `this` (see test/helpers/pinhole.ts).
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
