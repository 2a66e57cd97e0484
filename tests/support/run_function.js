// Runs a CloudFront Function (viewer request) on requests, for the tests: prints, for each,
// `rewrite URI`, `pass` (untouched), `STATUS LOCATION` or `STATUS` (an answer without a
// location), as one JSON array.
// Usage: node run_function.js FUNCTION.js CASES.json [KVS.json]   (CASES: ["/path?query", ...];
// a case `//HOST/path` is asked with that Host header)
// A function that imports CloudFront's `cloudfront` module gets a stand-in whose `kvs()` reads
// KVS.json ({"key": "value"}) as a KeyValueStore would: `get` (string or json format) throws
// for a missing key, `exists` says whether it is there. The handler may be async.
'use strict';
const fs = require('fs');
const IMPORT = "import cf from 'cloudfront';";
const source = fs.readFileSync(process.argv[2], 'utf8');
const store = process.argv[4] ? JSON.parse(fs.readFileSync(process.argv[4], 'utf8')) : {};
const cf = {
  kvs: () => ({
    get: async (key, options) => {
      if (!(key in store)) throw new Error('KeyNotFound: ' + key);
      const value = store[key];
      return options && options.format === 'json' ? JSON.parse(value) : value;
    },
    exists: async (key) => key in store,
  }),
};
const body = source.split('\n').filter((line) => line.trim() !== IMPORT).join('\n');
const handler = new Function('cf', body + '\nreturn handler;')(cf);
const cases = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const run = async (asked) => {
  // `//HOST/path?query` sends a Host header.
  let request = asked;
  const headers = {};
  if (asked.startsWith('//')) {
    const slash = asked.indexOf('/', 2);
    headers.host = { value: asked.slice(2, slash) };
    request = asked.slice(slash);
  }
  const at = request.indexOf('?');
  const uri = at === -1 ? request : request.slice(0, at);
  const querystring = {};
  if (at !== -1) {
    for (const pair of request.slice(at + 1).split('&')) {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      const value = { value: eq === -1 ? '' : pair.slice(eq + 1) };
      const seen = querystring[name];
      if (!seen) querystring[name] = value;
      else if (seen.multiValue) seen.multiValue.push(value);
      else querystring[name] = { value: seen.value, multiValue: [seen, value] };
    }
  }
  const out = await handler({ request: { method: 'GET', uri, querystring, headers, cookies: {} } });
  if (out.statusCode && !out.headers) return String(out.statusCode);
  if (out.statusCode) return out.statusCode + ' ' + out.headers.location.value;
  return out.uri === uri ? 'pass' : 'rewrite ' + out.uri;
};
(async () => {
  const results = [];
  for (const request of cases) results.push(await run(request));
  process.stdout.write(JSON.stringify(results));
})().catch((e) => {
  process.stderr.write(String(e && e.stack || e));
  process.exit(1);
});
