// Runs a CloudFront Function (viewer request) on requests, for the tests: prints, for each,
// `rewrite URI`, `pass` (untouched), `STATUS LOCATION` or `STATUS` (an answer without a
// location), as one JSON array.
// Usage: node run_function.js FUNCTION.js CASES.json   (CASES: ["/path?query", ...])
'use strict';
const fs = require('fs');
const source = fs.readFileSync(process.argv[2], 'utf8');
const handler = new Function(source + '\nreturn handler;')();
const cases = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const results = cases.map((request) => {
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
  const out = handler({ request: { method: 'GET', uri, querystring, headers: {}, cookies: {} } });
  if (out.statusCode && !out.headers) return String(out.statusCode);
  if (out.statusCode) return out.statusCode + ' ' + out.headers.location.value;
  return out.uri === uri ? 'pass' : 'rewrite ' + out.uri;
});
process.stdout.write(JSON.stringify(results));
