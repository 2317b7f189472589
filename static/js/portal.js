// Behaviour that templates ask for with data-* attributes; no inline script anywhere (CSP).
document.addEventListener("click", function (event) {
  var target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});

// Pickers: a ticked candidate moves into the "chosen" list named by data-pick-into, so a new
// search never loses what was already picked; unticking a chosen one removes it.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.matches || !box.matches("input[type=checkbox]")) return;
  var picker = box.closest("[data-pick-into]");
  var label = box.closest("label");
  if (picker && box.checked && label) {
    var chosen = document.querySelector(picker.getAttribute("data-pick-into"));
    if (chosen && !chosen.querySelector("input[value='" + box.value + "'][name='" + box.name + "']")) {
      chosen.appendChild(label);
    }
  } else if (!picker && !box.checked && label && label.parentElement && label.parentElement.id && label.parentElement.id.indexOf("chosen-") === 0) {
    label.remove();
  }
});

// A control with data-clears empties the named element when its value changes (for example,
// choosing another company drops the administrators picked from the previous one).
document.addEventListener("change", function (event) {
  var selector = event.target.getAttribute && event.target.getAttribute("data-clears");
  if (selector) {
    document.querySelectorAll(selector).forEach(function (el) { el.replaceChildren(); });
  }
});

// Phones: list tables become stacked cards (portal.css, below 576 px); each cell is labelled with
// its column's header so a value still says what it is. Run on load and after every htmx swap.
function labelTableCells() {
  document.querySelectorAll("table.table").forEach(function (table) {
    if (table.classList.contains("table-keep")) return;
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.replace(/\s+/g, " ").trim();
    });
    if (!heads.length) return;
    table.classList.add("table-stack");
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (cell.colSpan === 1 && heads[column] && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", heads[column]);
          }
          column += cell.colSpan;
        });
      });
    });
  });
}
document.addEventListener("DOMContentLoaded", labelTableCells);
document.addEventListener("htmx:afterSettle", labelTableCells);
