// The test page: renders a productkit form with JSON Forms (React, vanilla renderers) or
// react-jsonschema-form, each in its default setup: no ajv instance, no custom validator.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { flushSync } from 'react-dom';
import { JsonForms } from '@jsonforms/react';
import { vanillaCells, vanillaRenderers } from '@jsonforms/vanilla-renderers';
import Form from '@rjsf/core';
import validator from '@rjsf/validator-ajv8';

function jsonforms(form, lang) {
  const texts = form.i18n[lang];
  const i18n = { locale: lang, translate: (key, fallback) => (key in texts ? texts[key] : fallback) };
  return (
    <JsonForms schema={form.schema} uischema={form.uischema} data={form.data} i18n={i18n}
      renderers={vanillaRenderers} cells={vanillaCells} />
  );
}

// RJSF's own convention for messages: transformErrors, here reading the form's i18n table.
function rjsf(form, lang) {
  const texts = form.i18n[lang];
  const say = (errors) => errors.map((e) => {
    const key = (e.property || '').replace(/^\./, '') + '.error.' + e.name;
    return { ...e, message: texts[key] || texts['error.' + e.name] || e.message };
  });
  return (
    <Form schema={form.schema} uiSchema={form.rjsf[lang]} formData={form.data} validator={validator}
      transformErrors={say} showErrorList={false} noHtml5Validate />
  );
}

let root = null;
// One turn of the event loop through a message (not clamped like timers; React's scheduler
// posts its work the same way).
const turn = () => new Promise((resolve) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = resolve;
  channel.port2.postMessage(0);
});

// Resolves once the rendered text has stopped changing (React effects and validation done).
async function settled(host) {
  let last = null;
  let same = 0;
  for (let i = 0; i < 2000 && same < 3; i += 1) {
    await turn();
    same = host.innerText === last && last !== '' ? same + 1 : 0;
    last = host.innerText;
  }
}

// Renders one form; resolves with the page's visible text and its widgets once React has settled.
window.renderForm = async (form, renderer, lang) => {
  if (root) root.unmount();
  const host = document.getElementById('root');
  root = createRoot(host);
  flushSync(() => root.render(renderer === 'jsonforms' ? jsonforms(form, lang) : rjsf(form, lang)));
  await settled(host);
  if (renderer === 'rjsf') {
    // RJSF validates on submit: submit the initial data so its messages show.
    host.querySelector('button[type=submit]').click();
    await settled(host);
  }
  const count = (selector) => host.querySelectorAll(selector).length;
  return { text: host.innerText, radio: count('input[type=radio]'), textarea: count('textarea'),
    checkbox: count('input[type=checkbox]') };
};
