/* Estrade forms, progressive enhancement only.
 *
 * Without this script every form posts as usual and the server answers with
 * a 303 to the thank-you page. With it, the form is sent with fetch and the
 * JSON answer is shown in place: the server's `message`, and each entry of
 * `errors` ({field: message}) next to its field, announced through the
 * form's live region. `{"ok": true, "redirect": "/merci/"}` goes there.
 */
(function () {
  "use strict";

  if (!window.fetch || !window.URLSearchParams || !window.FormData) {
    return;
  }

  // How long the page was open before sending: the functions treat a form
  // sent faster than a person can fill it as a bot's.
  var openedAt = Date.now();

  // A share code (`?ref=` in a supporter's personal link) credits the
  // supporter who brought this visitor. It is kept for the visit, so a form
  // on another page still credits them, and sent with every form.
  var SHARE_CODE = /^[A-Za-z0-9_-]{12}$/;
  var pageCode = new URLSearchParams(window.location.search).get("ref");
  pageCode = pageCode && SHARE_CODE.test(pageCode) ? pageCode : null;
  var shareCode = pageCode;
  try {
    if (pageCode) {
      window.sessionStorage.setItem("estrade-ref", pageCode);
    } else {
      shareCode = window.sessionStorage.getItem("estrade-ref");
    }
  } catch (refused) {
    // Storage turned off: this page's code only.
  }

  // The thank-you page is reached with the new supporter's own code: the
  // share links then carry it, so the friends they bring are theirs.
  // Links are built by the theme with every non-alphanumeric character
  // percent-encoded, as `strict` does.
  function strict(text) {
    return encodeURIComponent(text).replace(/[!'()*\-._~]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  if (pageCode) {
    Array.prototype.forEach.call(document.querySelectorAll(".share[data-url]"), function (box) {
      var plain = box.getAttribute("data-url");
      var personal = plain + (plain.indexOf("?") < 0 ? "?" : "&") + "ref=" + pageCode;
      Array.prototype.forEach.call(box.querySelectorAll("a[href]"), function (link) {
        link.href = link.getAttribute("href").split(strict(plain)).join(strict(personal));
      });
    });
  }

  // Fields whose errors belong to another field's box.
  var OWNER = { amount_other: "amount" };

  function clearErrors(form) {
    var old = form.querySelectorAll(".field-error");
    for (var i = 0; i < old.length; i++) {
      var note = old[i];
      var described = form.querySelectorAll("[aria-describedby~='" + note.id + "']");
      for (var j = 0; j < described.length; j++) {
        var rest = described[j].getAttribute("aria-describedby")
          .split(" ").filter(function (id) { return id && id !== note.id; });
        if (rest.length) {
          described[j].setAttribute("aria-describedby", rest.join(" "));
        } else {
          described[j].removeAttribute("aria-describedby");
        }
      }
      note.parentNode.removeChild(note);
    }
    var invalid = form.querySelectorAll("[aria-invalid]");
    for (var k = 0; k < invalid.length; k++) {
      invalid[k].removeAttribute("aria-invalid");
    }
  }

  // Shows `text` under the field `name`; returns the first control marked
  // invalid, or null when the form has no such field.
  function showFieldError(form, name, text) {
    var box = form.querySelector("[data-field='" + (OWNER[name] || name) + "']");
    if (!box) {
      return null;
    }
    var note = document.createElement("p");
    note.className = "field-error";
    note.id = form.id + "-" + name + "-error";
    note.textContent = text;
    box.appendChild(note);
    var controls = form.querySelectorAll("[name='" + name + "']");
    for (var i = 0; i < controls.length; i++) {
      var control = controls[i];
      control.setAttribute("aria-invalid", "true");
      var ids = control.getAttribute("aria-describedby");
      control.setAttribute("aria-describedby", ids ? ids + " " + note.id : note.id);
    }
    return controls[0] || null;
  }

  function setStatus(form, text, isError) {
    var status = form.querySelector(".form-status");
    if (!status) {
      return;
    }
    status.classList.toggle("is-error", Boolean(isError));
    status.textContent = text || "";
  }

  function showAnswer(form, answer) {
    if (answer.ok && answer.redirect) {
      // Only ever to a page of this site, or to the payment page the
      // donate function made for this gift.
      var next = new URL(answer.redirect, window.location.href);
      var checkout = answer.result && answer.result.checkout;
      if (next.origin === window.location.origin || checkout) {
        window.location.assign(next.href);
        return;
      }
    }
    if (answer.ok) {
      form.reset();
      setStatus(form, answer.message || "", false);
      return;
    }
    var first = null;
    var unplaced = [];
    var errors = answer.errors || {};
    Object.keys(errors).forEach(function (name) {
      var control = showFieldError(form, name, errors[name]);
      if (control) {
        first = first || control;
      } else {
        unplaced.push(errors[name]);
      }
    });
    var text = answer.message || form.getAttribute("data-invalid");
    setStatus(form, [text].concat(unplaced).join(" "), true);
    if (first) {
      first.focus();
    }
  }

  function withElapsed(body) {
    body.set("elapsed", String(Date.now() - openedAt));
    if (shareCode) {
      body.set("ref", shareCode);
    }
    return body;
  }

  function send(form) {
    var button = form.querySelector("[type=submit]");
    clearErrors(form);
    setStatus(form, form.getAttribute("data-sending"), false);
    form.setAttribute("aria-busy", "true");
    if (button) {
      button.disabled = true;
    }
    var done = function () {
      form.removeAttribute("aria-busy");
      if (button) {
        button.disabled = false;
      }
    };
    fetch(form.action, {
      method: "POST",
      // URL-encoded, exactly as the browser would post without script.
      body: withElapsed(new URLSearchParams(new FormData(form))),
      headers: { Accept: "application/json" },
      credentials: "same-origin"
    })
      .then(function (response) {
        return response.json().catch(function () {
          return { ok: false, message: form.getAttribute("data-failed") };
        });
      })
      .then(function (answer) {
        done();
        showAnswer(form, answer || {});
      })
      .catch(function () {
        done();
        setStatus(form, form.getAttribute("data-offline"), true);
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-estrade-form")) {
      return;
    }
    event.preventDefault();
    if (form.getAttribute("aria-busy") !== "true") {
      send(form);
    }
  });

  // Typing another amount picks the "other amount" choice.
  document.addEventListener("input", function (event) {
    var target = event.target;
    var radioId = target.getAttribute && target.getAttribute("data-other-for");
    if (radioId && target.value) {
      var radio = document.getElementById(radioId);
      if (radio) {
        radio.checked = true;
      }
    }
  });
})();
