// Behaviour every page may use, as a file: the Content-Security-Policy allows no inline script
// (no onsubmit="…" attributes either).

// A form with data-confirm="…" asks before it is sent (withdrawing a member, for instance).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
