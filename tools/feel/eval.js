// Reads JSON lines {"expr": "...", "context": {...}} from stdin and writes one JSON line per
// input: {"value": ...} or {"error": "..."}; used by the FEEL/CEL agreement test.
const { evaluate } = require('feelin');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.trim());
for (const line of lines) {
  const { expr, context } = JSON.parse(line);
  try {
    const result = evaluate(expr, context);
    process.stdout.write(JSON.stringify({ value: result.value === undefined ? null : result.value }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: String(e && e.message) }) + '\n');
  }
}
