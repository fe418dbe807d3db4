// A reason prompt built on <dialog>: showModal() traps focus, Escape cancels and focus returns
// to the button that opened it, which window.prompt() does not do reliably (and cannot label).

const dialog = () => document.getElementById('reason-dialog');

/**
 * Asks for a reason. Resolves with the text, or null if cancelled.
 * @param {{ title: string, label: string, confirm: string }} o
 */
export function askReason(o) {
  const d = dialog();
  const form = d.querySelector('form');
  const input = d.querySelector('textarea');
  d.querySelector('h2').textContent = o.title;
  d.querySelector('label').textContent = o.label;
  d.querySelector('button[value="confirm"]').textContent = o.confirm;
  input.value = '';
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const done = () => {
      d.removeEventListener('close', done);
      const text = input.value.trim();
      resolve(d.returnValue === 'confirm' && text !== '' ? text : null);
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    };
    d.returnValue = '';
    d.addEventListener('close', done);
    form.onsubmit = (event) => {
      // The confirm button submits; required= keeps an empty reason from getting through.
      if (event.submitter?.value !== 'confirm') return;
      if (input.value.trim() === '') {
        event.preventDefault();
        input.setCustomValidity('Give a reason; it is recorded and the host sees it.');
        input.reportValidity();
      }
    };
    input.oninput = () => input.setCustomValidity('');
    d.showModal();
    input.focus();
  });
}
