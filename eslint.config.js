import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // The playground page's modules are type-checked (`// @ts-check`, their own tsconfig with the DOM's types), which
    // knows the browser's globals: no-undef would only repeat it without them.
    files: ['dev/playground/public/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['test/**/*.ts', 'dev/**/*.ts', 'src/index.ts', 'src/deploy-commands.ts', 'src/invite-url.ts', 'src/shards.ts'],
    rules: { 'no-console': 'off' },
  },
);
