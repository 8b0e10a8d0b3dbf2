// Copy buttons (data-copy="<element id>"): CSP allows no inline script. Without JavaScript the value is still
// selectable (user-select: all) and the page says to copy it by hand.
document.querySelectorAll("[data-copy]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const text = document.getElementById(button.dataset.copy).textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (error) {
      button.textContent = "Select the value and press Ctrl+C";
    }
  });
});
