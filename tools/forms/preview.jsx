// The docs site's form previews: every element `.pk-form[data-form]` of a page is rendered with
// JSON Forms (React, vanilla renderers) from the built form file inlined in `window.PK_FORMS`,
// in the element's `data-lang`; help texts show without focus, as a customer first sees them.
import React, { useEffect } from 'react';
import { createRoot } from 'react-dom/client';
import { JsonForms } from '@jsonforms/react';
import { vanillaCells, vanillaRenderers } from '@jsonforms/vanilla-renderers';

const CONFIG = { showUnfocusedDescription: true, hideRequiredAsterisk: false };

// Marks its host once React has committed the render (the browser test waits for the mark).
function Preview({ form, lang, host }) {
  useEffect(() => { host.dataset.rendered = 'jsonforms'; }, [host]);
  const texts = form.i18n[lang] || {};
  const i18n = { locale: lang, translate: (key, fallback) => (key in texts ? texts[key] : fallback) };
  return (
    <JsonForms schema={form.schema} uischema={form.uischema} data={form.data} i18n={i18n}
      config={CONFIG} renderers={vanillaRenderers} cells={vanillaCells} />
  );
}

function renderAll() {
  const forms = window.PK_FORMS || {};
  for (const host of document.querySelectorAll('.pk-form[data-form]')) {
    const form = forms[host.dataset.form];
    if (!form) continue;
    host.replaceChildren();
    createRoot(host).render(<Preview form={form} lang={host.dataset.lang} host={host} />);
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', renderAll);
else renderAll();
