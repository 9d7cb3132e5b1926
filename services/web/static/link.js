// The login link's page: the token is in the fragment (#token=…), which browsers never send to
// a server or a log; it is taken from there, removed from the address bar and posted.
(function () {
  const m = location.hash.match(/token=([A-Za-z0-9_\-]+)/);
  if (m) {
    history.replaceState(null, "", location.pathname);
    document.getElementById("token").value = m[1];
    document.getElementById("redeem").submit();
  } else {
    document.querySelector("h1").textContent = "登录链接不完整，请从邮件中重新打开";
  }
})();
