// A fake Heat signal endpoint (run inside the test's hub network namespace):
//   node fake-heat.mjs ADDRESS PORT RECORD_FILE TOKENS_JSON
// Accepts POST /v1/signal/<node> with the X-Auth-Token expected for that node (as a
// WaitConditionHandle's curl_cli sends it) and appends {node, status, reason, data, token_ok} as
// one JSON line to RECORD_FILE. Wrong token -> 401; malformed body -> 400 (both recorded).
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [address, port, recordFile, tokensJson] = process.argv.slice(2);
const tokens = JSON.parse(tokensJson);
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const m = /^\/v1\/signal\/([\w-]+)$/.exec(req.url ?? '');
    const node = m ? m[1] : null;
    const tokenOk = node !== null && req.headers['x-auth-token'] === tokens[node];
    let parsed = null;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = null;
    }
    const ok = req.method === 'POST' && tokenOk && parsed !== null && typeof parsed.status === 'string';
    appendFileSync(
      recordFile,
      JSON.stringify({
        node,
        method: req.method,
        tokenOk,
        contentType: req.headers['content-type'] ?? null,
        ...(parsed ?? { raw: body }),
      }) + '\n',
    );
    res.writeHead(ok ? 200 : tokenOk ? 400 : 401, { 'Content-Type': 'application/json' });
    res.end(ok ? 'null' : '{"error":"rejected"}');
  });
});
server.listen(Number(port), address, () => writeFileSync(`${recordFile}.ready`, String(process.pid)));
