/* Hookline dashboard: live updates without a full reload, copy buttons, select-all.
 *
 * Polling: every element with data-poll-url is refreshed from that URL every POLL_INTERVAL_MS.
 * The server answers with the element's rendered HTML (a template partial), or with several
 * parts at once, each wrapped in <div data-live-target="ID"> for the element with that id (the
 * detail page's history, health metrics and volume chart come in one answer, so they agree).
 * A part is swapped in only when it changed, keeping ticked checkboxes and open <details> as
 * they were. Polling pauses while the tab is hidden, and a redirect (the session ended)
 * reloads the page so the login page shows.
 */
(function () {
    "use strict";

    // Two seconds: a delivery's bar turns green or red about as soon as the worker records it,
    // and a forgotten tab costs one small request per element every two seconds at most.
    var POLL_INTERVAL_MS = 2000;

    function rememberState(element) {
        var state = { checked: {}, open: {} };
        element.querySelectorAll("input[type=checkbox][id]").forEach(function (box) {
            state.checked[box.id] = box.checked;
        });
        element.querySelectorAll("details[id]").forEach(function (details) {
            state.open[details.id] = details.open;
        });
        return state;
    }

    function restoreState(element, state) {
        element.querySelectorAll("input[type=checkbox][id]").forEach(function (box) {
            if (Object.prototype.hasOwnProperty.call(state.checked, box.id)) {
                box.checked = state.checked[box.id];
            }
        });
        element.querySelectorAll("details[id]").forEach(function (details) {
            if (Object.prototype.hasOwnProperty.call(state.open, details.id)) {
                details.open = state.open[details.id];
            }
        });
    }

    function swapIn(element, html) {
        if (element.getAttribute("data-live-html") === html) {
            return;
        }
        var state = rememberState(element);
        element.innerHTML = html;
        restoreState(element, state);
        element.setAttribute("data-live-html", html);
        element.setAttribute("data-polled-at", String(Date.now()));
    }

    function applyAnswer(element, html) {
        var scratch = document.createElement("template");
        scratch.innerHTML = html;
        var parts = scratch.content.querySelectorAll("[data-live-target]");
        if (parts.length === 0) {
            swapIn(element, html);
            return;
        }
        parts.forEach(function (part) {
            var target = document.getElementById(part.getAttribute("data-live-target"));
            if (target) {
                swapIn(target, part.innerHTML);
            }
        });
    }

    function startPolling(element) {
        var url = element.getAttribute("data-poll-url");
        var lastHtml = null;
        var busy = false;

        function tick() {
            if (busy || document.hidden) {
                return;
            }
            busy = true;
            fetch(url, {
                credentials: "same-origin",
                cache: "no-store",
                headers: { "X-Requested-With": "XMLHttpRequest" }
            })
                .then(function (response) {
                    if (response.redirected) {
                        window.location.reload();
                        return null;
                    }
                    return response.ok ? response.text() : null;
                })
                .then(function (html) {
                    if (html === null || html === lastHtml) {
                        return;
                    }
                    applyAnswer(element, html);
                    lastHtml = html;
                })
                .catch(function () {
                    // A network hiccup: the next tick tries again.
                })
                .finally(function () {
                    busy = false;
                });
        }

        window.setInterval(tick, POLL_INTERVAL_MS);
    }

    function copyText(text) {
        if (navigator.clipboard && window.isSecureContext) {
            return navigator.clipboard.writeText(text);
        }
        // Plain http on a non-local host has no Clipboard API: fall back to a selection.
        var scratch = document.createElement("textarea");
        scratch.value = text;
        scratch.setAttribute("readonly", "");
        scratch.style.position = "absolute";
        scratch.style.left = "-9999px";
        document.body.appendChild(scratch);
        scratch.select();
        var copied = document.execCommand("copy");
        document.body.removeChild(scratch);
        return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
    }

    // Reveal / hide a masked value (the signing secret): the input switches type.
    document.addEventListener("click", function (event) {
        var button = event.target.closest("[data-reveal-target]");
        if (!button) {
            return;
        }
        var field = document.getElementById(button.getAttribute("data-reveal-target"));
        var revealed = field.type === "password";
        field.type = revealed ? "text" : "password";
        button.textContent = revealed ? "Hide" : "Reveal";
        button.setAttribute("aria-pressed", revealed ? "true" : "false");
    });

    document.addEventListener("click", function (event) {
        var button = event.target.closest("[data-copy-target]");
        if (!button) {
            return;
        }
        var source = document.getElementById(button.getAttribute("data-copy-target"));
        var status = button.parentElement.querySelector(".copy-status");
        copyText(source.value || source.textContent).then(
            function () {
                if (status) { status.textContent = "Copied."; }
            },
            function () {
                source.select();
                if (status) { status.textContent = "Press Ctrl+C to copy."; }
            }
        );
    });

    // Select-all lives inside the polled table, so it is handled by delegation.
    document.addEventListener("change", function (event) {
        var master = event.target.closest("[data-select-all]");
        if (!master) {
            return;
        }
        var name = master.getAttribute("data-select-all");
        var form = master.form || document;
        form.querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (box) {
            box.checked = master.checked;
        });
    });

    // After a refused form submit, take the keyboard (and a screen reader) to the first
    // field with an error, so a person on a phone need not hunt for it.
    function focusFirstError() {
        var row = document.querySelector("form .errors, form .errorlist");
        if (!row) {
            return;
        }
        var container = row.closest(".form-row, .filter-field, fieldset") || row;
        var field = container.querySelector("input:not([type=hidden]), select, textarea");
        if (field) {
            field.focus();
            field.setAttribute("aria-invalid", "true");
        }
    }

    document.addEventListener("DOMContentLoaded", function () {
        document.querySelectorAll("[data-poll-url]").forEach(startPolling);
        focusFirstError();
    });
}());
