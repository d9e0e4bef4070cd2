// Lint rules for src/, test/ and bench/: the recommended sets of ESLint and typescript-eslint, plus the type-aware
// rules that catch what a streaming code base gets wrong (a promise nobody awaits, a promise passed where a
// callback's result is ignored). Formatting is prettier's job (.prettierrc), not the linter's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      // one program for src, test and bench (test/tsconfig.json includes all three)
      parserOptions: { project: './test/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      // a leading underscore says "deliberately unused" (an interface method's arguments, a destructured rest)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // sanitising terminal and JSON text is this project's job: its patterns name control characters on purpose
      'no-control-regex': 'off',
      // scanners set their position before leaving a loop so that the state is right wherever the loop ends
      'no-useless-assignment': 'off',
    },
  },
  {
    // tests and benchmarks read our own JSON back, where `any` is the honest type of a parsed document
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly' } },
  },
);
