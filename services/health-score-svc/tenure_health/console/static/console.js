// Small enhancement only: ask before discarding, and keep a button from being pressed twice.
document.addEventListener("submit", (event) => {
  const button = event.target.querySelector("button[type=submit]");
  if (button && button.textContent === "Discard" && !window.confirm("Discard this dead letter?")) {
    event.preventDefault();
    return;
  }
  if (button) button.disabled = true;
});
