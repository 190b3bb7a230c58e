// Hookline dashboard: the only script, and optional. Every page works without
// it; with it, each JSON block gets a Copy button (hidden in the HTML until
// this runs). Served by Hookline itself: the CSP allows script from 'self' only.
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const text = button.previousElementSibling ? button.previousElementSibling.textContent : "";
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select the text to copy";
    }
    setTimeout(() => {
      button.textContent = "Copy";
    }, 2000);
  });
}
