/**
 * The architecture map in executable form: each rule is a promise the code
 * keeps, named after it. `npm test` runs these rules (selftest/boundaries),
 * so a wrong import fails CI instead of waiting for a review.
 * `.dependency-cruiser-known-violations.json` lists the violations that
 * existed when a rule was introduced and are being removed; it may only shrink.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'contracts-stand-alone',
      comment: 'openapi/ and proto/ are the wire contracts both sides load: they import nothing of ours.',
      severity: 'error',
      from: { path: '^(openapi|proto)/' },
      to: { path: '^(?!openapi/|proto/|node_modules/)[^/]+/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'core-knows-no-transport',
      comment: 'reference/core decides the rules; HTTP (fastify) and gRPC adapters only translate.',
      severity: 'error',
      from: { path: '^reference/core/' },
      to: { path: '^node_modules/(fastify|@fastify|fastify-plugin|@grpc)/' },
    },
    {
      name: 'core-knows-no-adapters',
      comment: 'reference/core imports no adapter room (http, grpc, front, webdav plugin).',
      severity: 'error',
      from: { path: '^reference/core/' },
      to: { path: '^reference/(http|grpc|front)/' },
    },
    {
      name: 'stores-are-the-bottom',
      comment: 'reference/stores imports nothing above it: only itself and reference/base.',
      severity: 'error',
      from: { path: '^reference/stores/' },
      to: { path: '^reference/(?!stores/|base/)' },
    },
    {
      name: 'judge-is-independent',
      comment: 'suites/ (the judge) imports nothing of reference/ (the defendant) but the one public entry that starts the embedded pair.',
      severity: 'error',
      from: { path: '^suites/' },
      to: { path: '^reference/', pathNot: '^reference/embedded\\.ts$' },
    },
    {
      name: 'reports-read-results-only',
      comment: 'reports/ reads the results model; it never reaches into the harness.',
      severity: 'error',
      from: { path: '^reports/' },
      to: { path: '^suites/' },
    },
    {
      name: 'results-model-stands-alone',
      comment: 'results/ is written by the suites and read by the reports: it imports neither, nor the reference.',
      severity: 'error',
      from: { path: '^results/' },
      to: { path: '^(suites|reports|reference|cli)/' },
    },
    {
      name: 'reference-ignores-the-judge',
      comment: 'The reference never depends on the suites, the reports or the self-test.',
      severity: 'error',
      from: { path: '^reference/' },
      to: { path: '^(suites|reports|results|selftest|cli)/' },
    },
    {
      name: 'inspector-is-neutral',
      comment:
        'inspector/ serves both the reference (serve --inspect) and the harness (run --inspect): it imports neither, only the contracts.',
      severity: 'error',
      from: { path: '^inspector/' },
      to: { path: '^(reference|suites|reports|results|selftest|cli)/' },
    },
    {
      name: 'no-folder-cycles',
      comment: 'Folders form layers: no cycle between two folders.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|reports/output|bench/results|selftest/boundaries/fixture)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
