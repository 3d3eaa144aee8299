// A fresh sign-up or new-agency form proposes the browser's own time zone (the select still
// lists every zone; nothing is sent until the person submits the form).
document.addEventListener("DOMContentLoaded", function () {
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) return;
  document.querySelectorAll('select[data-browser-zone="propose"]').forEach(function (select) {
    var known = Array.prototype.some.call(select.options, function (option) {
      return option.value === zone;
    });
    if (known) select.value = zone;
  });
});
