// Print buttons (data-print): CSP allows no inline script.
document.querySelectorAll("[data-print]").forEach((button) => button.addEventListener("click", () => window.print()));
