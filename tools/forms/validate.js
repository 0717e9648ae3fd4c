// Validates values with the ajv each renderer creates by default, and compiles schemas with a
// strict draft-07 ajv. Input (stdin): {"cases": [[schema, value], ...], "schemas": [schema, ...]}.
// Output: {"jsonforms": [bool...], "rjsf": [bool...], "strict": [null | "error message"...],
// "errors": [[[renderer, keyword, data path]...]...]}: per case, each error the renderer's
// validator reports (ajv's `keyword` for JSON Forms, `name` for RJSF, the word each looks up).
'use strict';
const { createAjv } = require('@jsonforms/core');
const validator = require('@rjsf/validator-ajv8').default;
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

function main(input) {
  const jsonforms = createAjv(); // exactly what JSON Forms builds when the page passes no ajv
  const compiled = new Map();
  const jf = (schema) => {
    const key = JSON.stringify(schema);
    if (!compiled.has(key)) compiled.set(key, jsonforms.compile(schema));
    return compiled.get(key);
  };
  const out = { jsonforms: [], rjsf: [], strict: [], errors: [] };
  for (const [schema, value] of input.cases) {
    const validate = jf(schema);
    out.jsonforms.push(validate(value) === true);
    const found = (validate.errors || []).map((e) => ['jsonforms', e.keyword, e.instancePath]);
    const rjsf = validator.validateFormData(value, schema).errors;
    out.rjsf.push(rjsf.length === 0);
    out.errors.push(found.concat(rjsf.map((e) => ['rjsf', e.name, e.property || ''])));
  }
  const strict = new Ajv({ strict: true, allErrors: true });
  addFormats(strict);
  for (const schema of input.schemas || []) {
    try { strict.compile(schema); out.strict.push(null); } catch (e) { out.strict.push(String(e.message)); }
  }
  return out;
}

let text = '';
// Decoded as UTF-8 across chunks: a character split between two chunks stays whole.
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { text += chunk; });
process.stdin.on('end', () => { process.stdout.write(JSON.stringify(main(JSON.parse(text)))); });
