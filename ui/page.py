"""How the page looks and the little it does in the browser: theme, CSS and one script in the head.

The script keeps this browser's id in a cookie (`ui.chat.BROWSER_COOKIE`, renewed on each visit): each
browser has its own list of past conversations. It labels each message with its plain text, and handles
these clicks. A citation marker writes "<turn>:<marker>:<nonce>" into a visually hidden textbox, whose change
event renders the Evidence panel on the server; the script then scrolls the highlighted sentence into view
when it is not (on a phone the panel sits below the chat). "Copy" puts the answer's Markdown, kept hidden
beside the button, on the clipboard. "Back to the answer" scrolls back.
"Regenerate", "Edit question" and its "Cancel" press the chat's hidden buttons of the same names.
On a phone the list of past conversations starts folded away, and folds again once one is chosen.
`FOCUS_QUESTION` puts the cursor back in the question box after an answer (not on a phone, where it would
pop the keyboard up over the answer).
Colours of markers and highlights are opaque pairs that meet WCAG AA (4.5:1) in the light and dark themes.
"""

from __future__ import annotations

import gradio as gr

from ui.chat import BROWSER_COOKIE
from ui.render import CITE_PREFIX, TURN_PREFIX

CITE_TARGET_ID = "cq-cite-target"
NARROW_PX = 700
SIDEBAR_OVERLAY_PX = 768  # below this Gradio's sidebar covers the whole page when open
FOCUS_QUESTION = """() => {
  if (window.innerWidth > %d) {
    const box = document.querySelector("#cq-question textarea");
    if (box) box.focus();
  }
  return [];
}""" % NARROW_PX
# Rename pressed: the cursor in the title, all of it selected, once its row shows.
FOCUS_RENAME = """() => {
  const focus = tries => {
    const box = document.querySelector("#cq-rename-title input, #cq-rename-title textarea");
    if (box && box.offsetParent !== null) { box.focus(); box.select(); }
    else if (tries > 0) setTimeout(() => focus(tries - 1), 50);
  };
  focus(40);
  return [];
}"""

# Offline: system fonts only (the default theme fetches Google Fonts).
THEME_FONTS = dict(font=["ui-sans-serif", "system-ui", "sans-serif"],
                   font_mono=["ui-monospace", "SFMono-Regular", "monospace"])

CSS = """
.cq-answer { line-height: 1.5; }
.cq-list { margin: 0; padding-left: 1.2em; }
.cq-list li { margin: 0.2em 0; }
.cq-welcome { padding: 4px 14px; text-align: left; }
.cq-welcome p, .cq-welcome ul { margin: 4px 0; }
.cq-welcome-title { font-weight: 600; }
a.cq-cite { font-weight: 600; text-decoration: none; padding: 0 3px; border-radius: 4px; cursor: pointer;
  background: #dbeafe; color: #1e40af; }
a.cq-cite:hover { background: #bfdbfe; }
a.cq-cite-gone { text-decoration: line-through; }
.dark a.cq-cite { background: #1e3a8a; color: #dbeafe; }
.dark a.cq-cite:hover { background: #1e40af; }
.cq-abstain { border-left: 4px solid #d97706; background: rgba(217, 119, 6, 0.08); padding: 6px 10px;
  border-radius: 4px; }
.cq-abstain-label { font-weight: 600; color: #92400e; }
.dark .cq-abstain-label { color: #fcd34d; }
.cq-error { border-left: 4px solid #dc2626; padding: 6px 10px; color: #b91c1c; }
.dark .cq-error { color: #fca5a5; }
.cq-stopped { font-style: italic; }
.cq-draft { border-left: 4px dashed var(--border-color-primary); padding: 2px 10px; }
.cq-draft-label { font-size: 0.8em; font-weight: 600; }
.cq-draft-text { white-space: pre-wrap; font-style: italic; }
.cq-actions { display: flex; flex-wrap: wrap; gap: 10px; align-items: baseline; margin-top: 6px; font-size: 0.8em; }
.cq-copy, .cq-again button, .cq-edit-cancel { border: 1px solid var(--border-color-primary); border-radius: 4px;
  padding: 0 8px; background: none; color: inherit; cursor: pointer; font: inherit; }
.cq-again { display: flex; gap: 10px; margin-top: 6px; font-size: 0.8em; }
.cq-details summary { cursor: pointer; }
.cq-details > div { margin-top: 2px; }
.cq-md { display: none; }
.cq-panel { font-size: 0.95em; }
.cq-panel-title { font-weight: 600; margin: 6px 0 2px; }
.cq-source { font-size: 0.8em; margin-bottom: 6px; }
.cq-context { white-space: pre-wrap; line-height: 1.5; max-height: 460px; overflow-y: auto;
  border: 1px solid rgba(128, 128, 128, 0.3); border-radius: 6px; padding: 8px 10px; margin-bottom: 6px; }
.cq-context mark { background: #fde68a; color: #1c1917; padding: 1px 0; }
.cq-note { font-size: 0.85em; margin-top: 6px; }
.cq-cited-doc { margin-top: 4px; }
.cq-back { display: none; }
.cq-docs { max-width: 100%; overflow-x: auto; }  /* a table wider than a phone scrolls inside its box */
.cq-docs table { width: 100%; border-collapse: collapse; font-size: 0.9em; }
.cq-docs th, .cq-docs td { text-align: left; padding: 4px 6px; border-bottom: 1px solid rgba(128,128,128,0.25); }
.cq-docs td.cq-num { text-align: right; }
.cq-docs td.cq-file { word-break: break-all; }
.cq-icon { display: inline-block; vertical-align: -1px; }
.cq-partial { white-space: pre-wrap; }
.cq-stopped .cq-partial { font-style: normal; }
.cq-stopped-mark { display: inline-block; margin-top: 4px; font-size: 0.85em; }
.cq-confidence { font-weight: 600; }
.cq-progress { display: block; width: 100%; margin-top: 6px; }
.cq-question-error { color: #b91c1c; font-weight: 600; margin: 2px 4px; }
.dark .cq-question-error { color: #fca5a5; }
.cq-status-ok, .cq-status-error { padding: 4px 8px; margin: 2px 0; border-radius: 4px; }
.cq-status-ok { border-left: 4px solid #15803d; color: #14532d; background: #dcfce7; }
.cq-status-error { border-left: 4px solid #b91c1c; color: #7f1d1d; background: #fee2e2; font-weight: 600; }
.dark .cq-status-ok { color: #dcfce7; background: #14532d; }
.dark .cq-status-error { color: #fee2e2; background: #7f1d1d; }
.cq-missing { font-size: 0.85em; }
/* The past conversations: one line each, the open one marked, the radio dot out of sight. */
#cq-history .wrap { flex-direction: column; gap: 2px; }
#cq-history label { width: 100%; justify-content: flex-start; border-radius: 6px; overflow: hidden; }
#cq-history label span { display: block; white-space: pre-line; overflow-wrap: anywhere; }
#cq-history label span::first-line { font-size: 0.8em; font-weight: 400; }  /* the date and time */
#cq-history input[type=radio] { position: absolute; opacity: 0; pointer-events: none; }
#cq-history label.selected { font-weight: 600; box-shadow: inset 3px 0 0 var(--color-accent); }
/* The Chatbot's own trash icon would empty the chat without asking: conversations are deleted from the list. */
#cq-chat .icon-button-wrapper { display: none; }
/* Gradio 6 leaves the separator of its hidden "Stop Recording" button: no stray dot in the footer. */
footer .record.hidden + .divider { display: none; }
@media (max-width: NARROW_PXpx) {
  .cq-back { display: inline-block; margin-bottom: 6px; font-size: 0.85em; }
}
""".replace("NARROW_PX", str(NARROW_PX))

HEAD = """
<script>
(function () {
  if (window.__citeqa) return;
  window.__citeqa = true;
  function keepBrowserId() {
    var found = document.cookie.match(/(?:^|; )%(cookie)s=([0-9a-f]{32})/);
    var id = found && found[1];
    if (!id) {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      id = Array.from(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    document.cookie = "%(cookie)s=" + id + "; path=/; max-age=34560000; SameSite=Lax";
  }
  keepBrowserId();
  function send(value) {
    var root = document.getElementById("%(target)s");
    var box = root && root.querySelector("textarea, input");
    if (!box) return;
    var proto = box.tagName === "TEXTAREA" ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, "value").set.call(box, value);
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function inView(element) {
    var r = element.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  }
  function reveal(nonce, tries) {
    var mark = document.querySelector("#cq-panel .cq-shown-" + nonce + " mark");
    if (!mark) {
      if (tries > 0) setTimeout(function () { reveal(nonce, tries - 1); }, 100);
      return;
    }
    if (!inView(mark)) mark.scrollIntoView({ block: "center" });
  }
  function copyByHand(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (error) { done = false; }
    area.remove();
    return done;
  }
  function copy(text, button) {
    function said(done) {
      button.textContent = done ? "Copied" : "Copy failed";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { said(true); }, function () { said(copyByHand(text)); });
    } else {
      said(copyByHand(text));
    }
  }
  function foldSidebar() {
    var open = document.querySelector(".sidebar.open .toggle-button");
    if (open && window.innerWidth <= %(overlay)d) open.click();
  }
  function foldOnPhones(tries) {
    if (document.querySelector(".sidebar .toggle-button")) foldSidebar();
    else if (tries > 0) setTimeout(function () { foldOnPhones(tries - 1); }, 100);
  }
  foldOnPhones(100);
  // Gradio labels each message with its raw HTML, which a screen reader reads out: label it with its text.
  function plainLabels() {
    document.querySelectorAll('#cq-chat [data-testid="bot"][aria-label], #cq-chat [data-testid="user"][aria-label]')
      .forEach(function (message) {
        var body = message.querySelector(".cq-answer, .cq-error");
        var text = message.textContent;
        if (body) {  // the answer without its buttons and the Markdown kept for Copy
          var copy = body.cloneNode(true);
          copy.querySelectorAll(".cq-actions, .cq-md").forEach(function (part) { part.remove(); });
          text = copy.textContent;
        }
        var label = (message.dataset.testid === "user" ? "Question: " : "Answer: ") + text.replace(/\\s+/g, " ").trim();
        if (message.getAttribute("aria-label") !== label) message.setAttribute("aria-label", label);
      });
  }
  new MutationObserver(plainLabels).observe(document.documentElement,
    { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ["aria-label"] });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target || !target.closest) return;
    if (target.closest("#cq-history label")) setTimeout(foldSidebar, 150);
    var cite = target.closest('a[href^="%(cite)s"]');
    var back = target.closest('a[href^="%(turn)s"]');
    var again = target.closest("button.cq-regenerate, button.cq-edit, button.cq-edit-cancel");
    if (again) {  // the chat's hidden buttons do it on the server
      event.preventDefault();
      var which = again.classList.contains("cq-regenerate") ? "#cq-regenerate" :
        again.classList.contains("cq-edit") ? "#cq-edit-last" : "#cq-edit-cancel";
      var hidden = document.querySelector(which);
      if (hidden) hidden.click();
      return;
    }
    var button = target.closest("button.cq-copy");
    if (!cite && !back && !button) return;
    event.preventDefault();
    event.stopPropagation();
    if (cite) {
      var parts = cite.getAttribute("href").slice(%(cite_cut)d).split("-");
      var nonce = String(Date.now());
      send(parts[0] + ":" + parts[1] + ":" + nonce);
      reveal(nonce, 100);
    } else if (back) {
      var answer = document.querySelector("#cq-chat .cq-turn-" + back.getAttribute("href").slice(%(turn_cut)d));
      if (answer) answer.scrollIntoView({ block: "center" });
    } else {
      var markdown = button.closest(".cq-answer").querySelector(".cq-md");
      copy(markdown ? markdown.textContent : "", button);
    }
  }, true);
})();
</script>
""" % {"target": CITE_TARGET_ID, "cookie": BROWSER_COOKIE, "cite": CITE_PREFIX, "cite_cut": len(CITE_PREFIX),
       "turn": TURN_PREFIX, "turn_cut": len(TURN_PREFIX), "overlay": SIDEBAR_OVERLAY_PX}


def theme() -> gr.themes.Base:
    """Gradio's default theme, its fonts offline and its colours darkened where its text fell below WCAG AA (4.5:1):
    white on the orange and red buttons, and the grey of hints, the upload box and the footer."""
    return gr.themes.Default(**THEME_FONTS).set(
        body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
        button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_700", button_primary_background_fill_hover_dark="*primary_800",
        button_cancel_background_fill="#b91c1c", button_cancel_background_fill_hover="#991b1b",
        button_cancel_background_fill_dark="#b91c1c", button_cancel_background_fill_hover_dark="#991b1b")
