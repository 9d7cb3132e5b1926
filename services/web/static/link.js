// Pages opened from a mailed link (login link, e-mail confirmation): the token is in the
// fragment (#token=…), which browsers never send to a server or a log; it is taken from there,
// removed from the address bar and posted with the page's form (`data-token-form`, whose
// `data-incomplete` says what to show when the link is cut short).
(function () {
  const form = document.querySelector("form[data-token-form]");
  if (!form) return;
  const m = location.hash.match(/token=([A-Za-z0-9_\-]+)/);
  if (m) {
    history.replaceState(null, "", location.pathname);
    form.querySelector("input[name=token]").value = m[1];
    form.submit();
  } else {
    document.querySelector("h1").textContent = form.dataset.incomplete;
  }
})();
